// A share group (IRIX sproc; on Linux processes made by clone(CLONE_VM)):
// checkpointed by SGP, it comes back as two processes in ONE address space.
// Were it two copies, each would wait for the other's turn for ever.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace cpr_test;

TEST_CASE("A share group comes back sharing one address space",
          "[e2e][sets][sgp]") {
  auto spec = share_group();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget parent = start_target(spec, dir);
  std::vector<pid_t> children = wait_for_children(parent.pid, 1);
  let_it_run();
  auto sf = dir / "statefile";
  SetIdentity before = checkpoint_set_and_reap(
      sf, fmt::format("{}:SGP", parent.pid), {parent.pid, children.front()});
  restart_set({sf}, before);
  CHECK(::syscall(SYS_kcmp, parent.pid, children.front(), KCMP_VM, 0, 0) == 0);
  expect_finishes_within(parent, reference, 15s);
}
