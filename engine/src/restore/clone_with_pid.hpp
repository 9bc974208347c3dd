// Processes created with the PID they are to have (clone3 with set_tid):
// the helpers of a restart, and the members of a share group.
#pragma once

#include <cstdint>
#include <sys/types.h>

namespace cpr::engine {

// struct clone_args of <linux/sched.h>, which clashes with <sched.h>.
struct CloneArgs {
  std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
      stack_size, tls, set_tid, set_tid_size, cgroup;
};

// A child with the given PID (clone3 set_tid) and clone `flags` (CLONE_FS,
// CLONE_FILES); throws "unavailable PID".
pid_t clone_with_pid(pid_t pid, std::uint64_t flags = 0);

// A child that shares the caller's address space (a share group), with its
// saved PID, running fn(arg) on a stack of its own. It shares everything the
// caller's address space becomes, which the engine rebuilds once.
pid_t clone_vm_with_pid(pid_t pid, std::uint64_t flags, void (*fn)(void *),
                        void *arg);

} // namespace cpr::engine
