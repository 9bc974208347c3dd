#include "freeze/snapshot.hpp"

#include "freeze/ptrace.hpp"
#include "process/proc.hpp"
#include "timing.hpp"
#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>

#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

namespace cpr::engine {
namespace {

// No exit signal (the low byte): the process is never told of its fork.
// It shares the fd table and fs struct, so that it holds no file of its own
// (a pipe's end, a lock) that would outlive the process's; and it starts
// stopped under cpr (CLONE_PTRACE) before it runs a single instruction.
constexpr std::uint64_t fork_flags = CLONE_FILES | CLONE_FS | CLONE_PTRACE;
constexpr int fork_exit_status = 99; // remote_code.S

void wait4_inside(RemoteProcess &parent, long child_as_seen) {
  parent.syscall(SYS_wait4, static_cast<std::uint64_t>(child_as_seen), 0,
                 WNOHANG | __WALL, 0, 0, 0);
}

// A seccomp filter may forbid clone, or kill for it: cpr's own call is
// made with the filters suspended, or not at all.
bool suspend_seccomp(pid_t pid, bool suspend) {
  unsigned options = PTRACE_O_TRACESYSGOOD;
  if (suspend)
    options |= PTRACE_O_SUSPEND_SECCOMP;
  try {
    ptrace::set_options(pid, options);
    return true;
  } catch (const sdk::Error &) {
    return false;
  }
}

} // namespace

bool left_by_killed_cpr(const proc::Stat &child) {
  return child.state == 'Z' && child.field(38) == 0 &&
         child.field(52) == fork_exit_status << 8;
}

void collect_left_fork(FrozenProcess &parent, pid_t child) {
  pid_t as_seen = proc::inner_pid(fmt::format("/proc/{}", child));
  wait4_inside(parent.remote(parent.pid()), as_seen);
}

Snapshots::~Snapshots() {
  try {
    drop();
  } catch (...) {
  }
}

pid_t Snapshots::take(FrozenProcess &frozen) {
  const pid_t owner = frozen.pid();
  RemoteProcess &remote = frozen.remote(owner);
  bool filtered = proc::status_field(owner, "Seccomp") != "0";
  if (filtered && !suspend_seccomp(owner, true))
    return 0;
  long got = remote.fork_snapshot(fork_flags);
  if (filtered)
    suspend_seccomp(owner, false);
  if (got <= 0)
    return 0;
  pid_t fork = proc::child_with_inner_pid(owner, static_cast<pid_t>(got));
  taken_.push_back({owner, fork, got, &frozen});
  ptrace::wait_stop(fork); // its first stop, before it ran
  kill_point("snapshot-taken");
  return fork;
}

void Snapshots::released() {
  for (Taken &t : taken_)
    t.frozen = nullptr;
}

void Snapshots::drop() {
  while (!taken_.empty()) {
    Taken t = taken_.back();
    taken_.pop_back();
    collect(t);
  }
}

// The fork runs its first instructions, which end it; cpr, its tracer, is
// told first and passes it on to the process, from inside which it is then
// collected.
void Snapshots::collect(const Taken &t) {
  try {
    ptrace::cont(t.fork);
  } catch (const sdk::Error &) {
    ::kill(t.fork, SIGKILL);
  }
  int status = 0;
  while (::waitpid(t.fork, &status, __WALL) == t.fork &&
         !(WIFEXITED(status) || WIFSIGNALED(status)))
    ;
  Clock held;
  try {
    if (t.frozen) {
      wait4_inside(t.frozen->remote(t.owner), t.fork_as_seen);
    } else {
      FrozenProcess again(t.owner, FrozenProcess::Hold::main_thread);
      wait4_inside(again.remote(t.owner), t.fork_as_seen);
      again.resume();
    }
  } catch (const sdk::Error &e) {
    // Gone meanwhile (its fork then went to the reaper), or traced by
    // another tracer now.
    if (proc::stat(t.owner))
      std::fprintf(stderr,
                   "cpr: process %d keeps a finished fork of cpr's (PID %d) "
                   "until it ends: %s\n",
                   t.owner, t.fork, e.what());
  }
  held_ms_ += held.ms();
}

} // namespace cpr::engine
