#include "freeze/notify.hpp"

#include "freeze/ptrace.hpp"
#include "process/proc.hpp"

#include <ckpt.h>
#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fmt/format.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace cpr::engine {
namespace {

using Clock = std::chrono::steady_clock;

// One thread of a process being notified, seized without being stopped.
struct Watched {
  pid_t tid;
  bool gone = false;
  bool in_handler = false;    // SIGCKPT delivered here: syscalls are traced
  std::uint64_t entry_sp = 0; // where rt_sigreturn of that frame goes back
  bool in_syscall = false;    // between a syscall's entry and exit stops
  bool entered_sigreturn = false;
  bool held = false; // left in a ptrace-stop on purpose
};

// A process sent SIGCKPT, watched under ptrace until the handler frame the
// kernel built for it is popped by rt_sigreturn: the stack pointer is back
// where it was when the signal came (a nested handler's return is not).
class HandlerWatch {
public:
  explicit HandlerWatch(pid_t pid) : pid_(pid) {
    for (pid_t tid : proc::threads(pid))
      if (::ptrace(PTRACE_SEIZE, tid, nullptr,
                   PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE) == 0)
        threads_.push_back({tid});
  }
  ~HandlerWatch() { detach_all(); }
  HandlerWatch(const HandlerWatch &) = delete;
  HandlerWatch &operator=(const HandlerWatch &) = delete;

  pid_t pid() const { return pid_; }
  bool done() const { return done_; }

  // Handles every stop waiting; true if there was one.
  bool poll() {
    bool any = false;
    for (size_t i = 0; i < threads_.size() && !done_; ++i) {
      if (threads_[i].gone)
        continue;
      int status = 0;
      pid_t r = ::waitpid(threads_[i].tid, &status, WNOHANG | __WALL);
      if (r == 0)
        continue;
      any = true;
      if (r < 0)
        threads_[i].gone = true;
      else
        handle(i, status);
    }
    if (done_)
      detach_all();
    return any;
  }

private:
  void handle(size_t i, int status) {
    Watched &t = threads_[i];
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      t.gone = true;
      done_ = t.tid == pid_; // the main thread reports last
      return;
    }
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (event == PTRACE_EVENT_CLONE) {
      unsigned long tid = 0;
      ::ptrace(PTRACE_GETEVENTMSG, t.tid, nullptr, &tid);
      threads_.push_back({static_cast<pid_t>(tid)});
      return resume(threads_[i], 0);
    }
    if (event == PTRACE_EVENT_STOP) {
      // A group stop (job control) is kept; a new thread's first stop is not.
      if (sig == SIGTRAP)
        return resume(t, 0);
      t.held = ::ptrace(PTRACE_LISTEN, t.tid, nullptr, nullptr) == 0;
      return;
    }
    if (sig == (SIGTRAP | 0x80))
      return syscall_stop(t);
    if (sig == SIGCKPT && !handler_started_) {
      handler_started_ = true;
      t.in_handler = true;
      t.entry_sp = ptrace::get_regs(t.tid).rsp;
    }
    resume(t, sig);
  }

  void syscall_stop(Watched &t) {
    auto regs = ptrace::get_regs(t.tid);
    t.in_syscall = !t.in_syscall;
    if (t.in_syscall) {
      t.entered_sigreturn = regs.orig_rax == SYS_rt_sigreturn;
    } else if (t.entered_sigreturn && regs.rsp == t.entry_sp) {
      done_ = true;
      t.held = true;
      return;
    }
    resume(t, 0);
  }

  void resume(Watched &t, int sig) {
    t.held = false;
    auto request = t.in_handler ? PTRACE_SYSCALL : PTRACE_CONT;
    if (::ptrace(request, t.tid, nullptr, sig) != 0 && errno == ESRCH)
      t.gone = true;
  }

