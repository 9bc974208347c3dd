// RemoteProcess's system calls: one at a time (single-stepped, or run in
// cpr's code up to its stop), or a batch in one go; and the signals that
// came meanwhile, held back.
#include "remote/remote.hpp"

#include "freeze/ptrace.hpp"
#include "remote/remote_code.hpp"
#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace cpr::engine {

namespace {
constexpr std::uint64_t syscall_insn_size = 2; // 0f 05
// A fault of the instruction itself (unmapped, not executable) would come
// back on every try; a signal sent by someone is kept for later instead.
bool faulted_on_insn(const std::vector<std::uint8_t> &raw) {
  siginfo_t info{};
  std::memcpy(&info, raw.data(), std::min(raw.size(), sizeof info));
  bool fault = info.si_signo == SIGSEGV || info.si_signo == SIGBUS ||
               info.si_signo == SIGILL;
  return fault && info.si_code > 0 && info.si_code < SI_KERNEL;
}
constexpr int syscall_stop = SIGTRAP | 0x80; // PTRACE_O_TRACESYSGOOD
// Inside a system call the stop interrupted: the kernel restarts it when
// the thread leaves a signal-delivery or event stop, not a syscall stop.
bool interrupted_call(const user_regs_struct &r) {
  auto rax = static_cast<long>(r.rax);
  return static_cast<long>(r.orig_rax) >= 0 && rax <= -512 && rax >= -516;
}
} // namespace

RemoteProcess::RemoteProcess(pid_t pid, std::uint64_t insn,
                             const user_regs_struct &base)
    : pid_(pid), insn_(insn), base_(base) {}

RemoteProcess::~RemoteProcess() {
  if (mem_fd_ >= 0)
    ::close(mem_fd_);
}

user_regs_struct
RemoteProcess::call_registers(std::uint64_t rip, long nr,
                              const std::uint64_t (&args)[6]) const {
  user_regs_struct regs = base_;
  regs.rip = rip;
  regs.rax = static_cast<std::uint64_t>(nr);
  // orig_rax = -1 keeps the kernel from "restarting" a syscall the thread
  // was stopped in, on top of ours.
  regs.orig_rax = ~0ULL;
  regs.rdi = args[0];
  regs.rsi = args[1];
  regs.rdx = args[2];
  regs.r10 = args[3];
  regs.r8 = args[4];
  regs.r9 = args[5];
  // The batch loop ends in the stop with a signal, else on int3.
  regs.r14 = frame_ ? static_cast<std::uint64_t>(stop_signal_) : 0;
  if (frame_)
    regs.rsp = frame_ + 8; // rt_sigreturn reads the frame at %rsp - 8
  return regs;
}

long RemoteProcess::syscall(long nr, std::uint64_t a1, std::uint64_t a2,
                            std::uint64_t a3, std::uint64_t a4,
                            std::uint64_t a5, std::uint64_t a6) {
  const std::uint64_t args[6] = {a1, a2, a3, a4, a5, a6};
  if (!frame_)
    return single_step_call(call_registers(insn_, nr, args));
  user_regs_struct regs = call_registers(work_area_.start, nr, args);
  if (stop_signal_)
    return static_cast<long>(run_to_stop(regs).rbx);
  return static_cast<long>(run_to_syscall_exit(regs, ~0ULL).rax);
}

long RemoteProcess::single_step_call(user_regs_struct regs) {
  for (;;) {
    ptrace::set_regs(pid_, regs);
    ptrace::single_step(pid_);
    int status = ptrace::wait_stop(pid_);
    user_regs_struct after = ptrace::get_regs(pid_);
    if (after.rip == insn_ + syscall_insn_size)
      return static_cast<long>(after.rax);
    // Stopped before the instruction ran: a signal arrived (keep it for
    // later) or a job-control trap. Either way, try again.
    bool signal_stop = (status >> 16) == 0 && WSTOPSIG(status) != SIGTRAP;
    if (signal_stop)
      hold_back(status, "its syscall instruction");
  }
}

