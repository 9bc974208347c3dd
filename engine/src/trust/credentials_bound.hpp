// A statefile grants nothing its maker did not have, nor more than the
// user restarting it has.
#pragma once

#include "statefile/manifest.hpp"

#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::engine {

// A user and the groups they are in.
struct Rights {
  uid_t uid = 0;
  std::vector<gid_t> groups; // real gid first
  bool root() const { return uid == 0; }
};

// The caller's own: the real uid, the real gid and supplementary groups.
Rights caller_rights();
// This process's supplementary groups.
std::vector<gid_t> own_groups();

// Throws "Permission denied: process N ... " unless every uid of the
// process is `user`'s, every gid one of its groups, and it holds no
// capability; root bounds nothing. `who` names the user in the message.
void check_within(const ProcessRecord &p, const Rights &user,
                  const std::string &who);

} // namespace cpr::engine
