// Pipes and FIFOs (issue 5): shell pipelines of ordinary programs and a FIFO
// between two processes, checkpointed mid-transfer, killed and restarted,
// end as an uninterrupted run does; bytes left in a pipe (a full 1 MiB pipe,
// a non-blocking one) come back unread, and a checkpoint that leaves the set
// running takes none out; processes blocked reading an empty pipe or writing
// a full one resume; a pipe to a process outside the set is refused, or with
// --outside-pipes becomes cpr's own stdin or stdout.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <set>

using namespace cpr_test;

namespace {

TargetSpec shell(const std::string &script) {
  return {"bash -c '" + script + "'", {"/bin/bash", "-c", script}};
}

// stdout of an uninterrupted run of `spec` in `dir`.
std::string uninterrupted_in(const TargetSpec &spec, const TempDir &dir) {
  SpawnOptions opts{.stdout_path = dir / "reference.txt",
                    .stderr_path = dir / "reference.err",
                    .cwd = dir.path()};
  ExitStatus status = wait_exit(spawn(spec.argv, opts).pid, 60s);
  INFO(spec.key() << " " << status.describe() << ", stderr "
                  << read_file(opts.stderr_path));
  REQUIRE(status.success());
  REQUIRE(read_file(opts.stderr_path).empty());
  return read_file(opts.stdout_path);
}

std::string statefile_info(const fs::path &sf) {
  CommandResult info = run_cpr({"-i", sf.string()});
  INFO(info.describe());
  REQUIRE(info.status.success());
  return info.out;
}

// A bash script leading its own session and `children` processes it starts,
// checkpointed by `type` (GID or HID) mid-run and killed.
struct ShellSet {
  RunningTarget script;
  SetIdentity before;
};

ShellSet checkpoint_shell(const TargetSpec &spec, const TempDir &dir,
                          std::size_t children, const std::string &type) {
  ShellSet set{start_target(spec, dir, {.new_session = true}), {}};
  std::vector<pid_t> members{set.script.pid};
  for (pid_t child : wait_for_children(set.script.pid, children))
    members.push_back(child);
  let_it_run();
  set.before = checkpoint_set_and_reap(
      dir / "statefile", fmt::format("{}:{}", set.script.pid, type), members);
  return set;
}

void restart_and_finish(const ShellSet &set, const TempDir &dir,
                        const std::string &reference) {
  restart_set({dir / "statefile"}, set.before);
  expect_finishes_within(set.script, reference, 20s);
}

void make_random_files(const fs::path &folder, int files, std::size_t bytes) {
  fs::create_directories(folder);
  std::mt19937_64 random(5);
  std::vector<std::uint64_t> block(bytes / sizeof(std::uint64_t));
  for (int i = 0; i < files; ++i) {
    for (auto &word : block)
      word = random();
    std::ofstream(folder / fmt::format("part{}", i), std::ios::binary)
        .write(reinterpret_cast<const char *>(block.data()),
               static_cast<std::streamsize>(block.size() * sizeof block[0]));
  }
}

} // namespace

TEST_CASE("A yes | head | sha256sum pipeline restarts and hashes as if never "
          "stopped",
          "[e2e][pipes][cpu]") {
  auto spec = shell("yes abcdefgh | head -c 500000000 | sha256sum");
  const std::string &reference = reference_output(spec);
  TempDir dir;
  ShellSet set = checkpoint_shell(spec, dir, 3, "GID");
  restart_and_finish(set, dir, reference);
}

TEST_CASE("A tar | gzip | wc pipeline restarts and counts as if never "
          "stopped",
          "[e2e][pipes][cpu]") {
  TempDir dir;
  make_random_files(dir / "somedir", 4, 16 << 20);
  auto spec = shell("tar c somedir | gzip -1 | wc -c");
  const std::string reference = uninterrupted_in(spec, dir);
  ShellSet set = checkpoint_shell(spec, dir, 3, "GID");
  restart_and_finish(set, dir, reference);
}

// cat opens /dev/fd/63, bash's end of the process substitution, again: a
// second open file description of the pipe's read end.
TEST_CASE("A pipe opened again through /dev/fd (process substitution) comes "
          "back as one pipe",
          "[e2e][pipes][cpu]") {
  auto spec = shell("cat <(yes abcdefgh | head -c 500000000) | sha256sum");
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget script = start_target(spec, dir, {.new_session = true});
  std::vector<pid_t> members;
  wait_until(
      [&] {
        members = descendants_of(script.pid);
        return members.size() >= 5; // cat, sha256sum, a subshell, yes, head
      },
      5s);
  REQUIRE(members.size() == 5);
  members.insert(members.begin(), script.pid);
  let_it_run();
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, fmt::format("{}:GID", script.pid), members);
  restart_set({sf}, before);
  expect_finishes_within(script, reference, 20s);
}

