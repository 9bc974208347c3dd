// Objects that exist only as open files (issue 4): eventfd, timerfd,
// signalfd, inotify, memfd and epoll come back with their state.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

#include <signal.h>

using namespace cpr_test;

namespace {

// Checkpoint (and kill) of modern_fds. It reads each inotify event right
// after making it; a checkpoint landing in between is refused, since unread
// events could not be put back: it is then tried again.
SetIdentity checkpoint_modern_fds(const fs::path &sf,
                                  const RunningTarget &target) {
  SetIdentity before = identity_of_set({target.pid});
  CommandResult result;
  for (int attempt = 0; attempt < 5; ++attempt) {
    result = try_checkpoint_set(sf, std::to_string(target.pid));
    if (result.status.success() ||
        result.err.find("inotify events are not read yet") == std::string::npos)
      break;
    note("checkpoint refused for unread inotify events; again");
    sleep_for(7ms);
  }
  INFO("cpr -c: " << result.describe());
  REQUIRE(result.status.success());
  ExitStatus status = wait_exit(target.pid, 10s);
  CHECK(status.killed_by(SIGKILL));
  return before;
}

} // namespace

TEST_CASE("eventfd, timerfd, signalfd, inotify, memfd and epoll come back "
          "as they were",
          "[e2e][files][modern]") {
  auto spec = modern_fds();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  SetIdentity before = checkpoint_modern_fds(sf, target);

  CommandResult info = run_cpr({"-i", sf.string()});
  INFO("cpr -i: " << info.describe());
  const std::vector<std::string> summaries{
      "eventfd, count",
      ", semaphore, nonblocking",
      "timerfd, clock 1",
      "signalfd, signals 0000000000000200",
      "inotify, watch 2 on " + (dir / "watched").string() + ", nonblocking",
      "memfd modern sealed",
      "memfd modern big, 1048576 bytes",
      "epoll, watching fds [3, 5]"};
  for (const std::string &kind : summaries)
    CHECK(info.out.find(kind) != std::string::npos);

  restart_set({sf}, before);
  expect_finishes_within(target, reference, 15s);
}

TEST_CASE("An epoll set delivers its events after restart",
          "[e2e][files][modern]") {
  auto spec = modern_fds("epoll");
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  // The ready eventfd is seen at once; the timer fires 1.5 s after start.
  wait_for_output(target, "a11ce");
  let_it_run(100ms, 500ms);
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, std::to_string(target.pid), {target.pid});
  REQUIRE(read_file(target.out).find("7133") == std::string::npos);
  restart_set({sf}, before);
  expect_finishes_within(target, reference, 10s);
}

// Issue 15: the kernel keeps a watch whose fd number was closed while its
// file lives on under another fd; it comes back keyed by the old number,
// which another file holds meanwhile.
TEST_CASE("An epoll watching an fd number closed since comes back watching it",
          "[e2e][files][modern]") {
  TempDir dir;
  expect_round_trip(modern_fds("epoll-closed"), dir);
}

TEST_CASE("A directory inotify watched, gone at restart, is component "
          "unavailable",
          "[e2e][files][modern][errors]") {
  auto spec = modern_fds();
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  checkpoint_modern_fds(sf, target);
  fs::remove_all(dir / "watched");
  CommandResult result = run_cpr({"-r", sf.string()});
  expect_cpr_error(result, "component unavailable");
  CHECK(result.err.find((dir / "watched").string()) != std::string::npos);
  expect_no_process_left(target.pid);
}
