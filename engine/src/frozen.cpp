#include "frozen.hpp"

#include "proc.hpp"
#include "process_state.hpp"
#include "ptrace.hpp"
#include "sigframe.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

namespace cpr::engine {
namespace {

[[noreturn]] void explain_seize_failure(pid_t pid, pid_t tid, int err) {
  if (err == ESRCH)
    throw sdk::Error(fmt::format("No such process: {}", pid));
  std::string tracer = proc::status_field(tid, "TracerPid");
  if (err == EPERM && !tracer.empty() && tracer != "0")
    throw sdk::Error(fmt::format("Resource busy: process {} is being traced "
                                 "by process {}",
                                 pid, tracer));
  sdk::throw_errno(fmt::format("cannot freeze process {}", pid), err);
}

// Waits for the interrupt's stop. A signal the thread was about to take is
// held back and returned, to be pending in the image.
std::vector<std::vector<std::uint8_t>> wait_until_frozen(pid_t tid) {
  std::vector<std::vector<std::uint8_t>> caught;
  for (;;) {
    int status = ptrace::wait_stop(tid);
    if ((status >> 16) == PTRACE_EVENT_STOP)
      return caught;
    caught.push_back(ptrace::get_siginfo(tid));
    ptrace::cont(tid, 0);
  }
}

} // namespace

FrozenProcess::FrozenProcess(pid_t pid) : pid_(pid) {
  auto st = proc::stat(pid);
  if (!st)
    throw sdk::Error(fmt::format("No such process: {}", pid));
  was_stopped_ = st->state == 'T';
  try {
    while (seize_new_threads())
      ;
  } catch (...) {
    release_quietly(); // put it back before the error goes up
    throw;
  }
}

bool FrozenProcess::seize_new_threads() {
  bool found = false;
  for (pid_t tid : proc::threads(pid_)) {
    if (std::any_of(threads_.begin(), threads_.end(),
                    [&](const Thread &t) { return t.tid == tid; }))
      continue;
    try {
      // Syscall stops tell themselves apart (used when no stop signal is).
      ptrace::seize(tid, PTRACE_O_TRACESYSGOOD);
    } catch (const sdk::Error &) {
      int err = errno;
      if (err == ESRCH && proc::stat(pid_))
        continue; // the thread ended meanwhile
      explain_seize_failure(pid_, tid, err);
    }
    threads_.push_back(Thread{tid, {}, 0, {}, nullptr});
    ptrace::interrupt(tid);
    threads_.back().caught = wait_until_frozen(tid);
    threads_.back().regs = ptrace::get_regs(tid);
    threads_.back().sigmask = ptrace::get_sigmask(tid);
    found = true;
  }
  return found;
}

FrozenProcess::~FrozenProcess() { release_quietly(); }

void FrozenProcess::release_quietly() {
  if (released_)
    return;
  try {
    resume();
  } catch (...) {
    // Detaching is all that is left to try; the threads then run on.
    for (const Thread &t : threads_)
      ::ptrace(PTRACE_DETACH, t.tid, nullptr, nullptr);
  }
}

std::vector<pid_t> FrozenProcess::tids() const {
  std::vector<pid_t> out;
  for (const Thread &t : threads_)
    out.push_back(t.tid);
  return out;
}

FrozenProcess::Thread &FrozenProcess::thread(pid_t tid) {
  for (Thread &t : threads_)
    if (t.tid == tid)
      return t;
  throw sdk::Error(fmt::format("internal error: thread {} is not frozen", tid));
}

namespace {
constexpr std::uint64_t page = 4096;
std::uint64_t bit(int sig) { return 1ULL << (sig - 1); }
} // namespace

// A signal that stops the thread under cpr and is dropped without it: one
// of the default-ignored signals the process does not catch, if possible
// one no thread blocks (a blocked one may be waited for). 0 if none.
int FrozenProcess::choose_stop_signal() const {
  std::uint64_t caught =
      std::stoull("0" + proc::status_field(pid_, "SigCgt"), nullptr, 16);
  std::uint64_t blocked = 0;
  for (const Thread &t : threads_)
    blocked |= t.sigmask;
  int usable = 0;
  for (int sig : {SIGURG, SIGWINCH, SIGCHLD}) {
    if (caught & bit(sig))
      continue;
    if (!(blocked & bit(sig)))
      return sig;
    usable = usable ? usable : sig;
  }
  return usable;
}

std::pair<std::uint64_t, std::vector<std::uint8_t>>
FrozenProcess::frame_of(const Thread &t, sdk::Range area) const {
  auto index = static_cast<std::uint64_t>(&t - threads_.data());
  std::uint64_t at = area.start + work_area_pages * page + index * frame_slot_;
  return {at, build_sigframe(at, restartable(t.regs), t.sigmask,
                             ptrace::get_xstate(t.tid))};
}

void FrozenProcess::prepare() {
  for (const Thread &t : threads_)
    remote(t.tid);
}

RemoteProcess &FrozenProcess::remote(pid_t tid) {
  Thread &t = thread(tid);
  if (t.remote)
    return *t.remote;
  if (work_area_.size() == 0) {
    t.remote =
        std::make_unique<RemoteProcess>(tid, find_syscall_insn(pid_), t.regs);
    stop_signal_ = choose_stop_signal();
    frame_slot_ = (sigframe_size(ptrace::get_xstate(tid)) + 63) / 64 * 64;
    std::size_t frame_pages = (threads_.size() * frame_slot_ + page - 1) / page;
    try {
      work_area_ = t.remote->map_safe_work_area(
          frame_pages, [&](sdk::Range area) { return frame_of(t, area); },
          stop_signal_, t.sigmask);
    } catch (...) {
      t.remote.reset(); // the thread is as it was
      throw;
    }
  } else {
    t.remote = std::make_unique<RemoteProcess>(tid, work_area_.start, t.regs);
    t.remote->use_work_area(work_area_);
    auto [at, bytes] = frame_of(t, work_area_);
    t.remote->write(at, bytes.data(), bytes.size());
    t.remote->use_frame(at, stop_signal_);
  }
  // Signals held back while freezing go back to the kernel's queue at once
  // (blocked while held): should cpr die, the thread still gets them.
  std::erase_if(t.caught, [&](const std::vector<std::uint8_t> &info) {
    siginfo_t si{};
    std::memcpy(&si, info.data(), std::min(info.size(), sizeof si));
    if (si.si_signo == stop_signal_)
      return false;
    std::uint64_t buf = t.remote->scratch(sizeof si);
    t.remote->write(buf, info.data(), info.size());
    return t.remote->syscall_all_blocked(
               SYS_rt_tgsigqueueinfo, static_cast<std::uint64_t>(pid_),
               static_cast<std::uint64_t>(tid),
               static_cast<std::uint64_t>(si.si_signo), buf) == 0;
  });
  return *t.remote;
}

std::vector<std::vector<std::uint8_t>> FrozenProcess::in_flight(pid_t tid) {
  Thread &t = thread(tid);
  if (t.remote)
    for (auto &s : t.remote->take_deferred_signals())
      t.caught.push_back(std::move(s));
  return t.caught;
}

// Signals that came while cpr held the thread are queued again, every
// signal blocked meanwhile so that none is taken by a call still to come.
void FrozenProcess::queue_held_back(Thread &t) {
  auto held = in_flight(t.tid);
  if (held.empty())
    return;
  RemoteProcess &r = remote(t.tid);
  std::uint64_t buf = r.scratch(sizeof(siginfo_t));
  for (const auto &info : held) {
    siginfo_t si{};
    std::memcpy(&si, info.data(), std::min(info.size(), sizeof si));
    r.write(buf, info.data(), info.size());
    long got = r.syscall_all_blocked(
        SYS_rt_tgsigqueueinfo, static_cast<std::uint64_t>(pid_),
        static_cast<std::uint64_t>(t.tid),
        static_cast<std::uint64_t>(si.si_signo), buf);
    if (got < 0)
      sdk::throw_errno("cannot queue a held-back signal again",
                       static_cast<int>(-got));
  }
  t.caught.clear();
}

// The thread that unmaps the work area: one not inside an interrupted
// system call if there is one (it goes back the shortest way).
FrozenProcess::Thread *FrozenProcess::unmapping_thread() {
  Thread *found = nullptr;
  for (Thread &t : threads_) {
    if (!t.remote)
      continue;
    if (!found)
      found = &t;
    auto rax = static_cast<long>(t.regs.rax);
    if (static_cast<long>(t.regs.orig_rax) < 0 || rax > -512 || rax < -516)
      return &t;
  }
  return found;
}

// Every thread gets its registers and mask back while the others still
// rest in the work area; one of them unmaps it last.
void FrozenProcess::resume() {
  released_ = true;
  for (Thread &t : threads_)
    queue_held_back(t);
  Thread *last = work_area_.size() ? unmapping_thread() : nullptr;
  for (Thread &t : threads_) {
    if (&t == last)
      continue;
    if (t.remote)
      t.remote->restore(t.regs, t.sigmask);
    else
      ptrace::set_regs(t.tid, t.regs);
  }
  if (last)
    last->remote->unmap_and_restore(work_area_, last->regs, last->sigmask);
  work_area_ = {};
  for (Thread &t : threads_)
    // A process that was stopped stays stopped.
    ptrace::detach(t.tid, was_stopped_ && t.tid == pid_ ? SIGSTOP : 0);
}

void FrozenProcess::kill() {
  released_ = true;
  ::kill(pid_, SIGKILL);
  // The leader's end is reported only once its other threads are reaped.
  for (auto it = threads_.rbegin(); it != threads_.rend(); ++it) {
    const Thread &t = *it;
    int status = 0;
    while (::waitpid(t.tid, &status, __WALL) == t.tid &&
           !(WIFEXITED(status) || WIFSIGNALED(status)))
      ;
  }
}

} // namespace cpr::engine
