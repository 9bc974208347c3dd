#include "support/targets.hpp"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <iterator>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CPR_TARGETS_BUILD_DIR
#error "CPR_TARGETS_BUILD_DIR (where the C targets are built) must be defined"
#endif
#ifndef CPR_TARGETS_SOURCE_DIR
#error                                                                         \
    "CPR_TARGETS_SOURCE_DIR (tests/targets in the source tree) must be defined"
#endif

namespace cpr_test {
namespace {

TargetSpec make_target(std::string name, std::vector<std::string> argv,
                       const std::vector<std::string> &args) {
  argv.insert(argv.end(), args.begin(), args.end());
  return {std::move(name), std::move(argv)};
}

std::string script(std::string_view name) {
  return (fs::path(CPR_TARGETS_SOURCE_DIR) / name).string();
}

std::string run_uninterrupted(const TargetSpec &target) {
  TempDir dir;
  RunningTarget run = start_target(target, dir);
  ExitStatus status = wait_exit(run.pid, 60s);
  std::string err = read_file(run.err);
  if (!status.success() || !err.empty())
    throw HarnessError(fmt::format("reference run of {} {}; stderr: {}",
                                   target.key(), status.describe(), err));
  return read_file(run.out);
}

} // namespace

std::string TargetSpec::key() const {
  return fmt::format("{}", fmt::join(argv, " "));
}

TargetSpec heap_avx(std::vector<std::string> args) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "heap_avx";
  return make_target("heap_avx", {program.string()}, args);
}

TargetSpec counter_py(std::vector<std::string> args) {
  return make_target("counter.py", {"/usr/bin/python3", script("counter.py")},
                     args);
}

TargetSpec loop_sh(std::vector<std::string> args) {
  return make_target("loop.sh", {"/bin/bash", script("loop.sh")}, args);
}

TargetSpec static_count() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "static_count";
  return make_target("static_count", {program.string()}, {});
}

TargetSpec tree_sh(std::vector<std::string> args) {
  return make_target("tree.sh", {"/bin/bash", script("tree.sh")}, args);
}

TargetSpec threads() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "threads";
  return make_target("threads", {program.string()}, {});
}

TargetSpec shared_counter(bool split) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "shared_counter";
  return make_target(
      split ? "shared_counter split" : "shared_counter", {program.string()},
      split ? std::vector<std::string>{"split"} : std::vector<std::string>{});
}

TargetSpec sleeper() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "sleeper";
  return make_target("sleeper", {program.string()}, {});
}

TargetSpec mapped_files() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "mapped_files";
  return make_target("mapped_files", {program.string()}, {});
}

TargetSpec memory_kinds(std::string mode) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "memory_kinds";
  return make_target("memory_kinds", {program.string()}, {std::move(mode)});
}

TargetSpec timer_slack() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "timer_slack";
  return make_target("timer_slack", {program.string()}, {});
}

TargetSpec sigio(std::string mode) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "sigio";
  if (mode.empty())
    return make_target("sigio", {program.string()}, {});
  return make_target("sigio " + mode, {program.string()}, {mode});
}

TargetSpec timer_thread() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "timer_thread";
  return make_target("timer_thread", {program.string()}, {});
}

TargetSpec seccomp() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "seccomp";
  return make_target("seccomp", {program.string()}, {});
}

TargetSpec subreaper() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "subreaper";
  return make_target("subreaper", {program.string()}, {});
}

TargetSpec process_flags() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "process_flags";
  return make_target("process_flags", {program.string()}, {});
}

TargetSpec netlink_holder() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "netlink_holder";
  return make_target("netlink_holder", {program.string()}, {});
}

TargetSpec packet_holder() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "netlink_holder";
  return privileged(
      make_target("netlink_holder packet", {program.string()}, {"packet"}));
}

TargetSpec deleted_cwd(std::string mode) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "deleted_cwd";
  std::vector<std::string> args;
  if (!mode.empty())
    args.push_back(mode);
  return make_target(mode.empty() ? "deleted_cwd" : "deleted_cwd " + mode,
                     {program.string()}, args);
}