// Keeps a signal that came meanwhile for later; fails on a fault of cpr's
// own instructions, which would come back on every try.
void RemoteProcess::hold_back(int status, const char *where) {
  std::vector<std::uint8_t> info = ptrace::get_siginfo(pid_);
  if (faulted_on_insn(info))
    throw sdk::Error(fmt::format("cannot run a system call in process {}: "
                                 "{} at {}",
                                 pid_, ::strsignal(WSTOPSIG(status)), where));
  deferred_.push_back(std::move(info));
}

// Until the stop signal the thread sends itself, just before the trailer.
user_regs_struct RemoteProcess::run_to_stop(user_regs_struct regs) {
  ptrace::set_regs(pid_, regs);
  if (!masked_) // after the registers: a thread let go runs the trailer
    ptrace::set_sigmask(pid_, ~(1ULL << (stop_signal_ - 1)));
  masked_ = true;
  const std::uint64_t trailer = work_area_.start + offset_of(cpr_trailer);
  for (;;) {
    ptrace::cont(pid_, 0);
    int status = ptrace::wait_stop(pid_);
    if ((status >> 16) != 0)
      continue; // a job-control stop: go on
    if (WSTOPSIG(status) == stop_signal_) {
      siginfo_t si{};
      std::vector<std::uint8_t> raw = ptrace::get_siginfo(pid_);
      std::memcpy(&si, raw.data(), std::min(raw.size(), sizeof si));
      user_regs_struct after = ptrace::get_regs(pid_);
      if (after.rip == trailer && si.si_code == SI_TKILL &&
          static_cast<std::uint64_t>(si.si_pid) == after.rdi) {
        at_syscall_exit_ = false;
        return after;
      }
    }
    hold_back(status, "cpr's code");
  }
}

// Through the entry and exit stops of the call (at the exit stop, the
// thread rests before the trailer).
user_regs_struct
RemoteProcess::run_to_syscall_exit(const user_regs_struct &regs,
                                   std::uint64_t mask) {
  user_regs_struct call = regs;
  call.r14 = 0; // no stop signal: tgkill(..., 0) checks and sends nothing
  ptrace::set_regs(pid_, call);
  kill_point("call-registers-set");
  ptrace::set_sigmask(pid_, mask);
  for (int stops = 0;;) {
    ptrace::syscall(pid_);
    int status = ptrace::wait_stop(pid_);
    if ((status >> 16) != 0)
      continue;
    if (WSTOPSIG(status) != syscall_stop)
      hold_back(status, "cpr's code");
    else if (++stops == 2) {
      at_syscall_exit_ = true;
      return ptrace::get_regs(pid_);
    }
  }
}

// At the syscall instruction: a thread let go before the call has returned
// runs on with cpr's registers.
long RemoteProcess::first_call(long nr, const std::uint64_t (&args)[6]) {
  std::uint64_t mask = stop_signal_ ? ~(1ULL << (stop_signal_ - 1)) : ~0ULL;
  user_regs_struct regs = call_registers(insn_, nr, args);
  regs.rsp = base_.rsp;
  return static_cast<long>(run_to_syscall_exit(regs, mask).rax);
}

long RemoteProcess::syscall_all_blocked(long nr, std::uint64_t a1,
                                        std::uint64_t a2, std::uint64_t a3,
                                        std::uint64_t a4) {
  const std::uint64_t args[6] = {a1, a2, a3, a4, 0, 0};
  user_regs_struct regs = call_registers(work_area_.start, nr, args);
  long result = static_cast<long>(run_to_syscall_exit(regs, ~0ULL).rax);
  if (stop_signal_)
    ptrace::set_sigmask(pid_, ~(1ULL << (stop_signal_ - 1)));
  return result;
}

void RemoteProcess::use_frame(Frame frame, int stop_signal) {
  frame_ = frame.at;
  frame_bytes_ = std::move(frame.bytes);
  stop_signal_ = stop_signal;
}

