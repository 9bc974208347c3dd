// A process in a chroot comes back in the same root (the RDIR policy's
// default, REPLACE), with its cwd, its files and its binary found through
// cpr's own view of their paths.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/scenario.hpp"

using namespace cpr_test;

TEST_CASE("A chrooted process restarts in its root", "[e2e][root]") {
  auto spec = static_count();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  fs::path root = dir / "root";
  fs::create_directories(root);
  fs::copy_file(spec.argv.front(), root / "static_count");
  Spawned target = spawn({"/usr/sbin/chroot", root.string(), "/static_count"},
                         {.stdout_path = dir / "stdout.txt",
                          .stderr_path = dir / "stderr.txt",
                          .cwd = root});
  let_it_run();
  REQUIRE(fs::read_symlink(fmt::format("/proc/{}/root", target.pid)) == root);
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);
  restart(sf, before);
  CHECK(fs::read_symlink(fmt::format("/proc/{}/root", target.pid)) == root);
  RunningTarget restarted{
      target.pid, dir / "stdout.txt", dir / "stderr.txt", {}};
  expect_finishes_with(restarted, reference);
}
