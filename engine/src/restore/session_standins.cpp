// Stand-ins for missing session and group leaders (see
// session_standins.hpp).
#include "restore/session_standins.hpp"

#include "process/proc.hpp"
#include "restore/clone_with_pid.hpp"

#include <cpr/sdk/error.hpp>

#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

// cpr's own session, if it has no controlling terminal; else 0.
pid_t session_without_terminal() {
  auto own = proc::stat(::getpid());
  return own && own->field(7) == 0 ? ::getsid(0) : 0;
}

} // namespace

SessionStandins::SessionStandins(const sdk::SessionTerminals &terminals,
                                 bool in_namespace, const FailurePipe &failures,
                                 HelperSetup &helper)
    : terminals_(terminals), in_namespace_(in_namespace), cpr_pid_(::getpid()),
      failures_(failures), helper_(helper) {}

SessionStandins::~SessionStandins() {
  ::close(read_);
  if (write_ >= 0)
    ::close(write_);
}

void SessionStandins::plan(std::vector<TreeNode> &nodes) const {
  std::set<pid_t> of_the_set;
  for (const TreeNode &n : nodes)
    for (const ThreadState &t : n.p.record->threads)
      of_the_set.insert(t.tid);
  for (const TreeNode &n : nodes)
    of_the_set.insert(n.p.record->pid);
  const pid_t quiet_session = session_without_terminal();
  for (TreeNode &n : nodes) {
    const ProcessRecord &p = *n.p.record;
    if (n.parent >= 0 || p.sid == p.pid || terminals_.join_caller.count(p.pid))
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

void SessionStandins::open_pipe() {
  int standin[2];
  if (::pipe2(standin, O_CLOEXEC) != 0)
    sdk::throw_errno("cannot create a pipe", errno);
  read_ = standin[0];
  write_ = standin[1];
}

void SessionStandins::fork(pid_t standin, const std::vector<int> &roots) {
  pid_t live = clone_with_pid(standin);
  if (live == 0)
    run(standin, roots);
  standins_.push_back(live); // its roots die with it (PDEATHSIG)
}

void SessionStandins::run(pid_t standin, const std::vector<int> &roots) {
  try {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != (in_namespace_ ? 1 : cpr_pid_))
      ::_exit(1); // cpr died before PDEATHSIG was set
    ::prctl(PR_SET_NAME, "cpr-standin");
    ::close(write_);
    if (::setsid() < 0)
      sdk::throw_errno(
          fmt::format("cannot make stand-in {} a session leader", standin),
          errno);
    for (int i : roots)
      helper_.fork(i);
  } catch (const std::exception &e) {
    send_failure(failures_.write_end(), e);
    ::_exit(1);
  }
  ::close_range(0, static_cast<unsigned>(read_ - 1), 0);
  ::close_range(static_cast<unsigned>(read_ + 1), ~0U, 0);
  char byte;
  [[maybe_unused]] ssize_t r = ::read(read_, &byte, 1);
  ::_exit(0);
}

void SessionStandins::let_go() {
  if (write_ >= 0)
    ::close(write_);
  write_ = -1;
  // cpr's children; in a new PID namespace the init forked and reaps them.
  for (pid_t s : standins_)
    while (::waitpid(s, nullptr, 0) < 0 && errno == EINTR)
      ;
  standins_.clear();
}

void SessionStandins::kill() const {
  for (pid_t s : standins_)
    ::kill(s, SIGKILL);
}

void SessionStandins::reap() const {
  int status;
  for (pid_t s : standins_)
    while (::waitpid(s, &status, __WALL) < 0 && errno == EINTR)
      ;
}

} // namespace cpr::engine
