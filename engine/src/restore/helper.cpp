#include "restore/helper.hpp"

#include "dispatch/fd_table.hpp"
#include "freeze/ptrace.hpp"
#include "process/deleted_dirs.hpp"
#include "process/proc.hpp"
#include "restore/inherited_fds.hpp"
#include "statefile/pages.hpp"
#include "trust/acting_as.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <sched.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

// struct clone_args of <linux/sched.h>, which clashes with <sched.h>.
struct CloneArgs {
  std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
      stack_size, tls, set_tid, set_tid_size, cgroup;
};

extern "C" long cpr_clone3_on_stack(void *args, unsigned long size,
                                    void (*fn)(void *), void *arg);

// A child that shares the caller's address space (a share group), with its
// saved PID, running fn(arg) on a stack of its own. It shares everything the
// caller's address space becomes, which the engine rebuilds once.
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

void restore_limits(const ProcessRecord &p) {
  static const char *names[] = {"CPU",      "FSIZE", "DATA",   "STACK",
                                "CORE",     "RSS",   "NPROC",  "NOFILE",
                                "MEMLOCK",  "AS",    "LOCKS",  "SIGPENDING",
                                "MSGQUEUE", "NICE",  "RTPRIO", "RTTIME"};
  for (size_t r = 0; r < p.limits.size() && r < RLIM_NLIMITS; ++r) {
    rlimit l{p.limits[r].cur, p.limits[r].max};
    if (::prlimit(0, static_cast<__rlimit_resource>(r), &l, nullptr) != 0)
      sdk::throw_errno(fmt::format("Resource temporarily unavailable: cannot "
                                   "restore RLIMIT_{} of process {}",
                                   names[r], p.pid),
                       errno);
  }
}

// A zombie is reborn only to die again the same way, for its parent to wait.
[[noreturn]] void die_as(int status) {
  if (WIFSIGNALED(status)) {
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    ::signal(WTERMSIG(status), SIG_DFL);
    ::syscall(SYS_kill, ::syscall(SYS_getpid), WTERMSIG(status));
  }
  ::_exit(WEXITSTATUS(status));
}

// `builds_table`: false for a process sharing the fd table its parent
// builds later.
void set_up_self(const PlannedProcess &pp, const Registry &registry,
                 const std::map<std::uint64_t, int> &opened_above,
                 sdk::RestoreContext &ctx, int &err, bool builds_table) {
  const ProcessRecord &p = *pp.record;
  allow_all_fds();
  int top = 3;
  for (const FdRef &ref : p.fds)
    top = std::max(top, ref.fd + 1);
  if (builds_table)
    err = ::fcntl(err, F_DUPFD_CLOEXEC, top);
  {
    ActingAs as(p.creds);
    if (builds_table)
      install_fds(p, *pp.manifest, registry, ctx, top, opened_above);
    if (pp.manifest->header.cdir == DirPolicy::replace)
      enter_working_directory(p);
  }
  ::umask(p.umask);
  ::personality(p.personality);
  ::prctl(PR_SET_NAME, p.comm.c_str());
  if (p.child_subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    sdk::throw_errno(
        fmt::format("cannot make process {} a subreaper again", p.pid), errno);
  restore_limits(p);
  if (!builds_table)
    return;
  ::close_range(static_cast<unsigned>(top), static_cast<unsigned>(err - 1), 0);
  ::close_range(static_cast<unsigned>(err + 1), ~0U, 0);
}

// glibc's raise() would use the TID cached for cpr: ask the kernel.
void stop_self() {
  ::syscall(SYS_tgkill, ::syscall(SYS_getpid), ::syscall(SYS_gettid), SIGSTOP);
}

// A failure a process of the tree sent up the error pipe: its code, its
// errno and its message, or `otherwise` if it sent none.
sdk::Error read_failure(int fd, const std::string &otherwise) {
  std::string msg;
  char buf[1024];
  ssize_t n;
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    msg.append(buf, static_cast<size_t>(n));
  int code = 0, err = 0, at = 0;
  if (msg.empty() ||
      std::sscanf(msg.c_str(), "%d %d\n%n", &code, &err, &at) != 2)
    return sdk::Error(msg.empty() ? otherwise : msg);
  sdk::Error e(static_cast<sdk::Code>(code),
               msg.substr(static_cast<size_t>(at)));
  return err ? sdk::Error(err, e.what()) : e;
}

} // namespace

void send_failure(int fd, const std::exception &e) {
  sdk::Error error = sdk::as_error(e);
  std::string msg = fmt::format("{} {}\n{}", static_cast<int>(error.code()),
                                error.system_errno(), error.what());
  [[maybe_unused]] ssize_t w = ::write(fd, msg.data(), msg.size());
}

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

