// The ID types of <ckpt.h> (P_PID ...) and their names in a cpr -p list.
#pragma once

#include <ckpt.h>

#include <string>
#include <utility>

namespace cpr::api {

// "PID", "GID", ... for a real type, nullptr for an unknown one.
const char *type_name(unsigned long type);

// The first item of an ID list as checkpointed ("12:SID,40"), as <ckpt.h>
// names it; an ID that is not a number (a cgroup path) is `fallback`.
std::pair<ckpt_id_t, ckpt_type_t> first_id(const std::string &ids,
                                           pid_t fallback);

} // namespace cpr::api
