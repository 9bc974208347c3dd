// The guide's FILE dispositions, each given by an attribute file to a
// program writing lines to a file; between checkpoint and restart the file
// is changed the way each disposition is about (edited, appended to), and
// the file's exact contents after the restarted program ends are what the
// guide's description implies.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

#include <fcntl.h>
#include <fstream>
#include <memory>
#include <sys/mount.h>
#include <sys/stat.h>

using namespace cpr_test;

namespace {

std::string lines(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i)
    out += fmt::format("line {:02}\n", i);
  return out;
}

// What file_writer ... verify prints when its file holds `contents`.
std::string verified(const std::string &contents) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : contents)
    h = (h ^ c) * 0x100000001b3ull;
  return fmt::format("file has {} bytes, hash {:016x}\ndone\n", contents.size(),
                     h);
}

void write_text(const fs::path &path, const std::string &text,
                std::ios::openmode mode = std::ios::trunc) {
  std::ofstream(path, std::ios::binary | std::ios::out | mode) << text;
}

struct Checkpointed {
  TempDir dir;
  fs::path data = dir / "data"; // the disposition's folder: not stdout's
  fs::path file = data / "out.dat";
  fs::path sf = dir / "statefile";
  fs::path home = dir / "home";
  TargetSpec spec;
  RunningTarget target;
  SetIdentity before;
  std::string at_checkpoint; // the file's contents then
  int written = 0;           // lines, by then
};

// file_writer on data/out.dat, checkpointed (and killed) mid-run with
// $HOME/.cpr saying `FILE: "DIR/data/*": disposition`.
std::unique_ptr<Checkpointed>
checkpoint_writer(const std::string &disposition,
                  std::vector<std::string> writer_args,
                  std::vector<std::string> cpr_flags = {}) {
  auto c = std::make_unique<Checkpointed>();
  writer_args.insert(writer_args.begin(), "data/out.dat");
  c->spec = file_writer(writer_args);
  fs::create_directories(c->data);
  c->target = start_target(c->spec, c->dir);
  fs::create_directories(c->home);
  write_text(c->home / ".cpr",
             fmt::format("CKPT PID {} {{\n    FILE: \"{}/*\": {}\n}}\n",
                         c->target.pid, c->data.string(), disposition));
  let_it_run();
  c->before = identity_of_set({c->target.pid});
  struct stat before {};
  REQUIRE(::stat(c->file.c_str(), &before) == 0);
  std::vector<std::string> args{"-c", c->sf.string(), "-p",
                                std::to_string(c->target.pid)};
  args.insert(args.end(), cpr_flags.begin(), cpr_flags.end());
  CommandResult r = run_cpr(args, {}, {"HOME=" + c->home.string()});
  INFO(r.describe());
  REQUIRE(r.status.success());
  wait_exit(c->target.pid, 10s);
  // Saving a copy reads the file without touching its access time.
  struct stat after {};
  REQUIRE(::stat(c->file.c_str(), &after) == 0);
  CHECK(after.st_atim.tv_sec == before.st_atim.tv_sec);
  CHECK(after.st_atim.tv_nsec == before.st_atim.tv_nsec);
  c->at_checkpoint = read_file(c->file);
  c->written = static_cast<int>(c->at_checkpoint.size() / 8);
  REQUIRE(c->at_checkpoint == lines(0, c->written));
  REQUIRE(c->written >= 1);
  return c;
}

void restart_and_finish(Checkpointed &c, const std::string &reference) {
  restart_set({c.sf}, c.before);
  expect_finishes_within(c.target, reference, 15s);
}

} // namespace

TEST_CASE("MERGE reopens the file and writes on from the saved offset",
          "[e2e][files][dispositions]") {
  auto c = checkpoint_writer("MERGE", {});
  write_text(c->file, "EDITED\n");
  restart_and_finish(*c, "done\n");
  CHECK(read_file(c->file) ==
        "EDITED\n" + std::string(c->at_checkpoint.size() - 7, '\0') +
            lines(c->written, 40));
}

