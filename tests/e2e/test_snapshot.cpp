// Issue 19, frozen time: with WILL CONT the set is frozen only while its
// metadata is read. Private memory is taken from a copy-on-write fork of
// each process, made from inside it while it is frozen, and written while
// the processes run on; the fork is then collected from inside the process,
// which never sees it.
#include <catch2/catch.hpp>

#include "support/scenario.hpp"

#include <fstream>
#include <signal.h>

using namespace cpr_test;

namespace {

// Restarted from the statefile, it runs through its rounds again, checking
// each page before it writes it, then every page.
void restart_and_check(const RunningTarget &target, const TempDir &dir,
                       const ProcessIdentity &before) {
  fs::remove(dir / "stop");
  restart(dir / "statefile", before);
  let_it_run(200ms, 400ms);
  touch(dir / "stop");
  expect_finishes_with(target, "ready\nok\n");
}

// What it leaves in the process: no child, zombie or not; no tracer.
void expect_no_trace_in(pid_t pid) {
  CHECK(children_of(pid).empty());
  CHECK(proc_status_field(pid, "TracerPid") == "0");
}

} // namespace

TEST_CASE("A checkpoint of memory that changes all the time holds it as it "
          "was at one moment and leaves no trace in the process",
          "[e2e][memory][snapshot]") {
  TempDir dir;
  RunningTarget target = start_target(churn(64), dir);
  wait_for_output(target, "ready", 20s);
  let_it_run(100ms, 300ms);
  ProcessIdentity before = identity_of(target.pid);
  checkpoint(dir / "statefile", target.pid, {"-g"});
  expect_no_trace_in(target.pid);
  // It ran on while its pages were written, and finishes unharmed.
  let_it_run(100ms, 300ms);
  touch(dir / "stop");
  expect_finishes_with(target, "ready\nok\n");
  restart_and_check(target, dir, before);
}

TEST_CASE("With a seccomp filter that forbids clone, the snapshot is still "
          "taken and the process never sees it",
          "[e2e][memory][snapshot]") {
  TempDir dir;
  RunningTarget target = start_target(churn(16, true), dir);
  wait_for_output(target, "ready", 20s);
  ProcessIdentity before = identity_of(target.pid);
  checkpoint(dir / "statefile", target.pid, {"-g"});
  expect_no_trace_in(target.pid);
  touch(dir / "stop");
  expect_finishes_with(target, "ready\nok\n");
  restart_and_check(target, dir, before);
}

TEST_CASE("With MAP_SHARED memory besides, copied while frozen, the "
          "checkpoint restarts",
          "[e2e][memory][snapshot]") {
  TempDir dir;
  RunningTarget target = start_target(churn_shared(16), dir);
  wait_for_output(target, "ready", 20s);
  ProcessIdentity before = identity_of(target.pid);
  checkpoint(dir / "statefile", target.pid, {"-g"});
  touch(dir / "stop");
  expect_finishes_with(target, "ready\nok\n");
  restart_and_check(target, dir, before);
}
