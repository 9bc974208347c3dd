// Commands with captured output, files, temporary directories, time.
#include "support/harness.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#ifndef CPR_BINARY
#error "CPR_BINARY (path of the cpr binary under test) must be defined"
#endif

namespace cpr_test {
namespace {

std::string errno_text() { return std::strerror(errno); }

Fd make_memfd(const char *name) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0)
    throw HarnessError(fmt::format("memfd_create: {}", errno_text()));
  return Fd(fd);
}

std::string read_from_start(int fd) {
  std::string text;
  char buffer[65536];
  for (off_t offset = 0;;) {
    ssize_t got = pread(fd, buffer, sizeof buffer, offset);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return text;
    text.append(buffer, static_cast<std::size_t>(got));
    offset += got;
  }
}

// Runs in the forked child: only plain system calls until exec.
[[noreturn]] void exec_captured(const std::vector<char *> &argv,
                                const std::vector<char *> &envp,
                                const std::optional<Credentials> &as, int out,
                                int err) {
  int in = open("/dev/null", O_RDONLY);
  if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
      dup2(err, STDERR_FILENO) < 0)
    _exit(126);
  if (as && (setgroups(0, nullptr) < 0 || setgid(as->gid) < 0 ||
             setuid(as->uid) < 0)) {
    dprintf(STDERR_FILENO, "cpr-e2e: dropping credentials: %s\n",
            std::strerror(errno));
    _exit(126);
  }
  close_range(3, ~0U, 0);
  execve(argv[0], argv.data(), envp.data());
  dprintf(STDERR_FILENO, "cpr-e2e: exec %s: %s\n", argv[0],
          std::strerror(errno));
  _exit(127);
}

std::vector<std::string> environment_with(const EnvSettings &settings) {
  auto name_of = [](std::string_view entry) {
    return entry.substr(0, entry.find('='));
  };
  std::vector<std::string> env;
  for (char **entry = environ; *entry; ++entry)
    if (std::none_of(settings.begin(), settings.end(), [&](const auto &s) {
          return name_of(s) == name_of(*entry);
        }))
      env.push_back(*entry);
  env.insert(env.end(), settings.begin(), settings.end());
  return env;
}

std::vector<char *> c_strings(const std::vector<std::string> &strings) {
  std::vector<char *> out;
  for (const auto &s : strings)
    out.push_back(const_cast<char *>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

std::mt19937 &random_engine() {
  static std::mt19937 engine{std::random_device{}()};
  return engine;
}

} // namespace

std::vector<std::string> CommandResult::err_lines() const {
  return split_lines(err);
}

std::string CommandResult::describe() const {
  return fmt::format("{}\n--- stdout ---\n{}--- stderr ---\n{}",
                     status.describe(), out, err);
}

CommandResult run_command(const std::vector<std::string> &argv,
                          std::optional<Credentials> as, milliseconds timeout,
                          const EnvSettings &env) {
  if (argv.empty())
    throw HarnessError("run_command: empty argv");
  std::vector<char *> args = c_strings(argv);
  const std::vector<std::string> environment = environment_with(env);
  std::vector<char *> envp = c_strings(environment);
  Fd out = make_memfd("cpr-e2e-stdout");
  Fd err = make_memfd("cpr-e2e-stderr");
  pid_t pid = fork();
  if (pid < 0)
    throw HarnessError(fmt::format("fork: {}", errno_text()));
  if (pid == 0)
    exec_captured(args, envp, as, out.get(), err.get());
  ExitStatus status = wait_exit(pid, timeout);
  return {status, read_from_start(out.get()), read_from_start(err.get())};
}

fs::path cpr_binary() { return CPR_BINARY; }

CommandResult run_cpr(const std::vector<std::string> &args,
                      std::optional<Credentials> as, const EnvSettings &env) {
  std::vector<std::string> argv{cpr_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, as, 60s, env);
}

std::string read_file(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw HarnessError(fmt::format("cannot read {}", path.string()));
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string read_available(int fd) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  fcntl(fd, F_SETFL, flags);
  return text;
}

std::size_t file_size_or_zero(const fs::path &path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<std::size_t>(size);
}

std::string output_mismatch(std::string_view actual,
                            std::string_view expected) {
  if (actual == expected)
    return {};
  auto got = split_lines(actual), want = split_lines(expected);
  std::size_t common = std::min(got.size(), want.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (got[i] != want[i])
      return fmt::format("line {}: expected '{}', got '{}'", i + 1, want[i],
                         got[i]);
  }
  return fmt::format("expected {} lines ({} bytes), got {} lines ({} bytes)",
                     want.size(), expected.size(), got.size(), actual.size());
}

std::optional<Credentials> targets_owner() {
  static const std::optional<Credentials> owner = []() {
    const char *v = std::getenv("CPR_TEST_TARGETS_AS");
    if (!v || !*v)
      return std::optional<Credentials>{};
    unsigned uid = 0, gid = 0;
    int n = std::sscanf(v, "%u:%u", &uid, &gid);
    if (n < 1)
      throw HarnessError(
          fmt::format("CPR_TEST_TARGETS_AS={}: not UID[:GID]", v));
    umask(0);
    return std::optional<Credentials>{Credentials{uid, n == 2 ? gid : uid}};
  }();
  return owner;
}

TempDir::TempDir() {
  char name[] = "/tmp/cpr-e2e-XXXXXX";
  if (!mkdtemp(name))
    throw HarnessError(fmt::format("mkdtemp: {}", errno_text()));
  path_ = name;
  if (auto owner = targets_owner())
    give_to(*owner);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void TempDir::give_to(Credentials owner) const {
  if (chown(path_.c_str(), owner.uid, owner.gid) < 0)
    throw HarnessError(
        fmt::format("chown {}: {}", path_.string(), errno_text()));
  open_to_all();
}

void TempDir::open_to_all() const {
  if (chmod(path_.c_str(), 0755) < 0)
    throw HarnessError(
        fmt::format("chmod {}: {}", path_.string(), errno_text()));
}

milliseconds random_delay(milliseconds lo, milliseconds hi) {
  std::uniform_int_distribution<long> pick(lo.count(), hi.count());
  return milliseconds(pick(random_engine()));
}

void sleep_for(milliseconds duration) { std::this_thread::sleep_for(duration); }

} // namespace cpr_test
