// The namespaces a set lives in: an IPC namespace of its own is the shm
// plugin's business (it saves the set's objects from inside it and restarts
// them in a new one); a namespace of any other kind that differs from cpr's
// is refused by name.
#pragma once

#include <sys/types.h>
#include <vector>

namespace cpr::engine {

// Throws a Checkpoint error naming the process and the namespace when one
// is in a namespace other than cpr's of another kind than IPC, or when they
// are not all in one IPC namespace.
void check_namespaces(const std::vector<pid_t> &pids);

} // namespace cpr::engine
