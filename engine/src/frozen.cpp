#include "frozen.hpp"

#include "proc.hpp"
#include "ptrace.hpp"

#include <cpr/sdk/error.hpp>

#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <sys/syscall.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

namespace cpr::engine {

FrozenProcess::FrozenProcess(pid_t pid) : pid_(pid) {
  try {
    ptrace::seize(pid);
  } catch (const sdk::Error &) {
    if (errno == ESRCH)
      throw sdk::Error(fmt::format("No such process: {}", pid));
    if (errno == EPERM && proc::status_field(pid, "TracerPid") != "0")
      throw sdk::Error(fmt::format("Resource busy: process {} is being traced "
                                   "by process {}",
                                   pid, proc::status_field(pid, "TracerPid")));
    throw;
  }
  try {
    ptrace::interrupt(pid);
    wait_until_frozen();
    auto threads = proc::threads(pid);
    if (threads.size() != 1)
      throw sdk::Error(fmt::format(
          "Checkpoint error: process {} has {} threads; this cpr checkpoints "
          "single-threaded processes",
          pid, threads.size()));
    auto children = proc::children(pid);
    if (!children.empty())
      throw sdk::Error(fmt::format(
          "Checkpoint error: process {} has child processes ({}); they would "
          "be lost on restart",
          pid, children.size()));
  } catch (...) {
    release_quietly(); // put it back before the error goes up
    throw;
  }
}

void FrozenProcess::wait_until_frozen() {
  for (;;) {
    int status = ptrace::wait_stop(pid_);
    if ((status >> 16) == PTRACE_EVENT_STOP)
      break;
    // It stopped to take a signal first: hold the signal back, and keep it
    // as pending in the image (and for when the process is let go).
    caught_.push_back(ptrace::get_siginfo(pid_));
    ptrace::cont(pid_, 0);
  }
  regs_ = ptrace::get_regs(pid_);
}

FrozenProcess::~FrozenProcess() { release_quietly(); }

void FrozenProcess::release_quietly() {
  if (released_)
    return;
  try {
    resume();
  } catch (...) {
    // Detaching is all that is left to try; the process then runs on.
    ::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);
  }
}

RemoteProcess &FrozenProcess::remote() {
  if (!remote_) {
    remote_ = std::make_unique<RemoteProcess>(pid_, find_syscall_insn(pid_),
                                              regs_);
    scratch_area_ = remote_->map_private_area({}, 2);
    remote_->use_scratch(scratch_area_);
  }
  return *remote_;
}

std::vector<std::vector<std::uint8_t>> FrozenProcess::in_flight() {
  auto all = caught_;
  if (remote_)
    for (auto &s : remote_->take_deferred_signals()) {
      caught_.push_back(s);
      all.push_back(std::move(s));
    }
  return all;
}

void FrozenProcess::requeue(
    const std::vector<std::vector<std::uint8_t>> &signals) {
  if (signals.empty())
    return;
  RemoteProcess &t = remote();
  std::uint64_t buf = t.scratch(sizeof(siginfo_t));
  for (const auto &info : signals) {
    siginfo_t si{};
    std::memcpy(&si, info.data(), sizeof si);
    t.write(buf, info.data(), info.size());
    sdk::remote_call(t, "queue a held-back signal", SYS_rt_tgsigqueueinfo,
                     static_cast<std::uint64_t>(pid_),
                     static_cast<std::uint64_t>(pid_),
                     static_cast<std::uint64_t>(si.si_signo), buf);
  }
}

void FrozenProcess::resume() {
  released_ = true;
  auto held = in_flight();
  if (!held.empty() || remote_) {
    // Block everything while the held signals are queued, so none is taken
    // (and lost) during the remote calls still to come.
    std::uint64_t mask = ptrace::get_sigmask(pid_);
    ptrace::set_sigmask(pid_, ~0ULL);
    requeue(held);
    if (remote_) {
      remote_->unmap(scratch_area_);
      remote_.reset();
    }
    ptrace::set_sigmask(pid_, mask);
  }
  ptrace::set_regs(pid_, regs_);
  ptrace::detach(pid_, 0);
}

void FrozenProcess::kill() {
  released_ = true;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, __WALL) == pid_ &&
         !(WIFEXITED(status) || WIFSIGNALED(status)))
    ;
}

} // namespace cpr::engine
