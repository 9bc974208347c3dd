// Helpers behind resolve_ids that the unit tests use too.
#pragma once

#include <string>

namespace cpr::engine {

// Where the cgroup v2 hierarchy is mounted ("/sys/fs/cgroup",
// "/sys/fs/cgroup/unified" on hybrid systems), or "" if it is not.
std::string cgroup2_root();

} // namespace cpr::engine
