// A parent and its child taking turns on a counter in a MAP_SHARED anonymous
// page share that page again after restart: were it two copies, each would
// wait for its turn for ever.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

using namespace cpr_test;

namespace {
void check_shared_counter(bool split) {
  auto spec = shared_counter(split);
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget parent = start_target(spec, dir);
  std::vector<pid_t> children = wait_for_children(parent.pid, 1);
  let_it_run();
  auto sf = dir / "statefile";
  SetIdentity before = checkpoint_set_and_reap(
      sf, fmt::format("{}:HID", parent.pid), {parent.pid, children.front()});
  restart_set({sf}, before);
  expect_finishes_within(parent, reference, 15s);
}
} // namespace

TEST_CASE("Shared anonymous memory is shared again after restart",
          "[e2e][sets][memory]") {
  check_shared_counter(false);
}

TEST_CASE("Shared memory mapped in different pieces is one object again",
          "[e2e][sets][memory]") {
  check_shared_counter(true);
}