namespace {

const TargetSpec fifo_script = shell(
    "mkfifo fifo; yes abcdefgh | head -c 400000000 > fifo & sha256sum < fifo; "
    "wait");

} // namespace

TEST_CASE("A FIFO between two processes carries on after a restart",
          "[e2e][pipes][fifo][cpu]") {
  const std::string &reference = reference_output(fifo_script);
  TempDir dir;
  ShellSet set = checkpoint_shell(fifo_script, dir, 3, "HID");
  CHECK(statefile_info(dir / "statefile")
            .find("FIFO " + (dir / "fifo").string() + " (") !=
        std::string::npos);
  restart_and_finish(set, dir, reference);
}

TEST_CASE("A FIFO removed between checkpoint and restart is made again",
          "[e2e][pipes][fifo][cpu]") {
  const std::string &reference = reference_output(fifo_script);
  TempDir dir;
  ShellSet set = checkpoint_shell(fifo_script, dir, 3, "GID");
  REQUIRE(fs::remove(dir / "fifo"));
  restart_and_finish(set, dir, reference);
  CHECK(fs::is_fifo(dir / "fifo"));
}

namespace {

// pipe_data MODE: checkpointed while what the parent wrote sits in the pipe
// (`summary` is what `cpr -i` says of its read end), restarted, and the child
// reads it all as in an uninterrupted run.
void bytes_in_pipe_roundtrip(const std::string &mode,
                             const std::string &summary) {
  auto spec = pipe_data(mode);
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  std::vector<pid_t> members{target.pid, wait_for_children(target.pid, 1)[0]};
  let_it_run(200ms, 600ms);
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, fmt::format("{}:HID", target.pid), members);
  std::string info = statefile_info(sf);
  INFO(info);
  CHECK(info.find(summary) != std::string::npos);
  restart_set({sf}, before);
  expect_finishes_within(target, reference, 15s);
}

} // namespace

TEST_CASE("Bytes left in a pipe come back unread", "[e2e][pipes]") {
  CHECK(reference_output(pipe_data("small"))
            .starts_with("child: 50000 bytes queued, capacity 65536, "
                         "nonblock 0; read 50000 bytes"));
  bytes_in_pipe_roundtrip("small",
                          "(50000 bytes in it, capacity 65536, other end "
                          "closed)");
}

TEST_CASE("A 1 MiB pipe filled completely comes back full, as big",
          "[e2e][pipes]") {
  CHECK(reference_output(pipe_data("full"))
            .starts_with("child: 1048576 bytes queued, capacity 1048576"));
  bytes_in_pipe_roundtrip("full", "(1048576 bytes in it, capacity 1048576)");
}

TEST_CASE("A non-blocking pipe stays non-blocking, its bytes unread",
          "[e2e][pipes]") {
  CHECK(reference_output(pipe_data("nonblock")).find("child: then EAGAIN\n") !=
        std::string::npos);
  bytes_in_pipe_roundtrip("nonblock", "(30000 bytes in it, capacity 65536)");
}

TEST_CASE("A checkpoint that leaves a pipe's processes running takes nothing "
          "out of it",
          "[e2e][pipes]") {
  checkpoint_running_then_restart(pipe_data("full"), 1);
}

TEST_CASE("A checkpoint that leaves a FIFO's processes running takes nothing "
          "out of it",
          "[e2e][pipes][fifo][cpu]") {
  checkpoint_running_then_restart(fifo_script, 3);
}

namespace {

// The system call `pid` is in ("0" read, "1" write), or "running".
std::string syscall_of(pid_t pid) {
  std::string text = read_file(fmt::format("/proc/{}/syscall", pid));
  return text.substr(0, text.find_first_of(" \n"));
}

} // namespace

TEST_CASE("Processes blocked reading an empty pipe and writing a full one "
          "resume",
          "[e2e][pipes]") {
  auto spec = pipe_data("blocked");
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  std::vector<pid_t> children = wait_for_children(target.pid, 2);
  bool blocked = wait_until(
      [&] {
        std::set<std::string> calls{syscall_of(children[0]),
                                    syscall_of(children[1])};
        return calls == std::set<std::string>{"0", "1"};
      },
      1500ms);
  REQUIRE(blocked);
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, fmt::format("{}:HID", target.pid),
                              {target.pid, children[0], children[1]});
  CHECK(statefile_info(sf).find("(65536 bytes in it, capacity 65536)") !=
        std::string::npos);
  restart_set({sf}, before);
  expect_finishes_within(target, reference, 15s);
}