ProcessTree::ProcessTree(std::vector<PlannedProcess> plan,
                         const Registry &registry, bool new_pid_namespace,
                         const JobTerminal &terminal)
    : registry_(registry), terminal_(terminal), cpr_pid_(::getpid()),
      in_namespace_(new_pid_namespace) {
  plan_tree(std::move(plan));
  plan_shared_tables();
  find_shared_files();
  plan_standins();
  int err[2], standin[2];
  if (::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(standin, O_CLOEXEC) != 0)
    sdk::throw_errno("cannot create a pipe", errno);
  err_read_ = err[0];
  err_write_ = err[1];
  standin_read_ = standin[0];
  standin_write_ = standin[1];
  if (terminal_.active() &&
      (job_terminal_fd_ =
           ::fcntl(terminal_.fd(), F_DUPFD_CLOEXEC, park_fds_from_)) < 0)
    sdk::throw_errno("cannot keep the terminal", errno);
  for (Node &n : nodes_) {
    int go[2];
    if (::pipe2(go, O_CLOEXEC) != 0)
      sdk::throw_errno("cannot create a pipe", errno);
    n.go_read = go[0];
    n.go_write = go[1];
  }
  try {
    open_before_fork();
    if (in_namespace_)
      start_namespace_init();
    else
      fork_roots();
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (!nodes_[i].p.record->zombie)
        start(static_cast<int>(i));
    close_opened_by_cpr(); // every process that needs them has them
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
      nodes_.push_back(Node{plan[i], -1, {}});
    }
  for (size_t k = 0; k < nodes_.size(); ++k)
    for (size_t i = 0; i < plan.size(); ++i)
      if (order_of[i] < 0 && plan[i].record->ppid == nodes_[k].p.record->pid) {
        order_of[i] = static_cast<int>(nodes_.size());
        nodes_.push_back(Node{plan[i], static_cast<int>(k), {}});
        nodes_[k].children.push_back(order_of[i]);
      }
}

void ProcessTree::plan_shared_tables() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node &n = nodes_[i];
    if (!n.p.record->shares_files)
      continue;
    if (n.parent < 0 || n.p.record->zombie || nodes_[n.parent].p.record->zombie)
      throw sdk::Error(sdk::Code::damaged_statefile,
                       fmt::format("damaged statefile {}: process {} shares "
                                   "the fd table of a parent not restored",
                                   n.p.statefile, n.p.record->pid));
    const Node &parent = nodes_[n.parent];
    n.table_builder =
        parent.table_builder >= 0 ? parent.table_builder : n.parent;
    ++nodes_[n.table_builder].sharers_waiting;
  }
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

void ProcessTree::run_inside(int index) {
  const Node &n = nodes_[index];
  const ProcessRecord &p = *n.p.record;
  int err = err_write_;
  try {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != expected_parent(index))
      ::_exit(1); // the parent died before PDEATHSIG was set
    if (p.zombie) {
      ::prctl(PR_SET_NAME, p.comm.c_str());
      die_as(p.exit_status);
    }
    char byte;
    if (::read(n.go_read, &byte, 1) != 1)
      ::_exit(1); // cpr went away before it could hold us
    lead_session_or_group(index);
    open_shared_files(index);
    for (int c : n.children) {
      const ProcessRecord &child = *nodes_[c].p.record;
      std::uint64_t flags = (child.shares_fs ? CLONE_FS : 0) |
                            (child.shares_files ? CLONE_FILES : 0);
      if (child.shares_mm_with == p.pid) {
        // It runs nothing but a read() of its go pipe until this process
        // has stopped: the two never run at once in their one memory.
        building_ = this;
        clone_vm_with_pid(child.pid, flags, &ProcessTree::run_shared_child,
                          reinterpret_cast<void *>(static_cast<intptr_t>(c)));
      } else if (clone_with_pid(child.pid, flags) == 0) {
        run_inside(c);
      }
    }
    // Its table's other users set up first, in the table as it is now.
    if (n.sharers_waiting > 0)
      stop_self();
    std::map<std::uint64_t, int> mine;
    for (const auto &[key, fd] : opened_above_)
      if (key.first == n.p.manifest)
        mine[key.second] = fd;
    NoPages no_pages;
    sdk::RestoreContext ctx = restore_context(n.p.statefile, no_pages);
    set_up_self(n.p, registry_, mine, ctx, err, n.table_builder < 0);
    if (n.table_builder < 0)
      ::close(err); // a shared table's builder closes what others left
    stop_self();
  } catch (const std::exception &e) {
    send_failure(err, e);
  }
  ::_exit(1);
}

// As the process sees its parent's PID, in its own PID namespace.
pid_t ProcessTree::expected_parent(int index) const {
  const Node &n = nodes_[index];
  if (n.parent >= 0)
    return nodes_[n.parent].p.record->pid;
  if (n.standin)
    return n.standin;
  return in_namespace_ ? 1 : cpr_pid_;
}

