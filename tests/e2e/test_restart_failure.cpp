// A restart that fails inside the new process, after its PID was taken,
// names the cause and leaves no process behind; the statefile is untouched
// and restarts once the cause is mended.
#include <catch2/catch.hpp>

#include "support/scenario.hpp"

using namespace cpr_test;

TEST_CASE("A restart failing inside the new process leaves nothing behind",
          "[e2e][errors][cpu]") {
  auto spec = loop_sh();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  fs::path work = dir / "work"; // the target's cwd, removed before restart
  fs::create_directories(work);
  Spawned target = spawn(spec.argv, {.stdout_path = dir / "stdout.txt",
                                     .stderr_path = dir / "stderr.txt",
                                     .cwd = work});
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);

  fs::remove(work);
  expect_cpr_error(run_cpr({"-r", sf.string()}), "working directory");
  expect_no_process_left(before.pid);

  fs::create_directories(work);
  restart(sf, before);
  RunningTarget restarted{
      target.pid, dir / "stdout.txt", dir / "stderr.txt", {}};
  expect_finishes_with(restarted, reference);
}
