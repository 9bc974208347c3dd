// Seccomp filters: read from a frozen process (PTRACE_SECCOMP_GET_FILTER)
// and installed again, last, in the restored one, so that a sandboxed
// program never comes back unsandboxed.
#pragma once

#include "remote/remote.hpp"
#include "statefile/manifest.hpp"

namespace cpr::engine {

// Fills p.seccomp_filters, oldest first. Strict mode, and threads with
// different filters, fail the checkpoint, naming the process.
void collect_seccomp(ProcessRecord &p, const std::vector<pid_t> &tids);

// Installs them in every thread (SECCOMP_FILTER_FLAG_TSYNC), in the order
// they were installed. After this only calls the filters allow can be made.
void restore_seccomp(RemoteProcess &t, const ProcessRecord &p);

} // namespace cpr::engine
