// Thin, throwing wrappers around ptrace(2) for one thread.
#pragma once

#include <cstdint>
#include <sys/types.h>
#include <sys/user.h>
#include <vector>

namespace cpr::engine::ptrace {

void seize(pid_t tid, unsigned options = 0);
void interrupt(pid_t tid);
void set_options(pid_t tid, unsigned options);
void detach(pid_t tid, int signal = 0);
// Resumes for one instruction (data: a signal to deliver, or 0).
void single_step(pid_t tid);
void cont(pid_t tid, int signal = 0);
// Resumes until the next system call entry or exit.
void syscall(pid_t tid);

// waitpid(__WALL) for one ptrace-stop; throws if the thread exited.
int wait_stop(pid_t tid);

user_regs_struct get_regs(pid_t tid);
void set_regs(pid_t tid, const user_regs_struct &regs);
std::vector<std::uint8_t> get_xstate(pid_t tid);
void set_xstate(pid_t tid, std::vector<std::uint8_t> xstate);
std::uint64_t get_sigmask(pid_t tid);
void set_sigmask(pid_t tid, std::uint64_t mask);
std::vector<std::uint8_t> get_siginfo(pid_t tid);
// The queued signals (siginfo_t each) of the thread, or of the whole
// process when `shared`.
std::vector<std::vector<std::uint8_t>> peek_pending(pid_t tid, bool shared);

struct RseqConfig {
  std::uint64_t ptr = 0, len = 0, sig = 0;
};
RseqConfig get_rseq(pid_t tid);

} // namespace cpr::engine::ptrace
