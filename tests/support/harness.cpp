// Processes: spawning targets, waiting for them, looking at them in /proc.
#include "support/harness.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/format.h>

namespace cpr_test {
namespace {

// Before any test runs; a test may call become_subreaper() to check it.
[[maybe_unused]] const bool subreaper_at_startup =
    prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;

std::string errno_text() { return std::strerror(errno); }

struct ProcStat {
  char state;
  pid_t ppid;
};

// A /proc file's text, "" if the process is gone (reading the file of a
// process that ends meanwhile fails with ESRCH, which libstdc++'s streams
// throw).
std::string proc_text(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return "";
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return text;
}

// The fields of /proc/PID/stat that follow the command name.
std::optional<ProcStat> read_stat(pid_t pid) {
  std::string stat = proc_text(fmt::format("/proc/{}/stat", pid));
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 4 >= stat.size())
    return std::nullopt;
  const char *first = stat.data() + close + 4; // past ") S "
  pid_t ppid = 0;
  auto [end, ec] = std::from_chars(first, stat.data() + stat.size(), ppid);
  if (ec != std::errc())
    return std::nullopt;
  return ProcStat{stat[close + 2], ppid};
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    pid_t pid = 0;
    auto [end, err] =
        std::from_chars(name.data(), name.data() + name.size(), pid);
    if (err == std::errc() && end == name.data() + name.size())
      pids.push_back(pid);
  }
  return pids;
}

void kill_with_group(pid_t pid) {
  if (getpgid(pid) == pid)
    kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
}

void reap_finished_children() {
  int status = 0;
  while (waitpid(-1, &status, WNOHANG) > 0) {
  }
}

// Runs in the forked child: only plain system calls until exec.
[[noreturn]] void child_fail(const char *what) {
  const char *reason = std::strerror(errno);
  dprintf(STDERR_FILENO, "cpr-e2e spawn: %s: %s\n", what, reason);
  _exit(127);
}

void child_redirect(int target_fd, const fs::path &path) {
  const char *name = path.empty() ? "/dev/null" : path.c_str();
  int flags = path.empty() ? O_WRONLY : O_WRONLY | O_CREAT | O_TRUNC;
  int fd = open(name, flags, 0644);
  if (fd < 0 || dup2(fd, target_fd) < 0)
    child_fail(name);
  if (fd != target_fd)
    close(fd);
}

void child_drop_to(const Credentials &who) {
  if (setgroups(0, nullptr) < 0 || setgid(who.gid) < 0 || setuid(who.uid) < 0)
    child_fail("dropping credentials");
}

[[noreturn]] void child_exec(const SpawnOptions &opts, int pipe_write,
                             const std::vector<char *> &argv) {
  if (opts.new_session) {
    if (setsid() < 0)
      child_fail("setsid");
  } else {
    setpgid(0, 0);
  }
  if (opts.as)
    child_drop_to(*opts.as);
  if (!opts.cwd.empty() && chdir(opts.cwd.c_str()) < 0)
    child_fail("chdir");
  int in = open("/dev/null", O_RDONLY);
  if (in < 0 || dup2(in, STDIN_FILENO) < 0)
    child_fail("stdin");
  if (pipe_write >= 0) {
    if (dup2(pipe_write, STDOUT_FILENO) < 0)
      child_fail("stdout pipe");
  } else {
    child_redirect(STDOUT_FILENO, opts.stdout_path);
  }
  child_redirect(STDERR_FILENO, opts.stderr_path);
  close_range(3, ~0U, 0);
  execv(argv[0], argv.data());
  child_fail(argv[0]);
}

std::vector<char *> c_argv(const std::vector<std::string> &argv) {
  std::vector<char *> out;
  for (const auto &arg : argv)
    out.push_back(const_cast<char *>(arg.c_str()));
  out.push_back(nullptr);
  return out;
}

} // namespace

Fd &Fd::operator=(Fd &&other) noexcept {
  if (this != &other) {
    Fd old(fd_);
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0)
    close(fd_);
}

int Fd::release() { return std::exchange(fd_, -1); }

void become_subreaper() {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
    throw HarnessError("PR_SET_CHILD_SUBREAPER: " + errno_text());
}

std::string ExitStatus::describe() const {
  if (exited)
    return fmt::format("exited with status {}", code);
  return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
}

ExitStatus decode_wait_status(int status) {
  if (WIFEXITED(status))
    return {true, WEXITSTATUS(status), 0};
  return {false, -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0};
}

ExitStatus wait_exit(pid_t pid, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid)
      return decode_wait_status(status);
    if (got < 0 && errno != EINTR)
      throw HarnessError(fmt::format("waitpid({}): {}", pid, errno_text()));
    if (std::chrono::steady_clock::now() >= deadline) {
      kill_with_group(pid);
      waitpid(pid, &status, 0);
      throw HarnessError(fmt::format("pid {} still running after {} ms: killed",
                                     pid, timeout.count()));
    }
    sleep_for(5ms);
  }
}

bool has_exited(pid_t pid) {
  siginfo_t info{};
  if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
    throw HarnessError(fmt::format("waitid({}): {}", pid, errno_text()));
  return info.si_pid == pid;
}