namespace {

// `cat` reading a pipe whose write end only the test holds, writing
// dir/stdout.txt; a child of the test in its own process group.
RunningTarget start_cat_on_pipe(const TempDir &dir, Fd &writer) {
  int ends[2];
  REQUIRE(pipe2(ends, O_CLOEXEC) == 0);
  Fd reader(ends[0]);
  writer = Fd(ends[1]);
  RunningTarget cat{-1, dir / "stdout.txt", dir / "stderr.txt", {}};
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  Fd out(open(cat.out.c_str(), flags, 0644));
  Fd err(open(cat.err.c_str(), flags, 0644));
  REQUIRE((out.get() >= 0 && err.get() >= 0));
  cat.pid = fork();
  REQUIRE(cat.pid >= 0);
  if (cat.pid == 0) {
    setpgid(0, 0);
    if (dup2(reader.get(), 0) < 0 || dup2(out.get(), 1) < 0 ||
        dup2(err.get(), 2) < 0)
      _exit(126);
    close_range(3, ~0U, 0);
    execl("/bin/cat", "cat", nullptr);
    _exit(127);
  }
  setpgid(cat.pid, cat.pid);
  return cat;
}

void send(const Fd &writer, const std::string &text, const RunningTarget &cat,
          const std::string &expected_out) {
  REQUIRE(write(writer.get(), text.data(), text.size()) ==
          static_cast<ssize_t>(text.size()));
  bool echoed =
      wait_until([&] { return read_file(cat.out) == expected_out; }, 5s);
  INFO("cat wrote '" << read_file(cat.out) << "'");
  REQUIRE(echoed);
}

// `cpr -r sf` with its stdin and stdout redirected by bash ("<", "> out").
CommandResult restart_redirected(const fs::path &sf, const std::string &how,
                                 const fs::path &file) {
  return run_command({"/bin/bash", "-c",
                      fmt::format("exec \"$0\" -r \"$1\" {} \"$2\"", how),
                      cpr_binary().string(), sf.string(), file.string()});
}

void expect_back(const CommandResult &restarted, const SetIdentity &before) {
  INFO("cpr -r: " << restarted.describe());
  REQUIRE(restarted.status.success());
  CHECK(describe(identity_of_set(pids_of(before))) == describe(before));
}

} // namespace

TEST_CASE("A pipe from outside the set is refused, or with --outside-pipes "
          "becomes cpr's stdin",
          "[e2e][pipes][outside]") {
  TempDir dir;
  Fd writer;
  RunningTarget cat = start_cat_on_pipe(dir, writer);
  send(writer, "before\n", cat, "before\n");

  auto sf = dir / "statefile";
  CommandResult refused = try_checkpoint_set(sf, std::to_string(cat.pid));
  expect_cpr_error(refused, "Checkpoint error");
  CHECK(refused.err.find(fmt::format("process {} fd 0", cat.pid)) !=
        std::string::npos);
  CHECK(refused.err.find(fmt::format("process {} fd {}", getpid(),
                                     writer.get())) != std::string::npos);
  CHECK_FALSE(fs::exists(sf));
  REQUIRE(process_stat(cat.pid));
  CHECK(process_stat(cat.pid)->state == 'S');
  send(writer, "middle\n", cat, "before\nmiddle\n");

  SetIdentity before = checkpoint_set_and_reap(sf, std::to_string(cat.pid),
                                               {cat.pid}, {"--outside-pipes"});
  CHECK(statefile_info(sf).find("other end: cpr's stdin") != std::string::npos);
  writer = Fd();
  auto input = dir / "input";
  REQUIRE(mkfifo(input.c_str(), 0600) == 0);
  Fd feeder(open(input.c_str(), O_RDWR | O_CLOEXEC));
  expect_back(restart_redirected(sf, "<", input), before);
  send(feeder, "after restart\n", cat, "before\nmiddle\nafter restart\n");
  feeder = Fd();
  expect_finishes_within(cat, "before\nmiddle\nafter restart\n", 10s);
}

TEST_CASE("With --outside-pipes a pipe to a reader outside the set becomes "
          "cpr's stdout",
          "[e2e][pipes][outside][cpu]") {
  auto spec = loop_sh({"300000"});
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir, {.stdout_to_pipe = true});
  let_it_run();
  auto sf = dir / "statefile";
  CommandResult refused = try_checkpoint_set(sf, std::to_string(target.pid));
  expect_cpr_error(refused, "Checkpoint error");
  CHECK(refused.err.find(fmt::format("process {} fd 1", target.pid)) !=
        std::string::npos);
  CHECK_FALSE(fs::exists(sf));

  SetIdentity before = checkpoint_set_and_reap(
      sf, std::to_string(target.pid), {target.pid}, {"--outside-pipes"});
  std::string printed = read_available(target.stdout_pipe.get());
  CHECK(statefile_info(sf).find("other end: cpr's stdout") !=
        std::string::npos);
  auto rest = dir / "after_restart.txt";
  expect_back(restart_redirected(sf, ">", rest), before);
  ExitStatus status = wait_exit(target.pid, 15s);
  CHECK(status.success());
  CHECK(output_mismatch(printed + read_file(rest), reference) == "");
  CHECK(read_file(target.err) == "");
}
