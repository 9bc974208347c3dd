// Failures: each gives one "cpr: ..." line in the guide's words, leaves a
// checkpointed target running untouched and a restart no process behind.
#include <catch2/catch.hpp>

#include "support/scenario.hpp"

#include <fmt/format.h>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

using namespace cpr_test;

namespace {

// A target that cpr must refuse: it fails, and the target goes on to finish
// exactly as if nothing had happened.
void expect_refused(const TargetSpec &spec, const std::string &reference) {
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  expect_cpr_error(try_checkpoint(sf, target.pid), "Checkpoint error");
  CHECK_FALSE(fs::exists(sf));
  expect_still_running(target);
  expect_finishes_with(target, reference);
}

} // namespace

TEST_CASE("Checkpointing a PID nobody uses fails with No such process",
          "[e2e][errors]") {
  TempDir dir;
  auto sf = dir / "statefile";
  expect_cpr_error(try_checkpoint(sf, unused_pid()), "No such process");
  CHECK_FALSE(fs::exists(sf));
}

TEST_CASE("An existing statefile is kept unless -f is given", "[e2e][errors]") {
  auto spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  checkpoint(sf, target.pid, {"-g"});
  const std::string manifest = read_file(sf / "MANIFEST");

  expect_cpr_error(try_checkpoint(sf, target.pid), "File exists");
  CHECK(read_file(sf / "MANIFEST") == manifest);
  expect_still_running(target);

  ProcessIdentity before = checkpoint_and_reap(sf, target.pid, {"-f"});
  restart(sf, before);
  expect_finishes_with(target, reference);
}

TEST_CASE("Restarting while the PID is in use fails with unavailable PID",
          "[e2e][errors]") {
  auto spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  checkpoint(sf, target.pid, {"-g"});

  expect_cpr_error(run_cpr({"-r", sf.string()}), "unavailable PID");
  CHECK(live_children_of_this() == std::vector<pid_t>{target.pid});
  expect_finishes_with(target, reference);
}

TEST_CASE("A stdout pipe makes checkpoint fail and the target run on",
          "[e2e][errors]") {
  auto spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir, {.stdout_to_pipe = true});
  std::string piped;
  auto piped_size = [&] {
    piped += read_available(target.stdout_pipe.get());
    return piped.size();
  };
  let_it_run();
  auto sf = dir / "statefile";
  expect_cpr_error(try_checkpoint(sf, target.pid), "Checkpoint error");
  CHECK_FALSE(fs::exists(sf));
  expect_still_running(target.pid, piped_size);

  ExitStatus status = wait_exit(target.pid);
  INFO("target " << status.describe());
  CHECK(status.success());
  piped_size();
  CHECK(output_mismatch(piped, reference) == "");
}

TEST_CASE("A target with a child outside the set is refused with Checkpoint "
          "error",
          "[e2e][errors][cpu]") {
  expect_refused(counter_py({"--child"}), reference_output(counter_py()));
}

// Issue 15: a refused socket is named by its kind and its addresses.
TEST_CASE("A socket no plugin carries is refused naming its kind and address",
          "[e2e][errors]") {
  auto spec = packet_holder();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  CommandResult result = try_checkpoint(sf, target.pid);
  expect_cpr_error(result, "Checkpoint error");
  CHECK(result.err.find(fmt::format("process {} fd 3 is socket:[",
                                    target.pid)) != std::string::npos);
  CHECK(result.err.find("(packet datagram, local any interface protocol "
                        "0x0003, not connected), which no plugin can") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(sf));
  expect_still_running(target);
  expect_finishes_with(target, reference);
}

// Issue 15: a process held by a debugger or strace is refused, naming the
// tracer, and runs on once the tracer lets go.
TEST_CASE("A traced process is refused naming its tracer", "[e2e][errors]") {
  auto spec = netlink_holder();
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  pid_t strace = ::fork();
  if (strace == 0) {
    ::execl("/usr/bin/strace", "strace", "-qq", "-o", "/dev/null", "-p",
            std::to_string(target.pid).c_str(), static_cast<char *>(nullptr));
    ::_exit(127);
  }
  REQUIRE(strace > 0);
  REQUIRE(wait_until(
      [&] {
        return read_file(fmt::format("/proc/{}/status", target.pid))
                   .find(fmt::format("TracerPid:\t{}\n", strace)) !=
               std::string::npos;
      },
      5s));
  auto sf = dir / "statefile";
  CommandResult result = try_checkpoint(sf, target.pid);
  ::kill(strace, SIGTERM); // strace detaches and exits
  ::waitpid(strace, nullptr, 0);
  expect_cpr_error(result, "Resource busy");
  CHECK(result.err.find(fmt::format("process {} is being traced by process {} "
                                    "(strace)",
                                    target.pid, strace)) != std::string::npos);
  CHECK_FALSE(fs::exists(sf));
  ExitStatus status = wait_exit(target.pid, 15s);
  CHECK(status.success());
}
