// Sessions and process groups at restart. Without -j the set is cut off
// from the terminal cpr runs on: each root starts a session of its own, or
// is forked by a stand-in with the PID of its session or group leader when
// that leader is not restored, so that the group keeps its original id. A
// PID names a group for as long as a member is left, so the stand-in may
// exit once the set runs. A root restarted from its own session, when that
// session has no terminal, simply stays in it. With -j the processes on the
// replaced terminal stay in cpr's session and group (the guide: "the original
// process group ID cannot be restored").
#include "process/proc.hpp"
#include "restore/helper.hpp"

#include <cpr/sdk/error.hpp>

#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <set>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

// cpr's own session, if it has no controlling terminal; else 0.
pid_t session_without_terminal() {
  auto own = proc::stat(::getpid());
  return own && own->field(7) == 0 ? ::getsid(0) : 0;
}

} // namespace

void ProcessTree::plan_standins() {
  std::set<pid_t> of_the_set;
  for (const Node &n : nodes_)
    for (const ThreadState &t : n.p.record->threads)
      of_the_set.insert(t.tid);
  for (const Node &n : nodes_)
    of_the_set.insert(n.p.record->pid);
  const pid_t quiet_session = session_without_terminal();
  for (Node &n : nodes_) {
    const ProcessRecord &p = *n.p.record;
    if (n.parent >= 0 || p.sid == p.pid || terminal_.takes_over(p))
      continue;
    n.stays = p.sid == quiet_session;
    if (n.stays)
      continue;
    // A group leader keeps its group id in the saved session; a member
    // needs its group's leader, and gets that group's own session.
    pid_t leader = p.pgid == p.pid ? p.sid : p.pgid;
    bool free = in_namespace_ ? leader != 1 : !proc::pid_in_use(leader);
    if (leader > 0 && free && !of_the_set.count(leader))
      n.standin = leader;
  }
}

void ProcessTree::fork_roots() {
  std::map<pid_t, std::vector<int>> under_standin;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node &n = nodes_[i];
    if (n.parent >= 0)
      continue;
    if (n.standin) {
      under_standin[n.standin].push_back(static_cast<int>(i));
      continue;
    }
    pid_t live = clone_with_pid(n.p.record->pid);
    if (live == 0)
      run_inside(static_cast<int>(i));
    n.live = live;
  }
  for (const auto &[standin, roots] : under_standin) {
    pid_t live = clone_with_pid(standin);
    if (live == 0)
      run_standin(standin, roots);
    standins_.push_back(live); // its roots die with it (PDEATHSIG)
  }
}

void ProcessTree::run_standin(pid_t standin, const std::vector<int> &roots) {
  try {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != (in_namespace_ ? 1 : cpr_pid_))
      ::_exit(1); // cpr died before PDEATHSIG was set
    ::prctl(PR_SET_NAME, "cpr-standin");
    ::close(standin_write_);
    if (::setsid() < 0)
      sdk::throw_errno(
          fmt::format("cannot make stand-in {} a session leader", standin),
          errno);
    for (int i : roots)
      if (clone_with_pid(nodes_[i].p.record->pid) == 0)
        run_inside(i);
  } catch (const std::exception &e) {
    send_failure(err_write_, e);
    ::_exit(1);
  }
  ::close_range(0, static_cast<unsigned>(standin_read_ - 1), 0);
  ::close_range(static_cast<unsigned>(standin_read_ + 1), ~0U, 0);
  char byte;
  [[maybe_unused]] ssize_t r = ::read(standin_read_, &byte, 1);
  ::_exit(0);
}

// Before its children are forked, so that they inherit both.
void ProcessTree::lead_session_or_group(int index) const {
  const Node &n = nodes_[index];
  const ProcessRecord &p = *n.p.record;
  if (terminal_.takes_over(p))
    return;
  bool own_session = p.sid == p.pid || (n.parent < 0 && !n.standin && !n.stays);
  if (own_session) {
    if (::setsid() < 0)
      sdk::throw_errno(
          fmt::format("cannot make process {} a session leader", p.pid), errno);
    if (p.sid == p.pid && p.pty_of_the_set)
      take_controlling_terminal(index);
  } else if (p.pgid == p.pid) {
    if (::setpgid(0, 0) < 0)
      sdk::throw_errno(
          fmt::format("cannot make process {} a group leader", p.pid), errno);
  }
  if (p.pty_of_the_set && p.pgid == p.pid && p.tpgid == p.pid)
    take_foreground();
}

// The pty of the set, made in cpr before it forked, is parked here: the
// session's leader takes it before it forks the rest of its session.
void ProcessTree::take_controlling_terminal(int index) const {
  const Node &n = nodes_[index];
  const ProcessRecord &p = *n.p.record;
  for (const FdRef &ref : p.fds) {
    auto parked = opened_above_.find({n.p.manifest, ref.object});
    if (ref.fd != p.ctty_fd || parked == opened_above_.end())
      continue;
    if (::ioctl(parked->second, TIOCSCTTY, 0) != 0)
      sdk::throw_errno(fmt::format("cannot give process {} its controlling "
                                   "terminal back",
                                   p.pid),
                       errno);
    return;
  }
}

// A group that was in the foreground of the set's pty is again.
void ProcessTree::take_foreground() {
  int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0)
    return; // its session leader held no fd on it to take it back with
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  ::sigprocmask(SIG_BLOCK, &ttou, &old);
  int r = ::tcsetpgrp(tty, ::getpgrp());
  int err = errno;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  ::close(tty);
  if (r != 0)
    sdk::throw_errno("cannot put a process group in the foreground of its "
                     "terminal",
                     err);
}

void ProcessTree::let_standins_go() {
  if (standin_write_ >= 0)
    ::close(standin_write_);
  standin_write_ = -1;
  // cpr's children; in a new PID namespace the init forked and reaps them.
  for (pid_t s : standins_)
    while (::waitpid(s, nullptr, 0) < 0 && errno == EINTR)
      ;
  standins_.clear();
}

} // namespace cpr::engine
