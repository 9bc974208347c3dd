// Who an open file signals when I/O is possible (F_SETOWN_EX, F_SETSIG,
// O_ASYNC): read from inside a frozen process, set again inside the
// restored one once every process of the set exists.
#pragma once

#include "remote/remote.hpp"
#include "statefile/manifest.hpp"

#include <sys/types.h>
#include <vector>

namespace cpr::engine {

// Fills the owner fields of p.fds. An owner outside `set` (a process, its
// group or a thread) fails the checkpoint: at restart it would be anyone.
void collect_fd_owners(RemoteProcess &t, ProcessRecord &p,
                       const std::vector<pid_t> &set);

// Sets them again. The IDs are the saved ones: inside the restored set's
// PID namespace (its own with FORK ANY) every process and thread has them.
void restore_fd_owners(RemoteProcess &t, const ProcessRecord &p);

// The order the processes are built in (indexes into `processes`): as
// given, except that one holding an fd owned by a thread of another process
// (F_OWNER_TID) comes after that process, whose build makes the thread.
// Throws when two processes wait for each other so.
std::vector<std::size_t>
build_order(const std::vector<const ProcessRecord *> &processes);

} // namespace cpr::engine
