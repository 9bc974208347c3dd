// The restart's process tree: planned, forked in tree order, held until
// every process has stopped, then released or killed (see process_tree.hpp).
#include "restore/process_tree.hpp"

#include "freeze/ptrace.hpp"
#include "process/proc.hpp"

#include <cpr/sdk/error.hpp>

#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cpr::engine {

ProcessTree::ProcessTree(std::vector<PlannedProcess> plan,
                         const Registry &registry, bool new_pid_namespace,
                         const sdk::SessionTerminals &terminals)
    : in_namespace_(new_pid_namespace), files_(nodes_, registry),
      helper_(nodes_, files_, registry, terminals, failures_, in_namespace_),
      standins_(terminals, in_namespace_, failures_, helper_),
      init_(failures_) {
  plan_tree(std::move(plan));
  plan_shared_tables();
  files_.find_shared_files();
  standins_.plan(nodes_);
  failures_.open();
  standins_.open_pipe();
  open_go_pipes();
  try {
    files_.open_before_fork();
    if (in_namespace_)
      init_.start([this] { fork_roots(); });
    else
      fork_roots();
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (!nodes_[i].p.record->zombie)
        start(static_cast<int>(i));
    files_.close_opened_by_cpr(); // every process that needs them has them
  } catch (...) {
    kill_all();
    throw;
  }
}

void ProcessTree::plan_tree(std::vector<PlannedProcess> plan) {
  std::map<pid_t, size_t> index;
  for (size_t i = 0; i < plan.size(); ++i)
    index[plan[i].record->pid] = i;
  // Breadth first from the roots (parents outside the plan).
  std::vector<int> order_of(plan.size(), -1);
  for (size_t i = 0; i < plan.size(); ++i)
    if (!index.count(plan[i].record->ppid)) {
      order_of[i] = static_cast<int>(nodes_.size());
      nodes_.push_back(TreeNode{plan[i], -1, {}});
    }
  for (size_t k = 0; k < nodes_.size(); ++k)
    for (size_t i = 0; i < plan.size(); ++i)
      if (order_of[i] < 0 && plan[i].record->ppid == nodes_[k].p.record->pid) {
        order_of[i] = static_cast<int>(nodes_.size());
        nodes_.push_back(TreeNode{plan[i], static_cast<int>(k), {}});
        nodes_[k].children.push_back(order_of[i]);
      }
}

void ProcessTree::plan_shared_tables() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    TreeNode &n = nodes_[i];
    if (!n.p.record->shares_files)
      continue;
    if (n.parent < 0 || n.p.record->zombie || nodes_[n.parent].p.record->zombie)
      throw sdk::Error(sdk::Code::damaged_statefile,
                       fmt::format("damaged statefile {}: process {} shares "
                                   "the fd table of a parent not restored",
                                   n.p.statefile, n.p.record->pid));
    const TreeNode &parent = nodes_[n.parent];
    n.table_builder =
        parent.table_builder >= 0 ? parent.table_builder : n.parent;
    ++nodes_[n.table_builder].sharers_waiting;
  }
}

void ProcessTree::open_go_pipes() {
  for (TreeNode &n : nodes_) {
    int go[2];
    if (::pipe2(go, O_CLOEXEC) != 0)
      sdk::throw_errno("cannot create a pipe", errno);
    n.go_read = go[0];
    n.go_write = go[1];
  }
}

void ProcessTree::fork_roots() {
  std::map<pid_t, std::vector<int>> under_standin;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    TreeNode &n = nodes_[i];
    if (n.parent >= 0)
      continue;
    if (n.standin) {
      under_standin[n.standin].push_back(static_cast<int>(i));
      continue;
    }
    n.live = helper_.fork(static_cast<int>(i));
  }
  for (const auto &[standin, roots] : under_standin)
    standins_.fork(standin, roots);
}

// Once the last process sharing a builder's table has stopped, the builder
// (stopped before its own set-up) goes on to build it.
void ProcessTree::let_builder_go_on(int sharer) {
  int b = nodes_[sharer].table_builder;
  if (b < 0 || --nodes_[b].sharers_waiting > 0)
    return;
  ptrace::cont(nodes_[b].live, 0);
  wait_until_stopped(nodes_[b].live);
}

// Holds the process under ptrace, lets it set itself up (and fork its
// children), and waits for it to stop.
void ProcessTree::start(int index) {
  TreeNode &n = nodes_[index];
  if (in_namespace_)
    n.live = n.parent >= 0 ? proc::child_with_inner_pid(nodes_[n.parent].live,
                                                        n.p.record->pid)
                           : forked_root(n);
  else if (n.parent >= 0)
    n.live = n.p.record->pid;
  else if (n.standin)
    n.live = forked_root(n);
  pid_t pid = n.live;
  // Should cpr die before the release, the kernel kills it (PDEATHSIG does
  // not last: a change of credentials clears it).
  ptrace::seize(pid, PTRACE_O_EXITKILL);
  [[maybe_unused]] ssize_t w = ::write(n.go_write, "g", 1);
  wait_until_stopped(pid);
  let_builder_go_on(index);
}