ProcessTree *ProcessTree::building_ = nullptr;

void ProcessTree::run_shared_child(void *index) {
  building_->run_inside(static_cast<int>(reinterpret_cast<intptr_t>(index)));
}

// Holds the process under ptrace, lets it set itself up (and fork its
// children), and waits for it to stop.
void ProcessTree::start(int index) {
  Node &n = nodes_[index];
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
    throw read_failure(
        err_read_,
        fmt::format("other fatal failure: process {} did not come up", pid));
  }
}

void ProcessTree::kill_all() {
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it)
    if (it->live > 0)
      ::kill(it->live, SIGKILL);
  for (pid_t s : standins_)
    ::kill(s, SIGKILL);
  if (init_ > 0)
    ::kill(init_, SIGKILL); // and with it, the whole namespace
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
  for (pid_t s : standins_)
    reap(s);
  if (init_ > 0)
    while (::waitpid(init_, &status, 0) < 0 && errno == EINTR)
      ;
}

// The namespace's init is cpr's child; it forks the roots of the tree (cpr
// cannot: a process that unshares its PID namespace may not start threads,
// and cpr uses threads), and reaps whatever is reparented to it later.
void ProcessTree::start_namespace_init() {
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
    run_namespace_init(talk[0], ack[1]);
  }
  init_ = static_cast<pid_t>(pid);
  ::close(talk[0]);
  ::close(ack[1]);
  talk_init_ = talk[1];
  init_ack_ = ack[0];
}

void ProcessTree::run_namespace_init(int talk, int ack) {
  try {
    // Until cpr says the restart succeeded, the namespace dies with cpr.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::prctl(PR_SET_NAME, "cpr-init");
    fork_roots();
  } catch (const std::exception &e) {
    send_failure(err_write_, e);
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

// The init or a stand-in forks a root while cpr goes on: wait for it.
pid_t ProcessTree::forked_root(const Node &root) {
  pid_t saved = root.p.record->pid;
  pid_t forker = in_namespace_ ? init_ : root.standin;
  for (int tries = 0;; ++tries) {
    try {
      if (!in_namespace_)
        return proc::child_with_inner_pid(forker, saved);
      if (root.standin)
        return proc::child_with_inner_pid(
            proc::child_with_inner_pid(init_, root.standin), saved);
      return proc::child_with_inner_pid(init_, saved);
    } catch (const sdk::Error &) {
      int status;
      bool forker_gone = ::waitpid(forker, &status, WNOHANG) == forker;
      if (forker_gone || tries > 10000) {
        if (in_namespace_)
          init_ = forker_gone ? 0 : init_;
        throw read_failure(err_read_, fmt::format("other fatal failure: "
                                                  "process {} did not come up",
                                                  saved));
      }
      ::usleep(1000);
    }
  }
}

sdk::RestoreContext ProcessTree::restore_context(const std::string &statefile,
                                                 sdk::PageSource &pages) const {
  sdk::RestoreContext ctx{
      .statefile = statefile, .pages = pages, .sessions = registry_.sessions()};
  if (job_terminal_fd_ >= 0) {
    ctx.options.set_number("files.job_terminal_fd", job_terminal_fd_);
    ctx.options.set_number("files.replaced_terminal",
                           static_cast<std::int64_t>(terminal_.saved_rdev()));
  }
  return ctx;
}

pid_t ProcessTree::live_pid(pid_t saved) const {
  for (const Node &n : nodes_)
    if (n.p.record->pid == saved && n.live > 0)
      return n.live;
  return saved;
}

bool ProcessTree::parent_restored(pid_t saved) const {
  for (const Node &n : nodes_)
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
  close_opened_by_cpr();
  if (!released_)
    kill_all();
  for (Node &n : nodes_) {
    ::close(n.go_read);
    ::close(n.go_write);
  }
  ::close(err_read_);
  ::close(err_write_);
  ::close(standin_read_);
  if (standin_write_ >= 0)
    ::close(standin_write_);
  if (job_terminal_fd_ >= 0)
    ::close(job_terminal_fd_);
  if (talk_init_ >= 0)
    ::close(talk_init_);
  if (init_ack_ >= 0)
    ::close(init_ack_);
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
  for (const Node &n : nodes_)
    if (!n.p.record->zombie)
      ptrace::detach(n.live, stop_signal_for(n.live, *n.p.record));
  released_ = true;
  let_standins_go();
  if (init_ > 0) { // the init outlives cpr from now on
    char byte;
    [[maybe_unused]] ssize_t w = ::write(talk_init_, "r", 1);
    [[maybe_unused]] ssize_t r = ::read(init_ack_, &byte, 1);
  }
}

} // namespace cpr::engine
