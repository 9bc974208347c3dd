#include "frozen.hpp"

#include "proc.hpp"
#include "ptrace.hpp"

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
      ptrace::seize(tid);
    } catch (const sdk::Error &) {
      int err = errno;
      if (err == ESRCH && proc::stat(pid_))
        continue; // the thread ended meanwhile
      explain_seize_failure(pid_, tid, err);
    }
    Thread t{tid, {}, {}, nullptr};
    threads_.push_back(std::move(t));
    ptrace::interrupt(tid);
    threads_.back().caught = wait_until_frozen(tid);
    threads_.back().regs = ptrace::get_regs(tid);
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

RemoteProcess &FrozenProcess::remote(pid_t tid) {
  Thread &t = thread(tid);
  if (!t.remote) {
    t.remote =
        std::make_unique<RemoteProcess>(tid, find_syscall_insn(pid_), t.regs);
    if (work_area_.size() == 0)
      work_area_ = install_work_area(*t.remote, {});
    else
      t.remote->use_work_area(work_area_);
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

void FrozenProcess::put_back(Thread &t) {
  auto held = in_flight(t.tid);
  if (!held.empty()) {
    // Everything is blocked while the held signals are queued again, so none
    // is taken (and lost) by a remote call still to come.
    std::uint64_t mask = ptrace::get_sigmask(t.tid);
    ptrace::set_sigmask(t.tid, ~0ULL);
    RemoteProcess &r = remote(t.tid);
    std::uint64_t buf = r.scratch(sizeof(siginfo_t));
    for (const auto &info : held) {
      siginfo_t si{};
      std::memcpy(&si, info.data(), sizeof si);
      r.write(buf, info.data(), info.size());
      sdk::remote_call(r, "queue a held-back signal", SYS_rt_tgsigqueueinfo,
                       static_cast<std::uint64_t>(pid_),
                       static_cast<std::uint64_t>(t.tid),
                       static_cast<std::uint64_t>(si.si_signo), buf);
    }
    ptrace::set_sigmask(t.tid, mask);
  }
}

void FrozenProcess::resume() {
  released_ = true;
  for (Thread &t : threads_)
    put_back(t);
  if (work_area_.size()) {
    remote(threads_.front().tid).unmap(work_area_);
    work_area_ = {};
  }
  for (Thread &t : threads_) {
    ptrace::set_regs(t.tid, t.regs);
    // A process that was stopped stays stopped.
    ptrace::detach(t.tid, was_stopped_ && t.tid == pid_ ? SIGSTOP : 0);
  }
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