bool RemoteProcess::returns_through_stack() const {
  return syscall_ret_ && frame_ &&
         !(frame_ >= work_area_.start && frame_ < work_area_.end);
}

// The call at `syscall; ret` with the stack pointer on the frame, whose
// first word is the restorer's address: a thread let go at any moment makes
// the call (or has made it) and returns to its own state. Stops at the
// call's exit.
long RemoteProcess::call_through_stack_frame(long nr,
                                             const std::uint64_t (&args)[6],
                                             std::uint64_t mask) {
  write(frame_, frame_bytes_.data(), frame_bytes_.size());
  user_regs_struct regs = call_registers(syscall_ret_, nr, args);
  regs.rsp = frame_;
  return static_cast<long>(run_to_syscall_exit(regs, mask).rax);
}

void RemoteProcess::restore(const user_regs_struct &regs,
                            std::uint64_t sigmask) {
  if (at_syscall_exit_ && interrupted_call(regs))
    back_to_event_stop();
  // The mask first: a thread let go in between still runs the trailer.
  ptrace::set_sigmask(pid_, sigmask);
  ptrace::set_regs(pid_, regs);
  frame_ = 0;
  frame_bytes_.clear();
  masked_ = false;
}

// From a syscall stop into an event stop, without running user code: the
// kernel restarts an interrupted call only on leaving a stop of that kind.
void RemoteProcess::back_to_event_stop() {
  ptrace::interrupt(pid_);
  for (;;) {
    ptrace::cont(pid_, 0);
    int status = ptrace::wait_stop(pid_);
    if ((status >> 16) == PTRACE_EVENT_STOP) {
      at_syscall_exit_ = false;
      return;
    }
    hold_back(status, "its way back from a system call");
  }
}

std::vector<long> RemoteProcess::syscalls(const std::vector<Call> &calls) {
  std::vector<long> results;
  if (work_area_.size() == 0 || (frame_ && !stop_signal_)) {
    for (const Call &c : calls)
      results.push_back(syscall(c.nr, c.args[0], c.args[1], c.args[2],
                                c.args[3], c.args[4], c.args[5]));
    return results;
  }
  struct Entry {
    std::int64_t nr;
    std::uint64_t args[6];
    std::int64_t result;
  };
  static_assert(sizeof(Entry) == 64, "the layout cpr_batch_loop reads");
  std::uint64_t table = work_area_.start + page;
  for (std::size_t done = 0; done < calls.size();) {
    std::vector<Entry> run(std::min(page / sizeof(Entry), calls.size() - done));
    for (std::size_t i = 0; i < run.size(); ++i) {
      run[i].nr = calls[done + i].nr;
      std::memcpy(run[i].args, calls[done + i].args, sizeof run[i].args);
    }
    write(table, run.data(), run.size() * sizeof(Entry));
    run_batch(run.size());
    read(table, run.data(), run.size() * sizeof(Entry));
    for (const Entry &e : run)
      results.push_back(static_cast<long>(e.result));
    done += run.size();
  }
  return results;
}

void RemoteProcess::run_batch(std::size_t count) {
  const std::uint64_t none[6] = {};
  user_regs_struct regs =
      call_registers(work_area_.start + offset_of(cpr_batch_loop), 0, none);
  regs.rbx = work_area_.start + page;
  regs.r15 = count;
  if (frame_) {
    run_to_stop(regs);
    return;
  }
  const std::uint64_t end = work_area_.start + offset_of(cpr_remote_code_end);
  ptrace::set_regs(pid_, regs);
  for (;;) {
    ptrace::cont(pid_, 0);
    int status = ptrace::wait_stop(pid_);
    if ((status >> 16) != 0)
      continue; // a job-control stop: go on
    if (WSTOPSIG(status) == SIGTRAP && ptrace::get_regs(pid_).rip == end)
      return;
    hold_back(status, "cpr's code");
  }
}

std::vector<std::vector<std::uint8_t>> RemoteProcess::take_deferred_signals() {
  return std::exchange(deferred_, {});
}

} // namespace cpr::engine
