// Processes that are not running come back as they were: a zombie stays a
// zombie its parent can still reap with its exit status, and a stopped
// process stays stopped until it is sent SIGCONT.
#include <catch2/catch.hpp>
#include <fmt/format.h>

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

TEST_CASE("A stopped process stays stopped until SIGCONT",
          "[e2e][sets][stopped]") {
  auto spec = loop_sh();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  REQUIRE(kill(target.pid, SIGSTOP) == 0);
  REQUIRE(wait_until(
      [&] {
        auto stat = process_stat(target.pid);
        return stat && stat->state == 'T';
      },
      2s));
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

  REQUIRE(kill(target.pid, SIGCONT) == 0);
  expect_finishes_within(target, reference, 15s);
}
