// A process tree (a bash script and the three workers it starts with &),
// checkpointed as a tree (HID), as a process group (GID) and as a session
// (SID): every process comes back with its PID, its parent, its group and its
// session, and the script collects the workers' results as if never stopped.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

using namespace cpr_test;

namespace {

void tree_roundtrip(const std::string &type) {
  auto spec = tree_sh();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget script = start_target(spec, dir, {.new_session = true});
  std::vector<pid_t> workers = wait_for_children(script.pid, 3);
  let_it_run();

  std::vector<pid_t> members{script.pid};
  members.insert(members.end(), workers.begin(), workers.end());
  for (pid_t pid : members) {
    auto stat = process_stat(pid);
    REQUIRE(stat);
    CHECK(stat->pgid == script.pid);
    CHECK(stat->sid == script.pid);
    CHECK(stat->ppid == (pid == script.pid ? getpid() : script.pid));
  }
  auto sf = dir / "statefile";
  SetIdentity before = checkpoint_set_and_reap(
      sf, fmt::format("{}:{}", script.pid, type), members);
  restart_set({sf}, before);
  expect_finishes_within(script, reference, 15s);
}

} // namespace

TEST_CASE("A bash tree checkpointed by HID restarts whole",
          "[e2e][sets][cpu]") {
  tree_roundtrip("HID");
}

TEST_CASE("A bash tree checkpointed by GID restarts whole",
          "[e2e][sets][cpu]") {
  tree_roundtrip("GID");
}

TEST_CASE("A bash tree checkpointed by SID restarts whole",
          "[e2e][sets][cpu]") {
  tree_roundtrip("SID");
}

// Issue 15: a subreaper stays one, and the grandchild reparented to it is
// still its child to reap.
TEST_CASE("A child subreaper comes back one, with its reparented grandchild",
          "[e2e][sets]") {
  TempDir dir;
  expect_tree_round_trip(subreaper(), dir, 1, "child exited 0\n");
}

// Issue 15: a child made by clone(CLONE_FS) shares its parent's working
// directory and umask again; one made by clone(CLONE_FILES), its fd table.
TEST_CASE("Processes sharing one fs struct come back sharing it",
          "[e2e][sets]") {
  TempDir dir;
  expect_tree_round_trip(clone_fs(), dir);
}

TEST_CASE("Processes sharing one fd table come back sharing it",
          "[e2e][sets]") {
  auto spec = clone_fs("files");
  REQUIRE(reference_output(spec) ==
          "child exited; its fd 4 here: written by the child; fd 3 closed\n");
  TempDir dir;
  expect_tree_round_trip(spec, dir);
}
