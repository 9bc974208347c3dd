// Open directories, deleted-but-open files, /dev/tty and the other devices
// (issue 4).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>

using namespace cpr_test;

namespace {

std::string fd_link(pid_t pid, int fd) {
  std::error_code ec;
  return fs::read_symlink(fmt::format("/proc/{}/fd/{}", pid, fd), ec).string();
}

} // namespace

TEST_CASE("An open directory comes back at its readdir position",
          "[e2e][files][directory]") {
  auto spec = dirwalk();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_walking(spec, dir);
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);

  fs::rename(dir / "tree", dir / "moved");
  expect_cpr_error(run_cpr({"-r", sf.string()}),
                   "component unavailable: open directory " +
                       (dir / "tree").string());
  expect_no_process_left(target.pid);

  fs::rename(dir / "moved", dir / "tree");
  restart(sf, before);
  CHECK(fd_link(target.pid, 3) == (dir / "tree").string()); // O_PATH
  expect_finishes_with(target, reference);
}

// Issue 15: neither a checkpoint nor a restart reads a directory's entries.
// The walker is stopped while its directory gets old times, and comes back
// stopped: only cpr could touch them in between.
TEST_CASE("Checkpoint and restart leave an open directory's times alone",
          "[e2e][files][directory]") {
  auto spec = dirwalk();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_walking(spec, dir);
  stop_and_wait(target.pid);
  auto tree = dir / "tree";
  const timespec old[2] = {{1000000000, 1}, {1000000000, 2}};
  REQUIRE(utimensat(AT_FDCWD, tree.c_str(), old, 0) == 0);
  auto expect_old_times = [&] {
    struct stat st {};
    REQUIRE(::stat(tree.c_str(), &st) == 0);
    CHECK(st.st_atim.tv_sec == old[0].tv_sec);
    CHECK(st.st_atim.tv_nsec == old[0].tv_nsec);
    CHECK(st.st_mtim.tv_nsec == old[1].tv_nsec);
  };
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, std::to_string(target.pid), {target.pid});
  expect_old_times();
  restart_set({sf}, before);
  expect_old_times();
  REQUIRE(kill(target.pid, SIGCONT) == 0);
  expect_finishes_within(target, reference, 15s);
}

// Issue 15: a program often removes its temporary directory with the files
// it still holds; no path leads to them either way.
TEST_CASE("A deleted-but-open file comes back unlinked, as one inode with "
          "its contents, in its directory or, that gone too, in /var/tmp",
          "[e2e][files][deleted]") {
  auto spec = deleted_file();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  REQUIRE(wait_until([&] { return file_size_or_zero(target.out) > 0; }, 5s));
  let_it_run(200ms, 900ms);
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);
  // Two open files of one inode: one copy.
  CHECK(std::distance(fs::directory_iterator(sf / "files"),
                      fs::directory_iterator()) == 1);
  std::string made_in = (dir / "tmp").string() + "/";
  SECTION("its directory is there") {}
  SECTION("its directory is gone too") {
    fs::remove(dir / "tmp");
    made_in = "/var/tmp/";
  }
  restart(sf, before);
  CHECK((!fs::exists(dir / "tmp") || fs::is_empty(dir / "tmp")));
  CHECK(fd_link(target.pid, 3).starts_with(made_in));
  CHECK(fd_link(target.pid, 3).ends_with(" (deleted)"));
  expect_finishes_with(target, reference);
}