TargetSpec proc_files() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "proc_files";
  return make_target("proc_files", {program.string()}, {});
}

TargetSpec legacy_state() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "legacy_state";
  return privileged(make_target("legacy_state", {program.string()}, {}));
}

TargetSpec pty_session() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "pty_session";
  return make_target("pty_session", {program.string()}, {});
}

TargetSpec clone_fs(std::string mode) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "clone_fs";
  std::vector<std::string> args;
  if (!mode.empty())
    args.push_back(mode);
  return make_target(mode.empty() ? "clone_fs" : "clone_fs " + mode,
                     {program.string()}, args);
}

TargetSpec file_writer(std::vector<std::string> args) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "file_writer";
  return make_target("file_writer", {program.string()}, args);
}

TargetSpec big_memory(int mib) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "big_memory";
  return make_target("big_memory", {program.string()}, {std::to_string(mib)});
}

TargetSpec churn(int mib, bool no_clone) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "churn";
  TargetSpec spec{"churn", {program.string(), std::to_string(mib)}};
  if (no_clone)
    spec.argv.push_back("noclone");
  return spec;
}

TargetSpec churn_shared(int mib) {
  TargetSpec spec = churn(mib);
  spec.argv.push_back("shared");
  return spec;
}

TargetSpec text_log(int mib) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "text_log";
  return {"text_log", {program.string(), std::to_string(mib)}};
}

TargetSpec ledger(int mib) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "ledger";
  return {"ledger", {program.string(), std::to_string(mib)}};
}

TargetSpec itimers() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "itimers";
  return make_target("itimers", {program.string()}, {});
}

TargetSpec posix_timers() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "posix_timers";
  return make_target("posix_timers", {program.string()}, {});
}

TargetSpec ckpt_events(int handler_seconds) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "ckpt_events";
  return make_target("ckpt_events", {program.string()},
                     {std::to_string(handler_seconds)});
}

TargetSpec self_checkpoint(const fs::path &statefile, std::string mode) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "self_checkpoint";
  // It runs cpr itself, which a user may only as the setuid install.
  return privileged(make_target("self_checkpoint", {program.string()},
                                {statefile.string(), std::move(mode)}));
}

TargetSpec pending_signals() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "pending_signals";
  return make_target("pending_signals", {program.string()}, {});
}

TargetSpec zombie() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "zombie";
  return make_target("zombie", {program.string()}, {});
}

TargetSpec modern_fds(std::string mode) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "modern_fds";
  std::vector<std::string> args;
  if (!mode.empty())
    args.push_back(mode);
  return make_target(mode.empty() ? "modern_fds" : "modern_fds " + mode,
                     {program.string()}, args);
}

TargetSpec dirwalk() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "dirwalk";
  return make_target("dirwalk", {program.string()}, {});
}

TargetSpec deleted_file() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "deleted_file";
  return make_target("deleted_file", {program.string()}, {});
}

TargetSpec locks() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "locks";
  return make_target("locks", {program.string()}, {});
}

TargetSpec tty_user() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "tty_user";
  return make_target("tty_user", {program.string()}, {});
}

TargetSpec pty_pair() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "pty_pair";
  return make_target("pty_pair", {program.string()}, {});
}

TargetSpec pty_hold(const std::string &mode, std::size_t bytes) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "pty_hold";
  return make_target("pty_hold " + mode, {program.string()},
                     {mode, std::to_string(bytes)});
}

TargetSpec devices() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "devices";
  return privileged(make_target("devices", {program.string()}, {})); // console
}

TargetSpec pipe_data(std::string mode) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "pipe_data";
  return make_target("pipe_data " + mode, {program.string()}, {mode});
}

TargetSpec unix_sockets(std::string mode, std::string path) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "unix_sockets";
  std::vector<std::string> args{mode};
  if (!path.empty())
    args.push_back(path);
  return make_target("unix_sockets " + mode, {program.string()}, args);
}

TargetSpec pool_py(std::string context) {
  return make_target("pool.py " + context,
                     {"/usr/bin/python3", script("pool.py")}, {context});
}

