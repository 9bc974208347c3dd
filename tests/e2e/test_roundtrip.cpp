// Checkpoint a target mid-work (default policy: it is killed), restart it,
// and compare its final output with an uninterrupted run.
#include <catch2/catch.hpp>

#include "support/scenario.hpp"

using namespace cpr_test;

namespace {

void roundtrip(const TargetSpec &spec) {
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);
  restart(sf, before);
  expect_finishes_with(target, reference);
}

} // namespace

TEST_CASE("heap_avx survives checkpoint and restart", "[e2e][roundtrip]") {
  roundtrip(heap_avx());
}

TEST_CASE("counter.py survives checkpoint and restart",
          "[e2e][roundtrip][cpu]") {
  roundtrip(counter_py());
}

TEST_CASE("loop.sh survives checkpoint and restart", "[e2e][roundtrip][cpu]") {
  roundtrip(loop_sh());
}

TEST_CASE("counter.py with a second thread survives checkpoint and restart",
          "[e2e][roundtrip][threads][cpu]") {
  roundtrip(counter_py({"--thread"}));
}