bool process_exists(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

bool is_child_of_this(pid_t pid) {
  auto stat = read_stat(pid);
  return stat && stat->ppid == getpid();
}

std::vector<pid_t> children_of_this() {
  std::vector<pid_t> children;
  for (pid_t pid : all_pids()) {
    if (is_child_of_this(pid))
      children.push_back(pid);
  }
  return children;
}

std::vector<pid_t> live_children_of_this() {
  std::vector<pid_t> children;
  for (pid_t pid : children_of_this()) {
    auto stat = read_stat(pid);
    if (stat && stat->state != 'Z')
      children.push_back(pid);
  }
  return children;
}

void kill_and_reap_children() {
  for (int round = 0; round < 500; ++round) {
    reap_finished_children();
    auto children = children_of_this();
    if (children.empty())
      return;
    for (pid_t child : children)
      kill_with_group(child);
    sleep_for(10ms);
  }
}

pid_t unused_pid() {
  // The PID of a child just reaped: PIDs are handed out in increasing order,
  // so it is not given again before the counter wraps around pid_max, which
  // takes tens of thousands of forks. (The highest free PID, taken before,
  // is the next one handed out when the counter is near pid_max: another
  // test's process, or cpr itself, could get it.)
  pid_t pid = ::fork();
  if (pid < 0)
    throw HarnessError("fork: " + errno_text());
  if (pid == 0)
    ::_exit(0);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return pid;
}

std::string proc_status_field(pid_t pid, std::string_view field) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  const std::string prefix = std::string(field) + ":";
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) {
      auto value = line.find_first_not_of(" \t", prefix.size());
      return value == std::string::npos ? "" : line.substr(value);
    }
  }
  throw HarnessError(fmt::format("no {} in /proc/{}/status", field, pid));
}

std::string process_name(pid_t pid) {
  std::string name = read_file(fmt::format("/proc/{}/comm", pid));
  if (!name.empty() && name.back() == '\n')
    name.pop_back();
  return name;
}

fs::path process_cwd(pid_t pid) {
  return fs::read_symlink(fmt::format("/proc/{}/cwd", pid));
}

Spawned spawn(const std::vector<std::string> &argv, const SpawnOptions &opts) {
  if (argv.empty())
    throw HarnessError("spawn: empty argv");
  auto args = c_argv(argv);
  int pipe_fds[2] = {-1, -1};
  if (opts.stdout_to_pipe && pipe2(pipe_fds, O_CLOEXEC) < 0)
    throw HarnessError("pipe2: " + errno_text());
  Fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  pid_t pid = fork();
  if (pid < 0)
    throw HarnessError("fork: " + errno_text());
  if (pid == 0)
    child_exec(opts, write_end.get(), args);
  if (!opts.new_session) {
    setpgid(pid, pid); // as a shell does, so the group exists before exec
  } else if (!wait_until([pid] { return getsid(pid) == pid; }, 5s)) {
    // setpgid here would make setsid fail in the child: wait for it instead.
    throw HarnessError(fmt::format("spawn: {} did not start a session", pid));
  }
  return {pid, std::move(read_end)};
}

std::optional<ProcessStat> process_stat(pid_t pid) {
  std::string stat = proc_text(fmt::format("/proc/{}/stat", pid));
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size())
    return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  ProcessStat out;
  long tty = 0;
  if (!(fields >> out.state >> out.ppid >> out.pgid >> out.sid >> tty))
    return std::nullopt;
  out.tty = static_cast<dev_t>(tty);
  return out;
}

pid_t wait_for_descendant(pid_t root, const std::string &name,
                          milliseconds timeout) {
  pid_t found = -1;
  wait_until(
      [&] {
        for (pid_t pid : descendants_of(root))
          if (process_name(pid) == name) {
            found = pid;
            return true;
          }
        return false;
      },
      timeout);
  return found;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for (pid_t pid : all_pids()) {
    auto stat = process_stat(pid);
    if (stat && stat->ppid == parent)
      children.push_back(pid);
  }
  std::sort(children.begin(), children.end());
  return children;
}

std::vector<pid_t> descendants_of(pid_t root) {
  std::vector<std::pair<pid_t, pid_t>> links; // {pid, ppid}
  for (pid_t pid : all_pids()) {
    if (auto stat = process_stat(pid))
      links.emplace_back(pid, stat->ppid);
  }
  std::vector<pid_t> found;
  std::vector<pid_t> parents{root};
  while (!parents.empty()) {
    pid_t parent = parents.back();
    parents.pop_back();
    for (auto [pid, ppid] : links) {
      if (ppid == parent && pid != root) {
        found.push_back(pid);
        parents.push_back(pid);
      }
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<pid_t> thread_ids(pid_t pid) {
  std::vector<pid_t> tids;
  std::error_code ec;
  for (const auto &entry :
       fs::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    const std::string name = entry.path().filename();
    pid_t tid = 0;
    auto [end, err] =
        std::from_chars(name.data(), name.data() + name.size(), tid);
    if (err == std::errc() && end == name.data() + name.size())
      tids.push_back(tid);
  }
  std::sort(tids.begin(), tids.end());
  return tids;
}

std::vector<pid_t> namespace_pids(pid_t pid) {
  std::istringstream fields(proc_status_field(pid, "NSpid"));
  std::vector<pid_t> pids;
  for (pid_t one = 0; fields >> one;)
    pids.push_back(one);
  return pids;
}

std::string pid_namespace(pid_t pid) {
  return fs::read_symlink(fmt::format("/proc/{}/ns/pid", pid)).string();
}

bool wait_until(const std::function<bool()> &condition, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    sleep_for(10ms);
  }
}

} // namespace cpr_test