TargetSpec inet_sockets(std::string mode, int arg) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "inet_sockets";
  return make_target(fmt::format("inet_sockets {} {}", mode, arg),
                     {program.string()}, {mode, std::to_string(arg)});
}

TargetSpec sysv_counter(key_t key, const std::string &variant) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "sysv_counter";
  std::vector<std::string> args{fmt::format("{:x}", key)};
  if (!variant.empty())
    args.push_back(variant);
  return make_target(fmt::format("sysv_counter {}", variant),
                     {program.string()}, args);
}

TargetSpec in_own_ipc_namespace(TargetSpec spec) {
  spec.argv.insert(spec.argv.begin(), {"/usr/bin/unshare", "--ipc"});
  spec.name = "unshare --ipc " + spec.name;
  spec.privileged = true;
  return spec;
}

TargetSpec sysv_queue(key_t key) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "sysv_queue";
  return make_target("sysv_queue", {program.string()},
                     {fmt::format("{:x}", key)});
}

TargetSpec posix_shm(key_t key) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "posix_shm";
  return make_target("posix_shm", {program.string()},
                     {fmt::format("{:x}", key)});
}

TargetSpec share_group() {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "share_group";
  return make_target("share_group", {program.string()}, {});
}

namespace {

// What identifies an uninterrupted run's output: the command line, and the
// size and modification time of every file in it (the target, a script).
std::string stamped_key(const TargetSpec &target) {
  std::string key = target.key();
  for (const std::string &arg : target.argv) {
    struct stat st {};
    if (::stat(arg.c_str(), &st) == 0 && S_ISREG(st.st_mode))
      key += fmt::format("|{}:{}.{}:{}", arg, st.st_mtim.tv_sec,
                         st.st_mtim.tv_nsec, st.st_size);
  }
  return key;
}

// Each test runs in a process of its own: the outputs are kept in the build
// tree, so that a target's uninterrupted run is made once per build, not
// once per test.
fs::path kept_output(const std::string &key) {
  return fs::path(CPR_TARGETS_BUILD_DIR) / "reference-outputs" /
         fmt::format("{:016x}", std::hash<std::string>{}(key));
}

std::optional<std::string> read_kept(const std::string &key) {
  std::ifstream in(kept_output(key), std::ios::binary);
  std::string stored_key;
  if (!in || !std::getline(in, stored_key) || stored_key != key)
    return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void keep(const std::string &key, const std::string &output) {
  fs::path at = kept_output(key);
  fs::create_directories(at.parent_path());
  fs::path part = at;
  part += fmt::format(".{}", ::getpid());
  {
    std::ofstream out(part, std::ios::binary);
    out << key << '\n' << output;
  }
  fs::rename(part, at); // whole or not at all, whoever reads it
}

} // namespace

const std::string &reference_output(const TargetSpec &target) {
  static std::map<std::string, std::string> cache;
  auto found = cache.find(target.key());
  if (found != cache.end())
    return found->second;
  std::string key = stamped_key(target);
  if (auto owner = targets_owner(); owner && !target.privileged)
    key += fmt::format(" as {}:{}", owner->uid, owner->gid);
  std::optional<std::string> kept = read_kept(key);
  if (!kept) {
    kept = run_uninterrupted(target);
    keep(key, *kept);
  }
  return cache.emplace(target.key(), std::move(*kept)).first->second;
}

RunningTarget start_target(const TargetSpec &target, const TempDir &dir,
                           const StartOptions &opts) {
  SpawnOptions spawn_opts{.stdout_path = dir / "stdout.txt",
                          .stderr_path = dir / "stderr.txt",
                          .stdout_to_pipe = opts.stdout_to_pipe,
                          .as = opts.as             ? opts.as
                                : target.privileged ? std::nullopt
                                                    : targets_owner(),
                          .cwd = dir.path(),
                          .new_session = opts.new_session};
  Spawned spawned = spawn(target.argv, spawn_opts);
  return {spawned.pid, spawn_opts.stdout_path, spawn_opts.stderr_path,
          std::move(spawned.stdout_pipe)};
}

} // namespace cpr_test
