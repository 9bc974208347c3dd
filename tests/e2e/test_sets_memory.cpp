// A parent and its child taking turns on a counter in a MAP_SHARED anonymous
// page share that page again after restart: were it two copies, each would
// wait for its turn for ever.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

using namespace cpr_test;

TEST_CASE("Shared anonymous memory is shared again after restart",
          "[e2e][sets][memory]") {
  auto spec = shared_counter();
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
