// Processes created with their saved PIDs (see clone_with_pid.hpp).
#include "restore/clone_with_pid.hpp"

#include <cpr/sdk/error.hpp>

#include <csignal>
#include <fmt/format.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::engine {

extern "C" long cpr_clone3_on_stack(void *args, unsigned long size,
                                    void (*fn)(void *), void *arg);

pid_t clone_with_pid(pid_t pid, std::uint64_t flags) {
  CloneArgs args{};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  pid_t want = pid;
  args.set_tid = reinterpret_cast<std::uint64_t>(&want);
  args.set_tid_size = 1;
  long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r < 0) {
    if (errno == EEXIST)
      throw sdk::Error(sdk::Code::unavailable_pid,
                       fmt::format("unavailable PID: {} is in use", pid));
    if (errno == EPERM)
      throw sdk::Error(EPERM,
                       fmt::format("Operation not permitted: restoring PID {} "
                                   "needs CAP_CHECKPOINT_RESTORE",
                                   pid));
    sdk::throw_errno(fmt::format("cannot create process {}", pid), errno);
  }
  return static_cast<pid_t>(r);
}

pid_t clone_vm_with_pid(pid_t pid, std::uint64_t flags, void (*fn)(void *),
                        void *arg) {
  constexpr std::size_t stack_size = 1 << 20;
  void *stack = ::mmap(nullptr, stack_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    sdk::throw_errno("cannot allocate a stack", errno);
  CloneArgs args{};
  args.flags = CLONE_VM | flags;
  args.exit_signal = SIGCHLD;
  pid_t want = pid;
  args.set_tid = reinterpret_cast<std::uint64_t>(&want);
  args.set_tid_size = 1;
  args.stack = reinterpret_cast<std::uint64_t>(stack);
  args.stack_size = stack_size;
  long r = cpr_clone3_on_stack(&args, sizeof args, fn, arg);
  if (r < 0) {
    errno = static_cast<int>(-r);
    if (errno == EEXIST)
      throw sdk::Error(sdk::Code::unavailable_pid,
                       fmt::format("unavailable PID: {} is in use", pid));
    sdk::throw_errno(fmt::format("cannot create process {}", pid), errno);
  }
  return static_cast<pid_t>(r);
}

} // namespace cpr::engine
