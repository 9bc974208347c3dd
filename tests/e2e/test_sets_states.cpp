// Processes that are not running come back as they were: a zombie stays a
// zombie its parent can still reap with its exit status, and a stopped
// process stays stopped, by the signal that stopped it, until SIGCONT.
#include <catch2/catch.hpp>
#include <cstring>
#include <fmt/format.h>
#include <sys/wait.h>

#include <signal.h>

#include "support/sets.hpp"

using namespace cpr_test;

TEST_CASE("A zombie comes back a zombie with its exit status",
          "[e2e][sets][zombie]") {
  auto spec = zombie();
  const std::string &reference = reference_output(spec);
  REQUIRE(reference.find("child exited with status 7\n") != std::string::npos);
  TempDir dir;
  RunningTarget parent = start_target(spec, dir);
  std::vector<pid_t> children = wait_for_children(parent.pid, 1);
  pid_t child = children.front();
  REQUIRE(wait_until(
      [&] {
        auto stat = process_stat(child);
        return stat && stat->state == 'Z';
      },
      1s));
  let_it_run(100ms, 400ms); // the parent reaps it after ~1.8 s
  auto sf = dir / "statefile";
  SetIdentity before = checkpoint_set_and_reap(
      sf, fmt::format("{}:HID", parent.pid), {parent.pid, child});
  REQUIRE(before[1].state == 'Z');
  restart_set({sf}, before);
  auto stat = process_stat(child);
  REQUIRE(stat);
  CHECK(stat->state == 'Z');
  CHECK(stat->ppid == parent.pid);
  expect_finishes_within(parent, reference, 15s);
  CHECK_FALSE(process_exists(child));
}

TEST_CASE("A stopped process stays stopped, by the same signal, until "
          "SIGCONT",
          "[e2e][sets][stopped][cpu]") {
  auto spec = loop_sh();
  const std::string &reference = reference_output(spec);
  for (int signal : {SIGSTOP, SIGTSTP}) {
    note(fmt::format("stopped by {}", strsignal(signal)));
    TempDir dir;
    RunningTarget target = start_target(spec, dir);
    let_it_run();
    stop_and_wait(target.pid, signal);
    auto sf = dir / "statefile";
    SetIdentity before =
        checkpoint_set_and_reap(sf, std::to_string(target.pid), {target.pid});
    REQUIRE(before[0].state == 'T');
    restart_set({sf}, before);

    std::size_t size = file_size_or_zero(target.out);
    sleep_for(1s);
    CHECK(file_size_or_zero(target.out) == size);
    auto stat = process_stat(target.pid);
    REQUIRE(stat);
    CHECK(stat->state == 'T');
    // Its parent (the test) is told which signal stopped it, as a shell is.
    int status = 0;
    REQUIRE(waitpid(target.pid, &status, WUNTRACED | WNOHANG) == target.pid);
    REQUIRE(WIFSTOPPED(status));
    CHECK(WSTOPSIG(status) == signal);

    REQUIRE(kill(target.pid, SIGCONT) == 0);
    expect_finishes_within(target, reference, 15s);
  }
}