// Until it stops itself, or fails with a message.
void ProcessTree::wait_until_stopped(pid_t pid) {
  for (;;) {
    int status = 0;
    while (::waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
      ;
    if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP)
      return;
    if (WIFSTOPPED(status)) { // e.g. SIGCHLD of a zombie child: not ours
      ptrace::cont(pid, 0);
      continue;
    }
    throw failures_.read(
        fmt::format("other fatal failure: process {} did not come up", pid));
  }
}

void ProcessTree::kill_all() {
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it)
    if (it->live > 0)
      ::kill(it->live, SIGKILL);
  standins_.kill();
  init_.kill(); // and with it, the whole namespace
  int status;
  auto reap = [&](pid_t pid) {
    while (::waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
      ;
  };
  // A traced thread, or a traced process cpr did not fork, is reaped by
  // cpr, its tracer, before its parent can (a namespace's init waits for
  // it); a leader waits until its other threads are.
  for (pid_t tid : extra_threads_)
    reap(tid);
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it)
    if (it->live > 0)
      reap(it->live);
  standins_.reap();
  init_.reap();
}

// The init or a stand-in forks a root while cpr goes on: wait for it.
pid_t ProcessTree::forked_root(const TreeNode &root) {
  pid_t saved = root.p.record->pid;
  pid_t forker = in_namespace_ ? init_.pid() : root.standin;
  for (int tries = 0;; ++tries) {
    try {
      if (!in_namespace_)
        return proc::child_with_inner_pid(forker, saved);
      if (root.standin)
        return proc::child_with_inner_pid(
            proc::child_with_inner_pid(init_.pid(), root.standin), saved);
      return proc::child_with_inner_pid(init_.pid(), saved);
    } catch (const sdk::Error &) {
      int status;
      bool forker_gone = ::waitpid(forker, &status, WNOHANG) == forker;
      if (forker_gone || tries > 10000) {
        if (in_namespace_ && forker_gone)
          init_.reaped();
        throw failures_.read(fmt::format(
            "other fatal failure: process {} did not come up", saved));
      }
      ::usleep(1000);
    }
  }
}

pid_t ProcessTree::live_pid(pid_t saved) const {
  for (const TreeNode &n : nodes_)
    if (n.p.record->pid == saved && n.live > 0)
      return n.live;
  return saved;
}

bool ProcessTree::parent_restored(pid_t saved) const {
  for (const TreeNode &n : nodes_)
    if (n.p.record->pid == saved)
      return n.parent >= 0;
  return false;
}

pid_t ProcessTree::live_tid(pid_t saved_pid, pid_t saved_tid) const {
  pid_t pid = live_pid(saved_pid);
  if (!in_namespace_ || saved_pid == saved_tid)
    return saved_pid == saved_tid ? pid : saved_tid;
  return proc::task_with_inner_tid(pid, saved_tid);
}

ProcessTree::~ProcessTree() {
  files_.close_opened_by_cpr();
  if (!released_)
    kill_all();
  for (TreeNode &n : nodes_) {
    ::close(n.go_read);
    ::close(n.go_write);
  }
}

namespace {
// The signal that stopped it, so that its parent's waitpid says so. The
// kernel drops SIGTSTP, SIGTTIN and SIGTTOU in an orphaned process group:
// unless its parent is in the session, in another group, SIGSTOP.
int stop_signal_for(pid_t live, const ProcessRecord &p) {
  if (!p.stopped)
    return 0;
  if (p.stop_signal != SIGTSTP && p.stop_signal != SIGTTIN &&
      p.stop_signal != SIGTTOU)
    return SIGSTOP;
  auto own = proc::stat(live);
  auto parent =
      own ? proc::stat(static_cast<pid_t>(own->field(4))) : std::nullopt;
  bool held = parent && parent->field(6) == own->field(6) &&
              parent->field(5) != own->field(5);
  return held ? p.stop_signal : SIGSTOP;
}
} // namespace

void ProcessTree::release() {
  for (pid_t tid : extra_threads_)
    ptrace::detach(tid, 0);
  for (const TreeNode &n : nodes_)
    if (!n.p.record->zombie)
      ptrace::detach(n.live, stop_signal_for(n.live, *n.p.record));
  released_ = true;
  standins_.let_go();
  init_.let_outlive_cpr();
}

} // namespace cpr::engine