TEST_CASE("IGNORE reopens the file as first opened: truncated, at offset 0",
          "[e2e][files][dispositions]") {
  auto c = checkpoint_writer("IGNORE", {});
  restart_and_finish(*c, "done\n");
  CHECK(read_file(c->file) == lines(c->written, 40));
}

TEST_CASE("APPEND writes on at the end of what the file has become",
          "[e2e][files][dispositions]") {
  auto c = checkpoint_writer("APPEND", {});
  write_text(c->file, "appended by someone else\n", std::ios::app);
  restart_and_finish(*c, "done\n");
  CHECK(read_file(c->file) == c->at_checkpoint + "appended by someone else\n" +
                                  lines(c->written, 40));
}

TEST_CASE("REPLACE puts the saved file back over changes made since",
          "[e2e][files][dispositions]") {
  auto c = checkpoint_writer("REPLACE", {"w", "verify"});
  write_text(c->file, "EDITED\n");
  restart_and_finish(*c, verified(lines(0, 40)));
  CHECK(read_file(c->file) == lines(0, 40));
}

// Issue 15: the file put back is as it was, times included.
TEST_CASE("REPLACE puts back the file's access and modification times",
          "[e2e][files][dispositions]") {
  TempDir dir;
  fs::create_directories(dir / "data");
  fs::path file = dir / "data" / "in.dat";
  write_text(file, "kept\n");
  const timespec old_times[2] = {{1000000000, 123}, {1100000000, 456}};
  REQUIRE(::utimensat(AT_FDCWD, file.c_str(), old_times, 0) == 0);
  if (auto owner = targets_owner()) // only a file's owner may set its times
    REQUIRE(::chown(file.c_str(), owner->uid, owner->gid) == 0);
  RunningTarget target = start_target(file_writer({"data/in.dat", "r"}), dir);
  fs::create_directories(dir / "home");
  write_text(dir / "home" / ".cpr",
             fmt::format("CKPT PID {} {{\n    FILE: \"{}/*\": REPLACE\n}}\n",
                         target.pid, (dir / "data").string()));
  let_it_run();
  SetIdentity before = identity_of_set({target.pid});
  auto sf = dir / "statefile";
  CommandResult r =
      run_cpr({"-c", sf.string(), "-p", std::to_string(target.pid)}, {},
              {"HOME=" + (dir / "home").string()});
  INFO(r.describe());
  REQUIRE(r.status.success());
  wait_exit(target.pid, 10s);
  write_text(file, "EDITED\n");
  restart_set({sf}, before);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK(read_file(file) == "kept\n");
  CHECK(st.st_atim.tv_sec == old_times[0].tv_sec);
  CHECK(st.st_atim.tv_nsec == old_times[0].tv_nsec);
  CHECK(st.st_mtim.tv_sec == old_times[1].tv_sec);
  CHECK(st.st_mtim.tv_nsec == old_times[1].tv_nsec);
  expect_finishes_within(target, "done\n", 15s);
}

TEST_CASE("SUBSTITUTE gives the program the saved copy, the original untouched",
          "[e2e][files][dispositions]") {
  auto c = checkpoint_writer("SUBSTITUTE", {"w", "verify"});
  write_text(c->file, "EDITED\n");
  restart_and_finish(*c, verified(lines(0, 40)));
  CHECK(read_file(c->file) == "EDITED\n");
}

TEST_CASE("With --distribute saved files go beside the originals and -D "
          "removes them",
          "[e2e][files][dispositions]") {
  auto c = checkpoint_writer("REPLACE", {}, {"--distribute"});
  fs::path copy = c->data / fmt::format("out.dat.ckpt.pid{}", c->target.pid);
  CHECK(read_file(copy) == c->at_checkpoint);
  CHECK_FALSE(fs::exists(c->sf / "files"));
  write_text(c->file, "EDITED\n");
  restart_and_finish(*c, "done\n");
  CHECK(read_file(c->file) == lines(0, 40));
  CommandResult removed = run_cpr({"-D", c->sf.string()});
  CHECK(removed.status.success());
  CHECK_FALSE(fs::exists(copy));
}

