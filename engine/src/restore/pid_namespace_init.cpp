// The init of a restart's new PID namespace (see pid_namespace_init.hpp).
#include "restore/pid_namespace_init.hpp"

#include "restore/clone_with_pid.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cpr::engine {

PidNamespaceInit::~PidNamespaceInit() {
  if (talk_ >= 0)
    ::close(talk_);
  if (ack_ >= 0)
    ::close(ack_);
}

// The init is cpr's child.
void PidNamespaceInit::start(const std::function<void()> &fork_roots) {
  int talk[2], ack[2];
  if (::pipe2(talk, O_CLOEXEC) != 0 || ::pipe2(ack, O_CLOEXEC) != 0)
    sdk::throw_errno("cannot create a pipe", errno);
  CloneArgs args{};
  args.flags = CLONE_NEWPID;
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0)
    sdk::throw_errno("cannot create a PID namespace", errno);
  if (pid == 0) {
    ::close(talk[1]);
    ::close(ack[0]);
    run(talk[0], ack[1], fork_roots);
  }
  pid_ = static_cast<pid_t>(pid);
  ::close(talk[0]);
  ::close(ack[1]);
  talk_ = talk[1];
  ack_ = ack[0];
}

void PidNamespaceInit::run(int talk, int ack,
                           const std::function<void()> &fork_roots) {
  try {
    // Until cpr says the restart succeeded, the namespace dies with cpr.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::prctl(PR_SET_NAME, "cpr-init");
    fork_roots();
  } catch (const std::exception &e) {
    send_failure(failures_.write_end(), e);
    ::_exit(1);
  }
  ::close_range(0, static_cast<unsigned>(std::min(talk, ack) - 1), 0);
  ::close_range(static_cast<unsigned>(std::max(talk, ack) + 1), ~0U, 0);
  char byte;
  if (::read(talk, &byte, 1) != 1)
    ::_exit(1); // cpr failed: PDEATHSIG ends everything
  ::prctl(PR_SET_PDEATHSIG, 0);
  [[maybe_unused]] ssize_t w = ::write(ack, "a", 1);
  ::close(ack);
  for (;;)
    if (::wait(nullptr) < 0 && errno == ECHILD)
      ::_exit(0);
}

void PidNamespaceInit::kill() const {
  if (pid_ > 0)
    ::kill(pid_, SIGKILL);
}

void PidNamespaceInit::reap() const {
  int status;
  if (pid_ > 0)
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR)
      ;
}

void PidNamespaceInit::let_outlive_cpr() {
  if (pid_ > 0) {
    char byte;
    [[maybe_unused]] ssize_t w = ::write(talk_, "r", 1);
    [[maybe_unused]] ssize_t r = ::read(ack_, &byte, 1);
  }
}

} // namespace cpr::engine
