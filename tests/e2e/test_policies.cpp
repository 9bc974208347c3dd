// WILL policies and statefile reuse: -g keeps the target running, a restarted
// process can be checkpointed again, a statefile restarts more than once.
// The attribute file ($HOME/.cpr): WILL, FORK and CDIR, and its errors.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <csignal>
#include <fstream>
#include <unistd.h>

#include "support/scenario.hpp"

using namespace cpr_test;

TEST_CASE("With -g the target runs on and the statefile still restarts",
          "[e2e][policy]") {
  auto spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  ProcessIdentity before = identity_of(target.pid);
  auto sf = dir / "statefile";
  checkpoint(sf, target.pid, {"-g"});
  CHECK(proc_status_field(target.pid, "TracerPid") == "0");
  expect_still_running(target);
  expect_finishes_with(target, reference);

  restart(sf, before);
  expect_finishes_with(target, reference);
}

TEST_CASE("A restarted process can be checkpointed and restarted again",
          "[e2e][policy][cpu]") {
  auto spec = counter_py();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto first = dir / "first";
  restart(first, checkpoint_and_reap(first, target.pid));

  let_it_run(200ms, 600ms);
  auto second = dir / "second";
  restart(second, checkpoint_and_reap(second, target.pid, {"-k"}));
  expect_finishes_with(target, reference);
}

TEST_CASE("A statefile restarts twice and is unchanged by restart",
          "[e2e][policy][cpu]") {
  auto spec = loop_sh();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);
  const std::string manifest = read_file(sf / "MANIFEST");

  restart(sf, before);
  expect_finishes_with(target, reference);
  CHECK(read_file(sf / "MANIFEST") == manifest);

  restart(sf, before);
  expect_finishes_with(target, reference);
}

namespace {

// A $HOME holding `.cpr` with `text`, and the environment that points to it.
struct Home {
  TempDir dir;
  explicit Home(const std::string &text) {
    std::ofstream(dir / ".cpr") << text;
  }
  fs::path attribute_file() const { return dir / ".cpr"; }
  EnvSettings env() const { return {"HOME=" + dir.path().string()}; }
};

CommandResult checkpoint_with_home(const fs::path &sf, pid_t pid,
                                   const Home &home,
                                   const std::vector<std::string> &flags = {}) {
  std::vector<std::string> args{"-c", sf.string(), "-p", std::to_string(pid)};
  args.insert(args.end(), flags.begin(), flags.end());
  note(fmt::format("HOME={} cpr {}", home.dir.path().string(),
                   fmt::join(args, " ")));
  return run_cpr(args, {}, home.env());
}

// Processes other than `except` under the test whose stdout is `file`.
std::vector<pid_t> writers_of(const fs::path &file, pid_t except) {
  std::vector<pid_t> found;
  for (pid_t pid : descendants_of(getpid())) {
    std::error_code ec;
    auto out = fs::read_symlink(fmt::format("/proc/{}/fd/1", pid), ec);
    if (!ec && out == file && pid != except)
      found.push_back(pid);
  }
  return found;
}

} // namespace

TEST_CASE("WILL CONT in $HOME/.cpr keeps the target running without -g",
          "[e2e][policy][attributes]") {
  auto spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  Home home(fmt::format("# keep it going\nCKPT PID {} {{\n    WILL CONT\n}}\n",
                        target.pid));
  let_it_run();
  auto sf = dir / "statefile";
  CommandResult result = checkpoint_with_home(sf, target.pid, home);
  INFO(result.describe());
  REQUIRE(result.status.success());
  REQUIRE(fs::is_directory(sf));
  expect_still_running(target);
  CHECK(run_cpr({"-i", sf.string()}).out.find("WILL policy:\t\tCONT") !=
        std::string::npos);
  expect_finishes_with(target, reference);
}

TEST_CASE("A syntax error in $HOME/.cpr fails the checkpoint, touching nothing",
          "[e2e][policy][attributes]") {
  auto spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  Home home("CKPT * * {\n    WILL STOP\n}\n");
  auto sf = dir / "statefile";
  CommandResult result = checkpoint_with_home(sf, target.pid, home, {"-g"});
  expect_cpr_error(result, home.attribute_file().string() +
                               ":2:10: unknown WILL action 'STOP'");
  CHECK_FALSE(fs::exists(sf));
  CHECK(proc_status_field(target.pid, "TracerPid") == "0");
  expect_still_running(target);
  expect_finishes_with(target, reference);
}

TEST_CASE("FORK ANY and CDIR IGNORE in $HOME/.cpr apply at restart",
          "[e2e][policy][attributes][cpu]") {
  auto spec = loop_sh();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  Home home("CKPT * * {\n    FORK ANY\n    CDIR IGNORE\n}\n");
  let_it_run();
  auto sf = dir / "statefile";
  CommandResult made = checkpoint_with_home(sf, target.pid, home, {"-g"});
  INFO(made.describe());
  REQUIRE(made.status.success());
  std::string info = run_cpr({"-i", sf.string()}).out;
  CHECK(info.find("FORK policy:\t\tANY") != std::string::npos);
  CHECK(info.find("CDIR policy:\t\tIGNORE") != std::string::npos);

  // The PID is still taken: without --fork-any, the statefile's FORK ANY
  // restores it in a new PID namespace, in cpr's working directory.
  CommandResult result = run_cpr({"-r", sf.string()});
  INFO(result.describe());
  REQUIRE(result.status.success());
  std::vector<pid_t> copies = writers_of(target.out, target.pid);
  REQUIRE(copies.size() == 1);
  CHECK(pid_namespace(copies.front()) != pid_namespace(getpid()));
  CHECK(process_cwd(copies.front()) == fs::current_path());
  CHECK(process_cwd(target.pid) == dir.path());
  expect_finishes_with(target, reference);
}

TEST_CASE("RDIR IGNORE in $HOME/.cpr restarts a chrooted process in cpr's root",
          "[e2e][policy][attributes]") {
  auto spec = static_count();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  fs::path root = dir / "root";
  fs::create_directories(root);
  fs::copy_file(spec.argv.front(), root / "static_count");
  Spawned target = spawn({"/usr/sbin/chroot", root.string(), "/static_count"},
                         {.stdout_path = dir / "stdout.txt",
                          .stderr_path = dir / "stderr.txt",
                          .cwd = root});
  Home home("CKPT * * {\n    RDIR: IGNORE\n}\n");
  let_it_run();
  ProcessIdentity before = identity_of(target.pid);
  auto sf = dir / "statefile";
  CommandResult made = checkpoint_with_home(sf, target.pid, home);
  INFO(made.describe());
  REQUIRE(made.status.success());
  REQUIRE(wait_exit(target.pid, 10s).killed_by(SIGKILL));

  restart(sf, before);
  CHECK(fs::read_symlink(fmt::format("/proc/{}/root", target.pid)) == "/");
  RunningTarget restarted{
      target.pid, dir / "stdout.txt", dir / "stderr.txt", {}};
  expect_finishes_with(restarted, reference);
}
