// A program with nine POSIX threads (eight computing and sleeping, one blocked
// on a condition variable) comes back with every thread under its own TID,
// and each thread resumes what it was doing.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "support/sets.hpp"

using namespace cpr_test;

TEST_CASE("Every thread comes back with its TID and resumes",
          "[e2e][sets][threads]") {
  auto spec = threads();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  // main, the waiting thread and eight workers
  REQUIRE(wait_until([&] { return thread_ids(target.pid).size() == 10; }, 5s));
  let_it_run();
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, std::to_string(target.pid), {target.pid});
  INFO("threads before: " << fmt::format("{}", fmt::join(before[0].tids, ",")));
  CHECK(before[0].tids.size() == 10);
  restart_set({sf}, before);
  CHECK(thread_ids(target.pid) == before[0].tids);
  expect_finishes_within(target, reference, 15s);
}

TEST_CASE("alarm() and the CPU interval timers go on after a restart",
          "[e2e][timers][cpu]") {
  auto spec = itimers();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto restarted = checkpoint_and_restart(target, dir);
  expect_finishes_within(target, reference, 15s);
  // The alarm had some 1.5 s left; it counts from the restart.
  auto took = std::chrono::steady_clock::now() - restarted;
  CHECK(took > 500ms);
  CHECK(took < 4s);
}

TEST_CASE("POSIX timers come back with their ids, values and time left",
          "[e2e][timers]") {
  auto spec = posix_timers();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto restarted = checkpoint_and_restart(target, dir);
  expect_finishes_within(target, reference, 15s);
  auto took = std::chrono::steady_clock::now() - restarted;
  CHECK(took > 500ms); // the one-shot timer had some 1.5 s left
  CHECK(took < 4s);
}

TEST_CASE("Threads asleep in every way finish their sleep, without EINTR",
          "[e2e][sets][threads]") {
  auto spec = sleeper();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  REQUIRE(wait_until([&] { return thread_ids(target.pid).size() == 8; }, 5s));
  let_it_run();
  checkpoint_and_restart(target, dir);
  expect_finishes_within(target, reference, 15s);
}

// Issue 15: the process died of signal 32 right after such a restart.
TEST_CASE("A SIGEV_THREAD timer goes on running its function after a restart",
          "[e2e][timers]") {
  TempDir dir;
  expect_round_trip(timer_thread(), dir);
}
