#include "freeze/frozen.hpp"

#include "freeze/ptrace.hpp"
#include "process/proc.hpp"
#include "process/process_state.hpp"
#include "remote/gadgets.hpp"
#include "remote/sigframe.hpp"
#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

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
    throw sdk::Error(ESRCH, fmt::format("No such process: {}", pid));
  std::string tracer = proc::status_field(tid, "TracerPid");
  if (err == EPERM && !tracer.empty() && tracer != "0") {
    auto by = proc::stat(std::stoi(tracer));
    throw sdk::Error(sdk::Code::busy,
                     fmt::format("Resource busy: process {} is being traced "
                                 "by process {} ({}); a traced process cannot "
                                 "be checkpointed until its tracer lets go",
                                 pid, tracer, by ? by->comm : "gone"));
  }
  sdk::throw_errno(fmt::format("cannot freeze process {}", pid), err);
}

// Waits for the interrupt's stop. A signal the thread was about to take is
// delivered: it stops at the handler (or takes the default action), and no
// signal is ever in cpr's hands alone, to be lost should cpr die.
// Returns the signal of the group stop it is in, or 0.
int wait_until_frozen(pid_t tid) {
  for (;;) {
    int status = ptrace::wait_stop(tid);
    if ((status >> 16) == PTRACE_EVENT_STOP)
      return WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status);
    ptrace::cont(tid, WSTOPSIG(status));
  }
}

} // namespace

FrozenProcess::FrozenProcess(pid_t pid, Hold hold) : pid_(pid), hold_(hold) {
  auto st = proc::stat(pid);
  if (!st)
    throw sdk::Error(ESRCH, fmt::format("No such process: {}", pid));
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
  const std::vector<pid_t> tids = hold_ == Hold::main_thread
                                      ? std::vector<pid_t>{pid_}
                                      : proc::threads(pid_);
  for (pid_t tid : tids) {
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
    int group_stop = wait_until_frozen(tid);
    if (tid == pid_ && was_stopped_)
      stopped_by_ = group_stop;
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

namespace {
constexpr std::uint64_t red_zone = 128;

// Whether the memory below the red zone, down to `at`, is dead: the thread
// is on a stack of its own (the main stack, or a mapping with a guard page
// below, as threads' and coroutines' stacks have; not a stack carved out of
// a heap, where other objects lie below) and is not a vfork parent, whose
// child runs on that very stack.
bool stack_free_below(const user_regs_struct &regs, std::uint64_t at,
                      const std::vector<sdk::Mapping> &maps) {
  auto nr = static_cast<long>(regs.orig_rax);
  if (nr == SYS_vfork || nr == SYS_clone || nr == SYS_clone3)
    return false;
  for (std::size_t i = 0; i < maps.size(); ++i) {
    const sdk::Mapping &m = maps[i];
    if (m.range.start > at || regs.rsp - red_zone > m.range.end)
      continue;
    bool guarded = i > 0 && maps[i - 1].range.end == m.range.start &&
                   maps[i - 1].perms.starts_with("---");
    return (m.path == "[stack]" || guarded) && m.perms.starts_with("rw") &&
           m.perms.ends_with("p");
  }
  return false;
}
} // namespace

// On the thread's own stack, below its red zone, where the kernel would put
// a signal frame, if that is free and the process has a restorer to return
// through: a signal handler run meanwhile then runs there too. Else in the
// area.
RemoteProcess::Frame FrozenProcess::frame_of(const Thread &t,
                                             sdk::Range area) const {
  std::vector<std::uint8_t> xstate = ptrace::get_xstate(t.tid);
  std::uint64_t size = sigframe_size(xstate);
  std::uint64_t at = (t.regs.rsp - red_zone - size) & ~63ULL;
  bool on_stack = way_back_.restorer && t.regs.rsp > red_zone + size + 64 &&
                  stack_free_below(t.regs, at, maps_);
  if (!on_stack) {
    auto index = static_cast<std::uint64_t>(&t - threads_.data());
    at = area.start + work_area_pages * page + index * frame_slot_;
  }
  return {at, build_sigframe(at, restartable(t.regs), t.sigmask, xstate,
                             on_stack ? way_back_.restorer : 0)};
}

void FrozenProcess::prepare() {
  for (const Thread &t : threads_)
    remote(t.tid);
  if (!shares_address_space_)
    remove_stale_work_areas();
  kill_point("prepared");
}

// Work areas a cpr killed mid-checkpoint left behind (see remote_code.S),
// unless a thread is still on its way out of one.
void FrozenProcess::remove_stale_work_areas() {
  // maps_ was read before this cpr mapped its own area.
  for (sdk::Range area : stale_work_areas(pid_, maps_)) {
    bool in_use = std::any_of(threads_.begin(), threads_.end(), [&](auto &t) {
      return area.overlaps({t.regs.rip, t.regs.rip + 1});
    });
    if (!in_use)
      remote(pid_).unmap(area);
  }
}

RemoteProcess &FrozenProcess::remote(pid_t tid) {
  Thread &t = thread(tid);
  if (t.remote)
    return *t.remote;
  if (work_area_.size() == 0) {
    way_back_ = find_way_back(pid_);
    maps_ = sdk::read_maps(pid_);
    t.remote =
        std::make_unique<RemoteProcess>(tid, find_syscall_insn(pid_), t.regs);
    t.remote->use_way_back(way_back_.syscall_ret);
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
    t.remote->use_way_back(way_back_.syscall_ret);
    t.remote->use_work_area(work_area_);
    RemoteProcess::Frame frame = frame_of(t, work_area_);
    t.remote->write(frame.at, frame.bytes.data(), frame.bytes.size());
    t.remote->use_frame(std::move(frame), stop_signal_);
  }
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
