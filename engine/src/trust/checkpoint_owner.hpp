// Who a checkpoint's statefile belongs to: only root, or the owner of every
// process, may checkpoint them.
#pragma once

#include <sys/types.h>
#include <utility>
#include <vector>

namespace cpr::engine {

// The owner (uid, gid) of the processes, root's if several users own them;
// throws "Operation not permitted" if the caller is neither root nor the
// owner of each.
std::pair<uid_t, gid_t> checkpoint_owner(const std::vector<pid_t> &pids);

} // namespace cpr::engine
