// Credentials: a target of another user comes back as that user; a user
// other than the owner may neither restart nor delete a statefile.
#include <catch2/catch.hpp>

#include "support/scenario.hpp"
#include "support/sets.hpp"

#include <fmt/format.h>

using namespace cpr_test;

TEST_CASE("A target running as nobody restarts as nobody", "[e2e][creds]") {
  auto spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  dir.give_to(nobody);
  RunningTarget target = start_target(spec, dir, {.as = nobody});
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);
  CHECK(before.uids == "65534\t65534\t65534\t65534");
  CHECK(before.gids == "65534\t65534\t65534\t65534");

  restart(sf, before); // compares uids and gids too
  expect_finishes_with(target, reference);
}

TEST_CASE("Another user can neither restart nor delete a statefile",
          "[e2e][creds]") {
  TempDir dir;
  dir.open_to_all(); // the refusal must come from the statefile itself
  RunningTarget target = start_target(heap_avx(), dir);
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);

  const Credentials other =
      targets_owner() ? Credentials{65533, 65533} : nobody;
  expect_cpr_error(run_cpr({"-r", sf.string()}, other), "Permission denied");
  expect_no_process_left(before.pid);

  expect_cpr_error(run_cpr({"-D", sf.string()}, other), "Permission denied");
  CHECK(fs::exists(sf / "MANIFEST"));
}

// Issue 15: a sandboxed program never comes back unsandboxed.
TEST_CASE("Seccomp filters are installed again, in their order",
          "[e2e][credentials]") {
  TempDir dir;
  expect_round_trip(seccomp(), dir);
}

// Issue 15: the flags a process set on itself, and glibc's rseq area, which
// the kernel must go on updating; a root's parent-death signal must not fire
// when cpr, its parent at restart, exits.
TEST_CASE("Personality, no_new_privs, dumpable, pdeathsig and rseq come back",
          "[e2e][credentials]") {
  TempDir dir;
  expect_tree_round_trip(process_flags(), dir);
}
