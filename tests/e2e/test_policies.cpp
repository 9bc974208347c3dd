// WILL policies and statefile reuse: -g keeps the target running, a restarted
// process can be checkpointed again, a statefile restarts more than once.
#include <catch2/catch.hpp>

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
          "[e2e][policy]") {
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
          "[e2e][policy]") {
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
