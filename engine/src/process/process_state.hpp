// What the core itself saves and restores of a process: identity,
// credentials, limits, signal state, scheduling, and each thread's CPU state.
#pragma once

#include "remote/remote.hpp"
#include "statefile/manifest.hpp"

namespace cpr::engine {

// From /proc, from outside.
void collect_identity(pid_t pid, ProcessRecord &p);
// With remote calls, from inside the frozen process.
void collect_from_inside(RemoteProcess &t, ProcessRecord &p);
// `sigmask`: the thread's own, from before any remote call.
ThreadState collect_thread(RemoteProcess &t, pid_t tid, std::uint64_t sigmask);
// A thread stopped inside an interrupted system call, as it resumes: the
// call made again (rip - 2, its number in rax), as the kernel would.
user_regs_struct restartable(user_regs_struct r);

// At restart, once memory is rebuilt, in this order.
void restore_signal_actions(RemoteProcess &t, const ProcessRecord &p);
void restore_thread_state(RemoteProcess &t, const ThreadState &thread);
// `t` is the thread the signals are for, or (thread null) the main thread,
// for the process-wide ones.
void queue_pending_signals(RemoteProcess &t, const ProcessRecord &p,
                           const ThreadState *thread);
// SIGRESTART, if the process catches it, after the pending ones: delivered
// last, its handler frame is on top and runs first.
void queue_restart_signal(RemoteProcess &t, const ProcessRecord &p);
// `parent_restored`: its parent-death signal is restored only then; a root's
// parent at restart is cpr, whose exit would send it at once.
void restore_credentials(RemoteProcess &t, const ProcessRecord &p,
                         bool parent_restored);
// Its credentials, or "damaged statefile" if it has none.
const Credentials &saved_credentials(const ProcessRecord &p);
void restore_groups(RemoteProcess &t, const Credentials &c);
// `live`: the PID the process has now, as cpr sees it.
void restore_scheduling(const ProcessRecord &p, pid_t live);
void restore_registers(pid_t tid, const ThreadState &thread);

} // namespace cpr::engine
