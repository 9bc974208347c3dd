// File locks (issue 4): the POSIX, OFD and flock locks a process holds are
// held again after restart, and a restart fails, naming the file and the
// lock, while another process holds a conflicting one.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "support/sets.hpp"

using namespace cpr_test;

namespace {

struct Checkpointed {
  RunningTarget target;
  SetIdentity before;
};

// The target and its checker child, checkpointed (and killed) mid-run.
Checkpointed checkpoint_locks(const TempDir &dir, const fs::path &sf) {
  RunningTarget target = start_target(locks(), dir);
  pid_t checker = wait_for_children(target.pid, 1).front();
  let_it_run(300ms, 900ms);
  SetIdentity before = checkpoint_set_and_reap(
      sf, fmt::format("{}:HID", target.pid), {target.pid, checker});
  return {std::move(target), before};
}

bool flock_is_free(const fs::path &file) {
  return run_command({"/usr/bin/flock", "-n", file.string(), "true"})
      .status.success();
}

} // namespace

TEST_CASE("POSIX, OFD and flock locks are held again after restart",
          "[e2e][files][locks]") {
  const std::string &reference = reference_output(locks());
  TempDir dir;
  auto sf = dir / "statefile";
  auto [target, before] = checkpoint_locks(dir, sf);
  CHECK(flock_is_free(dir / "flock.dat"));
  restart_set({sf}, before);
  // A process outside the set finds them held; the checker inside, all of
  // them, all the while (its exit status, printed by the target).
  CHECK_FALSE(flock_is_free(dir / "flock.dat"));
  expect_finishes_within(target, reference, 15s);
}

TEST_CASE("A restart fails, naming the file and the lock, while another "
          "process holds a conflicting lock",
          "[e2e][files][locks]") {
  const std::string &reference = reference_output(locks());
  TempDir dir;
  auto sf = dir / "statefile";
  auto [target, before] = checkpoint_locks(dir, sf);
  {
    Fd held(::open((dir / "posix.dat").c_str(), O_RDWR | O_CLOEXEC));
    struct flock byte5 {};
    byte5.l_type = F_WRLCK;
    byte5.l_whence = SEEK_SET;
    byte5.l_start = 5;
    byte5.l_len = 1;
    REQUIRE(::fcntl(held.get(), F_SETLK, &byte5) == 0);
    CommandResult failed = run_cpr({"-r", sf.string()});
    expect_cpr_error(failed, (dir / "posix.dat").string());
    CHECK(failed.err.find("POSIX write lock (bytes 0-9)") != std::string::npos);
    CHECK(failed.err.find(fmt::format("process {} holds it", ::getpid())) !=
          std::string::npos);
    expect_no_process_left(target.pid);
    CHECK_FALSE(process_exists(before[1].pid));
  } // the lock goes with the fd
  restart_set({sf}, before);
  expect_finishes_within(target, reference, 15s);
}
