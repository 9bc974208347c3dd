#include "helper.hpp"

#include "fd_table.hpp"
#include "pages.hpp"
#include "ptrace.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/personality.h>
#include <sys/prctl.h>
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

pid_t clone_with_pid(pid_t pid) {
  CloneArgs args{};
  args.exit_signal = SIGCHLD;
  pid_t want = pid;
  args.set_tid = reinterpret_cast<std::uint64_t>(&want);
  args.set_tid_size = 1;
  long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r < 0) {
    if (errno == EEXIST)
      throw sdk::Error(fmt::format("unavailable PID: {} is in use", pid));
    if (errno == EPERM)
      throw sdk::Error(fmt::format("Operation not permitted: restoring PID {} "
                                   "needs CAP_CHECKPOINT_RESTORE",
                                   pid));
    sdk::throw_errno(fmt::format("cannot create process {}", pid), errno);
  }
  return static_cast<pid_t>(r);
}

void restore_limits(const ProcessRecord &p) {
  static const char *names[] = {"CPU",    "FSIZE",   "DATA",   "STACK",
                                "CORE",   "RSS",     "NPROC",  "NOFILE",
                                "MEMLOCK", "AS",     "LOCKS",  "SIGPENDING",
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

void join_session(const ProcessRecord &p) {
  if (p.sid == p.pid) {
    if (::setsid() < 0)
      sdk::throw_errno(fmt::format("cannot make process {} a session leader",
                                   p.pid),
                       errno);
  } else if (p.pgid == p.pid) {
    if (::setpgid(0, 0) < 0)
      sdk::throw_errno(fmt::format("cannot make process {} a group leader",
                                   p.pid),
                       errno);
  }
}

// Runs in the new process. Any failure is written to `err` and ends it.
[[noreturn]] void set_up_inside(const ProcessRecord &p,
                                const Manifest &manifest,
                                const Registry &registry,
                                const std::string &statefile, int go, int err) {
  try {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    char byte;
    if (::read(go, &byte, 1) != 1)
      ::_exit(1); // cpr went away before it could hold us
    ::close(go);
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
    int top = 3;
    for (const FdRef &ref : p.fds)
      top = std::max(top, ref.fd + 1);
    int high_err = ::fcntl(err, F_DUPFD_CLOEXEC, top);
    ::close(err);
    err = high_err;
    PageReader no_pages(statefile);
    sdk::RestoreContext ctx{statefile, no_pages};
    install_fds(p, manifest, registry, ctx, top);
    if (::chdir(p.cwd.c_str()) != 0)
      sdk::throw_errno(fmt::format("component unavailable: the working "
                                   "directory {} of process {}",
                                   p.cwd, p.pid),
                       errno);
    ::umask(p.umask);
    ::personality(p.personality);
    join_session(p);
    ::prctl(PR_SET_NAME, p.comm.c_str());
    restore_limits(p);
    ::close_range(static_cast<unsigned>(top), static_cast<unsigned>(err - 1),
                  0);
    ::close_range(static_cast<unsigned>(err + 1), ~0U, 0);
    ::close(err);
    // glibc's raise() would use the TID cached for cpr: ask the kernel.
    ::syscall(SYS_tgkill, ::syscall(SYS_getpid), ::syscall(SYS_gettid),
              SIGSTOP);
  } catch (const std::exception &e) {
    std::string msg = e.what();
    [[maybe_unused]] ssize_t n = ::write(err, msg.data(), msg.size());
  }
  ::_exit(1);
}

std::string read_message(int fd) {
  std::string msg;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    msg.append(buf, static_cast<size_t>(n));
  return msg;
}

} // namespace

Helper::Helper(const ProcessRecord &p, const Manifest &manifest,
               const Registry &registry, const std::string &statefile) {
  int go[2], err[2];
  if (::pipe2(go, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    sdk::throw_errno("cannot create a pipe", errno);
  pid_t pid = clone_with_pid(p.pid);
  if (pid == 0) {
    ::close(go[1]);
    ::close(err[0]);
    set_up_inside(p, manifest, registry, statefile, go[0], err[1]);
  }
  pid_ = pid;
  ::close(go[0]);
  ::close(err[1]);
  ptrace::seize(pid);
  [[maybe_unused]] ssize_t w = ::write(go[1], "g", 1);
  ::close(go[1]);
  int status = 0;
  while (::waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
    ;
  if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP) {
    ::close(err[0]);
    return;
  }
  std::string msg = read_message(err[0]);
  ::close(err[0]);
  if (WIFEXITED(status) || WIFSIGNALED(status))
    released_ = true; // already gone
  throw sdk::Error(msg.empty() ? fmt::format("other fatal failure: process {} "
                                             "did not come up",
                                             p.pid)
                               : msg);
}

Helper::~Helper() {
  if (released_ || pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status;
  while (::waitpid(pid_, &status, __WALL) < 0 && errno == EINTR)
    ;
}

void Helper::release() {
  ptrace::detach(pid_, 0);
  released_ = true;
}

} // namespace cpr::engine
