// What runs inside a helper until it stops (see helper_setup.hpp).
#include "restore/helper_setup.hpp"

#include "dispatch/fd_table.hpp"
#include "process/deleted_dirs.hpp"
#include "restore/clone_with_pid.hpp"
#include "restore/fd_limit.hpp"
#include "restore/no_pages.hpp"
#include "trust/acting_as.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

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

// A group that was in the foreground of the set's pty is again.
void take_foreground() {
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

} // namespace

HelperSetup::HelperSetup(const std::vector<TreeNode> &nodes,
                         InheritedFiles &files, const Registry &registry,
                         const sdk::SessionTerminals &terminals,
                         const FailurePipe &failures, bool in_namespace)
    : nodes_(nodes), files_(files), registry_(registry), terminals_(terminals),
      failures_(failures), in_namespace_(in_namespace), cpr_pid_(::getpid()) {}

pid_t HelperSetup::fork(int index, std::uint64_t flags) {
  pid_t live = clone_with_pid(nodes_[index].p.record->pid, flags);
  if (live == 0)
    run_inside(index);
  return live;
}

void HelperSetup::run_inside(int index) {
  const TreeNode &n = nodes_[index];
  const ProcessRecord &p = *n.p.record;
  int err = failures_.write_end();
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
    files_.open_shared_files(index);
    fork_children(index);
    // Its table's other users set up first, in the table as it is now.
    if (n.sharers_waiting > 0)
      stop_self();
    std::map<std::uint64_t, int> mine = files_.opened_for(n.p.manifest);
    NoPages no_pages;
    sdk::RestoreContext ctx = files_.restore_context(n.p.statefile, no_pages);
    set_up_self(n.p, registry_, mine, ctx, err, n.table_builder < 0);
    if (n.table_builder < 0)
      ::close(err); // a shared table's builder closes what others left
    stop_self();
  } catch (const std::exception &e) {
    send_failure(err, e);
  }
  ::_exit(1);
}

void HelperSetup::fork_children(int index) {
  const ProcessRecord &p = *nodes_[index].p.record;
  for (int c : nodes_[index].children) {
    const ProcessRecord &child = *nodes_[c].p.record;
    std::uint64_t flags = (child.shares_fs ? CLONE_FS : 0) |
                          (child.shares_files ? CLONE_FILES : 0);
    if (child.shares_mm_with == p.pid) {
      // It runs nothing but a read() of its go pipe until this process
      // has stopped: the two never run at once in their one memory.
      building_ = this;
      clone_vm_with_pid(child.pid, flags, &HelperSetup::run_shared_child,
                        reinterpret_cast<void *>(static_cast<intptr_t>(c)));
    } else {
      fork(c, flags);
    }
  }
}

// As the process sees its parent's PID, in its own PID namespace.
pid_t HelperSetup::expected_parent(int index) const {
  const TreeNode &n = nodes_[index];
  if (n.parent >= 0)
    return nodes_[n.parent].p.record->pid;
  if (n.standin)
    return n.standin;
  return in_namespace_ ? 1 : cpr_pid_;
}

HelperSetup *HelperSetup::building_ = nullptr;

void HelperSetup::run_shared_child(void *index) {
  building_->run_inside(static_cast<int>(reinterpret_cast<intptr_t>(index)));
}

// Before its children are forked, so that they inherit both.
void HelperSetup::lead_session_or_group(int index) const {
  const TreeNode &n = nodes_[index];
  const ProcessRecord &p = *n.p.record;
  if (terminals_.join_caller.count(p.pid))
    return;
  bool own_session = p.sid == p.pid || (n.parent < 0 && !n.standin && !n.stays);
  if (own_session) {
    if (::setsid() < 0)
      sdk::throw_errno(
          fmt::format("cannot make process {} a session leader", p.pid), errno);
    if (p.sid == p.pid)
      take_controlling_terminal(index);
  } else if (p.pgid == p.pid) {
    if (::setpgid(0, 0) < 0)
      sdk::throw_errno(
          fmt::format("cannot make process {} a group leader", p.pid), errno);
  }
  if (p.pgid == p.pid && terminals_.foreground.count(p.pid))
    take_foreground();
}

// A terminal made in cpr before it forked (a pty of the set) is parked
// here: the session's leader takes it before it forks the rest of its
// session.
void HelperSetup::take_controlling_terminal(int index) const {
  const TreeNode &n = nodes_[index];
  const ProcessRecord &p = *n.p.record;
  auto ctty = terminals_.controlling_fd.find(p.pid);
  if (ctty == terminals_.controlling_fd.end())
    return;
  for (const FdRef &ref : p.fds) {
    int parked = files_.parked(n.p.manifest, ref.object);
    if (ref.fd != ctty->second || parked < 0)
      continue;
    if (::ioctl(parked, TIOCSCTTY, 0) != 0)
      sdk::throw_errno(fmt::format("cannot give process {} its controlling "
                                   "terminal back",
                                   p.pid),
                       errno);
    return;
  }
}

} // namespace cpr::engine