  // A thread may be anywhere: take the stop it has waiting, or interrupt
  // it, and let it go from there with the signal it was about to take.
  void detach_all() {
    for (size_t i = 0; i < threads_.size(); ++i) {
      Watched &t = threads_[i];
      if (t.gone)
        continue;
      t.gone = true;
      int status = 0;
      pid_t r = ::waitpid(t.tid, &status, WNOHANG | __WALL);
      if (r == 0 && t.held) {
        ::ptrace(PTRACE_DETACH, t.tid, nullptr, nullptr);
        continue;
      }
      if (r == 0) {
        ::ptrace(PTRACE_INTERRUPT, t.tid, nullptr, nullptr);
        while ((r = ::waitpid(t.tid, &status, __WALL)) < 0 && errno == EINTR) {
        }
      }
      if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status))
        continue;
      detach_from_stop(t.tid, status);
    }
  }

  void detach_from_stop(pid_t tid, int status) {
    int event = status >> 16;
    int sig = WSTOPSIG(status);
    if (event == PTRACE_EVENT_CLONE) {
      unsigned long child = 0;
      ::ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &child);
      threads_.push_back({static_cast<pid_t>(child)});
    }
    bool signal_stop = event == 0 && sig != (SIGTRAP | 0x80);
    ::ptrace(PTRACE_DETACH, tid, nullptr, signal_stop ? sig : 0);
  }

  pid_t pid_;
  std::vector<Watched> threads_;
  bool handler_started_ = false;
  bool done_ = false;
};

bool stopped_or_gone(pid_t pid) {
  auto st = proc::stat(pid);
  return !st || st->state == 'T' || st->state == 't' || st->state == 'Z';
}

} // namespace

bool catches_signal(pid_t pid, int sig) {
  if (!proc::stat(pid))
    return false; // ended since the set was listed
  std::string mask;
  try {
    mask = proc::status_field(pid, "SigCgt");
  } catch (const sdk::Error &) {
    return false;
  }
  if (mask.empty())
    return false;
  return (std::stoull(mask, nullptr, 16) >> (sig - 1)) & 1;
}

CheckpointNotice::CheckpointNotice(const std::vector<pid_t> &pids,
                                   std::chrono::seconds timeout) {
  std::vector<std::unique_ptr<HandlerWatch>> watches;
  for (pid_t pid : pids) {
    if (!catches_signal(pid, SIGCKPT) || stopped_or_gone(pid))
      continue;
    watches.push_back(std::make_unique<HandlerWatch>(pid));
    if (::kill(pid, SIGCKPT) == 0)
      notified_.push_back(pid);
    else
      watches.pop_back();
  }
  auto deadline = Clock::now() + timeout;
  auto pause = std::chrono::microseconds(50);
  for (;;) {
    bool any = false;
    for (auto &w : watches)
      any |= !w->done() && w->poll();
    auto late = std::find_if(watches.begin(), watches.end(),
                             [](auto &w) { return !w->done(); });
    if (late == watches.end())
      return;
    if (Clock::now() > deadline) {
      pid_t pid = (*late)->pid();
      watches.clear(); // detached before SIGRESTART is sent
      send_restart();
      notified_.clear();
      throw sdk::Error(
          sdk::Code::busy,
          fmt::format(
              "Resource busy: process {} has not returned from its SIGCKPT "
              "handler within {} s",
              pid, timeout.count()));
    }
    pause = any ? std::chrono::microseconds(50)
                : std::min(pause * 2, std::chrono::microseconds(2000));
    std::this_thread::sleep_for(pause);
  }
}

CheckpointNotice::~CheckpointNotice() { send_restart(); }

void CheckpointNotice::processes_go_on() {
  send_restart();
  notified_.clear();
}

void CheckpointNotice::send_restart() {
  for (pid_t pid : notified_)
    if (catches_signal(pid, SIGRESTART))
      ::kill(pid, SIGRESTART);
}

} // namespace cpr::engine
