// Process, file and command helpers for the end-to-end tests. Nothing here
// knows about Catch2; failures of the harness itself throw HarnessError.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cpr_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

struct HarnessError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Credentials {
  uid_t uid;
  gid_t gid;
};
inline constexpr Credentials nobody{65534, 65534};

// CPR_TEST_TARGETS_AS=UID[:GID]: every target the tests start runs as that
// user, as when root checkpoints a user's processes; TempDirs are theirs and
// what the tests make in them is open to them (umask 0).
std::optional<Credentials> targets_owner();

// An owned file descriptor.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd &&other) noexcept : fd_(other.release()) {}
  Fd &operator=(Fd &&other) noexcept;
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release();

private:
  int fd_ = -1;
};

// ---- processes -------------------------------------------------------------

// Makes this process a child subreaper: what cpr restarts is reparented here
// when cpr exits, so tests can waitpid() for it. Done at static init too.
void become_subreaper();

struct ExitStatus {
  bool exited = false; // false: killed by `signal`
  int code = -1;
  int signal = 0;
  bool success() const { return exited && code == 0; }
  bool failed() const { return exited && code != 0; }
  bool killed_by(int sig) const { return !exited && signal == sig; }
  std::string describe() const;
};

ExitStatus decode_wait_status(int status);

// Reaps `pid`, a child of this process. On timeout kills it (and its process
// group), reaps it and throws HarnessError.
ExitStatus wait_exit(pid_t pid, milliseconds timeout = 30s);

// True once `pid`, a child of this process, has exited; it is not reaped.
bool has_exited(pid_t pid);
// True while `pid` exists, zombies included.
bool process_exists(pid_t pid);
// True if `pid` exists and its parent is this process.
bool is_child_of_this(pid_t pid);
std::vector<pid_t> children_of_this(); // zombies included
std::vector<pid_t> live_children_of_this();
// Kills every child of this process (and the process group it leads) and
// reaps them, until none is left.
void kill_and_reap_children();
// A PID no process or thread uses, nor will soon: a child of this, reaped.
pid_t unused_pid();
// /proc/PID/status field without its name, e.g. "Uid" -> "0\t0\t0\t0".
std::string proc_status_field(pid_t pid, std::string_view field);
std::string process_name(pid_t pid); // /proc/PID/comm without the newline
fs::path process_cwd(pid_t pid);

// Fields of /proc/PID/stat; nullopt once the process is gone (reaped).
struct ProcessStat {
  char state = '?'; // R, S, D, T, t, Z, ...
  pid_t ppid = -1;
  pid_t pgid = -1;
  pid_t sid = -1;
  dev_t tty = 0; // the controlling terminal's device, 0 if none
};
std::optional<ProcessStat> process_stat(pid_t pid);
// Processes whose parent is `parent`, zombies included, in PID order.
std::vector<pid_t> children_of(pid_t parent);
// Children, grandchildren... of `root` (not root), zombies included.
std::vector<pid_t> descendants_of(pid_t root);
// The first descendant of `root` (as descendants_of orders them) running
// `name` (/proc/PID/comm), once there is one (waiting up to `timeout`), or
// -1.
pid_t wait_for_descendant(pid_t root, const std::string &name,
                          milliseconds timeout = 10s);
// The TIDs of /proc/PID/task in order; empty once the process is gone.
std::vector<pid_t> thread_ids(pid_t pid);
// /proc/PID/status NSpid: its PID in each PID namespace, outermost first.
std::vector<pid_t> namespace_pids(pid_t pid);
// The /proc/PID/ns/pid link, e.g. "pid:[4026531836]".
std::string pid_namespace(pid_t pid);
// Polls `condition` every 10 ms until it holds (true) or `timeout` passes.
bool wait_until(const std::function<bool()> &condition, milliseconds timeout);

struct SpawnOptions {
  fs::path stdout_path;        // created/truncated; empty: /dev/null
  fs::path stderr_path;        // created/truncated; empty: /dev/null
  bool stdout_to_pipe = false; // overrides stdout_path
  std::optional<Credentials> as = std::nullopt;
  fs::path cwd; // empty: the test's cwd
  // setsid() instead of setpgid(): the child leads a new session and process
  // group; spawn returns once it does.
  bool new_session = false;
};

struct Spawned {
  pid_t pid = -1;
  Fd stdout_pipe; // read end when SpawnOptions::stdout_to_pipe
};

// fork + exec like a shell job: own process group, stdin /dev/null, no fd
// above 2, optional credentials (dropped before the output files are made).
Spawned spawn(const std::vector<std::string> &argv, const SpawnOptions &opts);

// ---- commands --------------------------------------------------------------

struct CommandResult {
  ExitStatus status;
  std::string out;
  std::string err;
  std::vector<std::string> err_lines() const;
  std::string describe() const;
};

// Settings "NAME=value" made on top of this process's environment.
using EnvSettings = std::vector<std::string>;

// Runs a command to completion, stdout/stderr captured, stdin /dev/null.
CommandResult run_command(const std::vector<std::string> &argv,
                          std::optional<Credentials> as = {},
                          milliseconds timeout = 60s,
                          const EnvSettings &env = {});
// Runs the cpr binary under test with `args`.
CommandResult run_cpr(const std::vector<std::string> &args,
                      std::optional<Credentials> as = {},
                      const EnvSettings &env = {});
fs::path cpr_binary();

// ---- files and time --------------------------------------------------------

std::string read_file(const fs::path &path);
std::string read_available(int fd); // whatever a pipe holds right now
std::size_t file_size_or_zero(const fs::path &path);
// Empty when equal, else where and how `actual` first differs.
std::string output_mismatch(std::string_view actual, std::string_view expected);

// A fresh directory under /tmp, removed with everything in it at the end.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const fs::path &path() const { return path_; }
  fs::path operator/(std::string_view name) const { return path_ / name; }
  // chown to `owner` and chmod 0755, for targets running as another user.
  void give_to(Credentials owner) const;
  // chmod 0755: others may search it, as a statefile's parent usually allows.
  void open_to_all() const;

private:
  fs::path path_;
};

// A pseudo-random delay in [lo, hi] (seeded once per run).
milliseconds random_delay(milliseconds lo, milliseconds hi);
void sleep_for(milliseconds duration);

} // namespace cpr_test
