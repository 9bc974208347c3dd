// A restart of several statefiles is all or nothing: when the last process
// cannot be rebuilt (its working directory is gone), the error names it and
// no process of any statefile is left; once mended, all of them restart.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

using namespace cpr_test;

TEST_CASE("A restart of two statefiles failing in the second leaves nothing",
          "[e2e][sets][errors][cpu]") {
  auto spec = loop_sh();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  fs::path one = dir / "one", two = dir / "two";
  fs::path work = two / "work"; // the second target's cwd, removed
  fs::create_directories(one);
  fs::create_directories(work);
  Spawned first = spawn(spec.argv, {.stdout_path = one / "stdout.txt",
                                    .stderr_path = one / "stderr.txt",
                                    .cwd = one});
  Spawned second = spawn(spec.argv, {.stdout_path = two / "stdout.txt",
                                     .stderr_path = two / "stderr.txt",
                                     .cwd = work});
  let_it_run();
  auto sf1 = dir / "sf1", sf2 = dir / "sf2";
  SetIdentity before =
      checkpoint_set_and_reap(sf1, std::to_string(first.pid), {first.pid});
  SetIdentity before2 =
      checkpoint_set_and_reap(sf2, std::to_string(second.pid), {second.pid});
  before.insert(before.end(), before2.begin(), before2.end());

  fs::remove(work);
  CommandResult failed = run_cpr({"-r", sf1.string(), sf2.string()});
  expect_cpr_error(failed, std::to_string(second.pid));
  CHECK(failed.err.find("working directory") != std::string::npos);
  CHECK_FALSE(process_exists(first.pid));
  expect_no_process_left(second.pid);

  fs::create_directories(work);
  restart_set({sf1, sf2}, before);
  expect_finishes_within(
      {first.pid, one / "stdout.txt", one / "stderr.txt", {}}, reference, 15s);
  expect_finishes_within(
      {second.pid, two / "stdout.txt", two / "stderr.txt", {}}, reference, 15s);
}