TEST_CASE("A file gone at restart with a disposition that needs it is "
          "component unavailable",
          "[e2e][files][dispositions][errors]") {
  auto c = checkpoint_writer("APPEND", {});
  fs::remove(c->file);
  CommandResult r = run_cpr({"-r", c->sf.string()});
  expect_cpr_error(r, "component unavailable");
  CHECK(r.err.find(c->file.string()) != std::string::npos);
  expect_no_process_left(c->target.pid);
}

// The guide's example attribute file, as printed, but for this PID.
TEST_CASE("The guide's example attribute file works as the guide says",
          "[e2e][files][dispositions][policies]") {
  TempDir dir;
  REQUIRE(dir.path().string().starts_with("/tmp/"));
  auto spec = file_writer({"out.dat"});
  RunningTarget target = start_target(spec, dir);
  fs::create_directories(dir / "home");
  write_text(dir / "home" / ".cpr", fmt::format(R"(CKPT PID {} {{
    FILE: "/tmp/*": REPLACE
    WILL CONT
    FORK ANY
}}
)",
                                                target.pid));
  let_it_run();
  SetIdentity before = identity_of_set({target.pid});
  auto sf = dir / "statefile";
  CommandResult r =
      run_cpr({"-c", sf.string(), "-p", std::to_string(target.pid)}, {},
              {"HOME=" + (dir / "home").string()});
  INFO(r.describe());
  REQUIRE(r.status.success());
  expect_finishes_within(target, "done\n", 15s); // WILL CONT: it ran on
  CHECK(read_file(dir / "out.dat") == lines(0, 40));
  write_text(dir / "out.dat", "EDITED\n");
  restart_set({sf}, before);
  // Both its files are under /tmp: out.dat and its stdout are put back as
  // they were at the checkpoint, and it writes on from there.
  expect_finishes_within(target, "done\n", 15s);
  CHECK(read_file(dir / "out.dat") == lines(0, 40));
}

TEST_CASE("A file opened O_APPEND keeps the flag: MERGE writes at the end",
          "[e2e][files][dispositions]") {
  auto c = checkpoint_writer("MERGE", {"a"});
  write_text(c->file, "appended by someone else\n", std::ios::app);
  restart_and_finish(*c, "done\n");
  CHECK(read_file(c->file) == c->at_checkpoint + "appended by someone else\n" +
                                  lines(c->written, 40));
}

TEST_CASE("A file opened through a symlink, on another filesystem, comes back",
          "[e2e][files]") {
  TempDir dir;
  fs::path elsewhere =
      fs::path("/dev/shm") /
      fmt::format("cpr-e2e-{}", dir.path().filename().string());
  fs::create_directories(elsewhere);
  struct Remove {
    fs::path p;
    ~Remove() { fs::remove_all(p); }
  } cleanup{elsewhere};
  fs::create_directory_symlink(elsewhere, dir / "data");
  RunningTarget target = start_target(file_writer({"data/out.dat"}), dir);
  let_it_run();
  checkpoint_and_restart(target, dir);
  expect_finishes_within(target, "done\n", 15s);
  CHECK(read_file(elsewhere / "out.dat") == lines(0, 40));
}

// Issue 15: what a restart will reopen is tried at checkpoint, before WILL
// EXIT ends the job: here the file's path now leads into a file system
// mounted over its directory, where there is no such file.
TEST_CASE("A file its path no longer reaches fails the checkpoint, not the "
          "restart",
          "[e2e][files][errors]") {
  TempDir dir;
  fs::create_directories(dir / "data");
  RunningTarget target = start_target(file_writer({"data/out.dat"}), dir);
  let_it_run();
  REQUIRE(::mount("none", (dir / "data").c_str(), "tmpfs", 0, nullptr) == 0);
  struct Unmount {
    fs::path at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{dir / "data"};
  auto sf = dir / "statefile";
  CommandResult result = try_checkpoint(sf, target.pid);
  expect_cpr_error(result, "Checkpoint error");
  CHECK(result.err.find(fmt::format("process {} fd 3 ({}) could not be "
                                    "reopened at restart: No such file",
                                    target.pid,
                                    (dir / "data" / "out.dat").string())) !=
        std::string::npos);
  CHECK_FALSE(fs::exists(sf));
  expect_still_running(target);
  expect_finishes_within(target, "done\n", 15s);
}
