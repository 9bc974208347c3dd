#include "freeze/ptrace.hpp"

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <elf.h>
#include <string>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

namespace cpr::engine::ptrace {
namespace {

long call(const char *what, int request, pid_t tid, void *addr, void *data) {
  errno = 0;
  long ret =
      ::ptrace(static_cast<enum __ptrace_request>(request), tid, addr, data);
  if (ret == -1 && errno != 0)
    sdk::throw_errno(std::string("ptrace ") + what + " of thread " +
                         std::to_string(tid),
                     errno);
  return ret;
}

void *as_ptr(unsigned long v) { return reinterpret_cast<void *>(v); }

} // namespace

void seize(pid_t tid, unsigned options) {
  call("seize", PTRACE_SEIZE, tid, nullptr, as_ptr(options));
}
void set_options(pid_t tid, unsigned options) {
  call("setoptions", PTRACE_SETOPTIONS, tid, nullptr, as_ptr(options));
}
void interrupt(pid_t tid) {
  call("interrupt", PTRACE_INTERRUPT, tid, nullptr, nullptr);
}
void detach(pid_t tid, int signal) {
  call("detach", PTRACE_DETACH, tid, nullptr, as_ptr(signal));
}
void single_step(pid_t tid) {
  call("single-step", PTRACE_SINGLESTEP, tid, nullptr, nullptr);
}
void cont(pid_t tid, int signal) {
  call("cont", PTRACE_CONT, tid, nullptr, as_ptr(signal));
}
void syscall(pid_t tid) {
  call("syscall", PTRACE_SYSCALL, tid, nullptr, nullptr);
}

int wait_stop(pid_t tid) {
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(tid, &status, __WALL);
    if (r == tid)
      break;
    if (r < 0 && errno == EINTR)
      continue;
    sdk::throw_errno("waiting for thread " + std::to_string(tid), errno);
  }
  if (WIFEXITED(status) || WIFSIGNALED(status))
    throw sdk::Error(ESRCH, "No such process: process " + std::to_string(tid) +
                                " exited while held by cpr");
  return status;
}

user_regs_struct get_regs(pid_t tid) {
  user_regs_struct regs{};
  call("getregs", PTRACE_GETREGS, tid, nullptr, &regs);
  return regs;
}

void set_regs(pid_t tid, const user_regs_struct &regs) {
  call("setregs", PTRACE_SETREGS, tid, nullptr,
       const_cast<user_regs_struct *>(&regs));
}

std::vector<std::uint8_t> get_xstate(pid_t tid) {
  std::vector<std::uint8_t> buf(64 * 1024);
  iovec iov{buf.data(), buf.size()};
  call("getregset xstate", PTRACE_GETREGSET, tid, as_ptr(NT_X86_XSTATE), &iov);
  buf.resize(iov.iov_len);
  return buf;
}

void set_xstate(pid_t tid, std::vector<std::uint8_t> xstate) {
  iovec iov{xstate.data(), xstate.size()};
  call("setregset xstate", PTRACE_SETREGSET, tid, as_ptr(NT_X86_XSTATE), &iov);
}

std::uint64_t get_sigmask(pid_t tid) {
  std::uint64_t mask = 0;
  call("getsigmask", PTRACE_GETSIGMASK, tid, as_ptr(sizeof mask), &mask);
  return mask;
}

void set_sigmask(pid_t tid, std::uint64_t mask) {
  call("setsigmask", PTRACE_SETSIGMASK, tid, as_ptr(sizeof mask), &mask);
}

std::vector<std::uint8_t> get_siginfo(pid_t tid) {
  std::vector<std::uint8_t> info(sizeof(siginfo_t));
  call("getsiginfo", PTRACE_GETSIGINFO, tid, nullptr, info.data());
  return info;
}

std::vector<std::vector<std::uint8_t>> peek_pending(pid_t tid, bool shared) {
  std::vector<std::vector<std::uint8_t>> out;
  for (;;) {
    __ptrace_peeksiginfo_args args{};
    args.off = out.size();
    args.nr = 1;
    args.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0;
    std::vector<std::uint8_t> info(sizeof(siginfo_t));
    long n = call("peeksiginfo", PTRACE_PEEKSIGINFO, tid, &args, info.data());
    if (n <= 0)
      return out;
    out.push_back(std::move(info));
  }
}

RseqConfig get_rseq(pid_t tid) {
  __ptrace_rseq_configuration conf{};
  call("get rseq configuration", PTRACE_GET_RSEQ_CONFIGURATION, tid,
       as_ptr(sizeof conf), &conf);
  return {conf.rseq_abi_pointer, conf.rseq_abi_size, conf.signature};
}

} // namespace cpr::engine::ptrace