TEST_CASE("/dev/tty comes back under cpr -j's terminal, and without -j it "
          "leads to its terminal if it still exists, else to /dev/null",
          "[e2e][files][tty]") {
  auto spec = tty_user();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  // Under script(1), in a session with a terminal, not leading it.
  std::string job = fmt::format("/bin/bash -c '{} > {} 2> {} < /dev/null; "
                                "true'",
                                spec.argv.front(), (dir / "out.txt").string(),
                                (dir / "err.txt").string());
  SpawnOptions in_dir;
  in_dir.cwd = dir.path();
  Spawned script = spawn({"/usr/bin/script", "-qec", job, "/dev/null"}, in_dir);
  pid_t pid = wait_for_descendant(script.pid, "tty_user", 5s);
  REQUIRE(pid > 0);
  REQUIRE(wait_until([&] { return fd_link(pid, 3) == "/dev/tty"; }, 5s));
  let_it_run(200ms, 600ms);
  auto sf = dir / "statefile";
  CommandResult made = run_cpr({"-c", sf.string(), "-p", std::to_string(pid)});
  INFO(made.describe());
  REQUIRE(made.status.success());
  REQUIRE(wait_exit(script.pid).exited);

  // script's terminal went with it.
  CommandResult detached = run_cpr({"-r", sf.string()});
  INFO(detached.describe());
  REQUIRE(detached.status.success());
  CHECK(fd_link(pid, 3) == "/dev/null");
  expect_finishes_with({pid, dir / "out.txt", dir / "err.txt", {}}, reference);

  // cpr -j waits for the job: the test looks at it meanwhile.
  Spawned interactive =
      spawn({"/usr/bin/script", "-qec",
             cpr_binary().string() + " -j -r " + sf.string(), "/dev/null"},
            in_dir);
  REQUIRE(wait_until([&] { return fd_link(pid, 3) == "/dev/tty"; }, 10s));
  CHECK(wait_exit(interactive.pid).success());
  CHECK(read_file(dir / "out.txt") == reference);
  CHECK(read_file(dir / "err.txt").empty());
}

TEST_CASE("/dev/zero, /dev/full, /dev/urandom and /dev/console come back, "
          "and the console does not become a controlling terminal",
          "[e2e][files][devices]") {
  auto spec = devices();
  const std::string &reference = reference_output(spec);
  REQUIRE(reference.find("/dev/console: same device, read-only") !=
          std::string::npos);
  TempDir dir;
  // A session leader without a terminal: opening a terminal device without
  // O_NOCTTY would make it its controlling terminal.
  RunningTarget target = start_target(spec, dir, {.new_session = true});
  REQUIRE(
      wait_until([&] { return fd_link(target.pid, 6) == "/dev/console"; }, 5s));
  let_it_run(200ms, 800ms);
  checkpoint_and_restart(target, dir);
  CHECK(fd_link(target.pid, 6) == "/dev/console");
  CHECK(process_stat(target.pid)->tty == 0);
  expect_finishes_within(target, reference, 15s);
}

// Issue 15: SIGIO must keep coming.
TEST_CASE("An O_ASYNC pipe keeps its owner and signal, and signals on",
          "[e2e][files][signals]") {
  TempDir dir;
  expect_round_trip(sigio(), dir);
}

// A thread of a process restored after the fd's holder.
TEST_CASE("An O_ASYNC pipe keeps signalling a thread of another process",
          "[e2e][files][signals]") {
  auto spec = sigio("thread");
  REQUIRE(reference_output(spec) ==
          "the child's thread took 40 of 40 signals, right fd\n"
          "child exited 0; read end: owner kept\n");
  TempDir dir;
  expect_tree_round_trip(spec, dir);
}

// Issue 15: a directory removed while the process works in it stays its
// working directory (empty, reachable by no path), made again and removed.
TEST_CASE("A deleted working directory comes back deleted", "[e2e][files]") {
  TempDir dir;
  expect_round_trip(deleted_cwd(), dir);
}

TEST_CASE("A deleted root directory, worked in, comes back deleted",
          "[e2e][files]") {
  TempDir dir;
  expect_round_trip(privileged(deleted_cwd("root")), dir); // chroot
}

// Issue 15: files of /proc are made again for the restored processes.
TEST_CASE("Open /proc files are reopened for the restored processes",
          "[e2e][files]") {
  TempDir dir;
  expect_tree_round_trip(proc_files(), dir, 1, "opened\n");
}
