#include "trust/checkpoint_owner.hpp"

#include "process/proc.hpp"
#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <fmt/format.h>
#include <optional>
#include <sstream>

namespace cpr::engine {

std::pair<uid_t, gid_t> checkpoint_owner(const std::vector<pid_t> &pids) {
  uid_t me = caller_uid();
  std::optional<std::pair<uid_t, gid_t>> owner;
  for (pid_t pid : pids) {
    if (!sdk::try_read_file(fmt::format("/proc/{}/status", pid)))
      continue; // a member of a group or tree that ended: not in the set
    std::istringstream uids(proc::status_field(pid, "Uid"));
    std::istringstream gids(proc::status_field(pid, "Gid"));
    uid_t uid = 0;
    gid_t gid = 0;
    uids >> uid;
    gids >> gid;
    if (me != 0 && uid != me)
      throw sdk::Error(EPERM, fmt::format("Operation not permitted: process {} "
                                          "belongs to uid {}",
                                          pid, uid));
    if (owner && owner->first != uid)
      owner = std::pair<uid_t, gid_t>{0, 0}; // several owners: root's
    else if (!owner)
      owner = std::pair<uid_t, gid_t>{uid, gid};
  }
  if (!owner)
    throw sdk::Error(ESRCH, "No such process: every process named has ended");
  return *owner;
}

} // namespace cpr::engine
