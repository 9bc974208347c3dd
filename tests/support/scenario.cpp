#include "support/scenario.hpp"

#include <fstream>
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <utility>

namespace cpr_test {
namespace {

std::vector<std::string> &notes() {
  static std::vector<std::string> all;
  return all;
}

void reap_zombies() {
  int status = 0;
  while (waitpid(-1, &status, WNOHANG) > 0) {
  }
}

} // namespace

void note(std::string text) { notes().push_back(std::move(text)); }

std::vector<std::string> take_notes() { return std::exchange(notes(), {}); }

ProcessIdentity identity_of(pid_t pid) {
  return {pid, process_name(pid), process_cwd(pid),
          proc_status_field(pid, "Uid"), proc_status_field(pid, "Gid")};
}

std::string describe(const ProcessIdentity &id) {
  return fmt::format("pid {} name '{}' cwd '{}' uids '{}' gids '{}'", id.pid,
                     id.name, id.cwd.string(), id.uids, id.gids);
}

void wait_for_output(const RunningTarget &target, std::string_view text,
                     milliseconds timeout) {
  bool seen = wait_until(
      [&] {
        // The target makes its stdout file once it runs.
        return file_size_or_zero(target.out) > 0 &&
               read_file(target.out).find(text) != std::string::npos;
      },
      timeout);
  INFO("stdout: " << (fs::exists(target.out) ? read_file(target.out) : ""));
  REQUIRE(seen);
}

fs::path unpack_fixture(const fs::path &tarball, const fs::path &dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  REQUIRE(run_command(
              {"/usr/bin/tar", "-C", dir.string(), "-xJf", tarball.string()})
              .status.success());
  auto sf = dir / "statefile";
  CommandResult resealed = run_cpr({"--reseal", sf.string()});
  INFO(resealed.describe());
  REQUIRE(resealed.status.success());
  return sf;
}

void touch(const fs::path &file) { std::ofstream(file) << "\n"; }

std::uintmax_t pages_bytes_of(const fs::path &statefile) {
  std::uintmax_t total = 0;
  for (const auto &entry : fs::directory_iterator(statefile / "pages"))
    total += entry.file_size();
  return total;
}

void let_it_run(milliseconds lo, milliseconds hi) {
  milliseconds delay = random_delay(lo, hi);
  note(fmt::format("let the target run {} ms", delay.count()));
  sleep_for(delay);
}

CommandResult try_checkpoint(const fs::path &sf, pid_t pid,
                             const std::vector<std::string> &flags) {
  std::vector<std::string> args{"-c", sf.string(), "-p", std::to_string(pid)};
  args.insert(args.end(), flags.begin(), flags.end());
  note(fmt::format("cpr {}", fmt::join(args, " ")));
  return run_cpr(args);
}

void checkpoint(const fs::path &sf, pid_t pid,
                const std::vector<std::string> &flags) {
  CommandResult result = try_checkpoint(sf, pid, flags);
  INFO("cpr -c " << sf.string() << " -p " << pid << ": " << result.describe());
  REQUIRE(result.status.success());
  REQUIRE(fs::is_directory(sf));
}

void stop_and_wait(pid_t pid, int signal) {
  REQUIRE(kill(pid, signal) == 0);
  REQUIRE(wait_until(
      [&] {
        auto stat = process_stat(pid);
        return stat && stat->state == 'T';
      },
      2s));
}

RunningTarget start_walking(const TargetSpec &dirwalk, const TempDir &dir) {
  RunningTarget target = start_target(dirwalk, dir);
  // It walks once it has made its 2400 files.
  REQUIRE(wait_until([&] { return file_size_or_zero(target.out) > 0; }, 10s));
  let_it_run(200ms, 700ms);
  return target;
}

ProcessIdentity checkpoint_and_reap(const fs::path &sf, pid_t pid,
                                    const std::vector<std::string> &flags) {
  REQUIRE(is_child_of_this(pid));
  ProcessIdentity before = identity_of(pid);
  checkpoint(sf, pid, flags);
  ExitStatus status = wait_exit(pid, 10s);
  INFO("checkpointed target " << status.describe());
  REQUIRE(status.killed_by(SIGKILL));
  return before;
}

void restart(const fs::path &sf, const ProcessIdentity &before) {
  REQUIRE_FALSE(process_exists(before.pid));
  note(fmt::format("cpr -r {}", sf.string()));
  CommandResult result = run_cpr({"-r", sf.string()});
  INFO("cpr -r " << sf.string() << ": " << result.describe());
  REQUIRE(result.status.success());
  REQUIRE(is_child_of_this(before.pid));
  INFO("before: " << describe(before));
  CHECK(describe(identity_of(before.pid)) == describe(before));
}

void expect_finishes_with(const RunningTarget &target,
                          const std::string &reference) {
  ExitStatus status = wait_exit(target.pid);
  INFO("target " << target.pid << " " << status.describe());
  CHECK(status.success());
  CHECK(output_mismatch(read_file(target.out), reference) == "");
  CHECK(read_file(target.err) == "");
}

void expect_cpr_error(const CommandResult &result, std::string_view phrase) {
  INFO(result.describe());
  CHECK(result.status.failed());
  auto lines = result.err_lines();
  CHECK(lines.size() == 1);
  const std::string first = lines.empty() ? "" : lines.front();
  CHECK(first.starts_with("cpr: "));
  CHECK(first.find(phrase) != std::string::npos);
}

void expect_still_running(pid_t pid,
                          const std::function<std::size_t()> &output_size) {
  REQUIRE(is_child_of_this(pid));
  REQUIRE_FALSE(has_exited(pid));
  std::size_t before = output_size();
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (output_size() == before && std::chrono::steady_clock::now() < deadline)
    sleep_for(20ms);
  INFO("output size stayed at " << before << " bytes for 3 s");
  CHECK(output_size() > before);
}

void expect_still_running(const RunningTarget &target) {
  expect_still_running(target.pid,
                       [&] { return file_size_or_zero(target.out); });
}

void expect_no_process_left(pid_t pid) {
  reap_zombies();
  CHECK_FALSE(process_exists(pid));
  auto children = live_children_of_this();
  INFO(
      "children of the test: " << fmt::format("{}", fmt::join(children, ", ")));
  CHECK(children.empty());
}

} // namespace cpr_test
