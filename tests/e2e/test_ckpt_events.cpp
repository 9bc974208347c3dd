// SIGCKPT and SIGRESTART (the guide, "SIGCKPT and SIGRESTART", "Checkpoint
// Time-outs"): a checkpoint waits for the callbacks registered with
// atcheckpoint(); at restart the atrestart() ones run first; a callback that
// does not return in time fails the checkpoint and leaves the process going.
// And a process that checkpoints itself with ckpt_create().
#include <catch2/catch.hpp>

#include "support/sets.hpp"

#include <csignal>
#include <sstream>

using namespace cpr_test;

namespace {

std::vector<std::string> lines_of(const std::string &text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

bool is_callback_line(const std::string &line) {
  return line.find("handler") != std::string::npos;
}

std::string without_callback_lines(const std::string &text) {
  std::string out;
  for (const std::string &line : lines_of(text))
    if (!is_callback_line(line))
      out += line + "\n";
  return out;
}

std::vector<std::string> callback_lines(const std::string &text) {
  std::vector<std::string> out;
  for (const std::string &line : lines_of(text))
    if (is_callback_line(line))
      out.push_back(line);
  return out;
}

// The target exits 0; returns everything it wrote.
std::string finish(const RunningTarget &target) {
  ExitStatus status = wait_exit(target.pid, 20s);
  INFO("target: " << status.describe());
  CHECK(status.success());
  CHECK(read_file(target.err).empty());
  return read_file(target.out);
}

} // namespace

TEST_CASE(
    "A checkpoint waits for the atcheckpoint callbacks, and at restart the "
    "atrestart ones run first",
    "[e2e][api][events]") {
  auto spec = ckpt_events(1);
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, std::to_string(target.pid), {target.pid});
  // cpr froze the process only once the callback (1 s long) had returned.
  std::string at_checkpoint = read_file(target.out);
  CHECK(callback_lines(at_checkpoint) ==
        std::vector<std::string>{"checkpoint handler",
                                 "checkpoint handler returned"});
  restart_set({sf}, before);
  std::string out = finish(target);
  CHECK(output_mismatch(without_callback_lines(out), reference) == "");
  CHECK(callback_lines(out) ==
        std::vector<std::string>{"checkpoint handler",
                                 "checkpoint handler returned",
                                 "restart handler"});
  // The restart callback is the first thing the restored process ran.
  auto lines = lines_of(out);
  auto returned = lines_of(at_checkpoint).size();
  REQUIRE(lines.size() > returned);
  CHECK(lines[returned] == "restart handler");
}

TEST_CASE("A SIGCKPT callback that does not return in time fails the "
          "checkpoint, and the process goes on",
          "[e2e][api][events][errors]") {
  auto spec = ckpt_events(3);
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  auto started = std::chrono::steady_clock::now();
  CommandResult r =
      try_checkpoint_set(sf, std::to_string(target.pid), {"--timeout", "1"});
  auto took = std::chrono::steady_clock::now() - started;
  expect_cpr_error(r, "Resource busy: process " + std::to_string(target.pid) +
                          " has not returned from its SIGCKPT handler "
                          "within 1 s");
  CHECK(took < 2500ms);
  CHECK_FALSE(fs::exists(sf));
  // Its callback finishes, then it is sent SIGRESTART: nothing happened.
  std::string out = finish(target);
  CHECK(output_mismatch(without_callback_lines(out), reference) == "");
  CHECK(callback_lines(out) ==
        std::vector<std::string>{"checkpoint handler",
                                 "checkpoint handler returned",
                                 "restart handler"});
}

TEST_CASE("With -g the processes go on and their atrestart callbacks run",
          "[e2e][api][events]") {
  auto spec = ckpt_events(0);
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  CommandResult r =
      try_checkpoint_set(dir / "statefile", std::to_string(target.pid), {"-g"});
  INFO(r.describe());
  REQUIRE(r.status.success());
  std::string out = finish(target);
  CHECK(output_mismatch(without_callback_lines(out), reference) == "");
  CHECK(callback_lines(out) ==
        std::vector<std::string>{"checkpoint handler",
                                 "checkpoint handler returned",
                                 "restart handler"});
}

namespace {

std::string count_with(const std::string &returned) {
  std::string out;
  for (int i = 0; i < 10; ++i) {
    out += std::to_string(i) + "\n";
    if (i == 4)
      out += "ckpt_create returned " + returned + "\n";
  }
  return out;
}

} // namespace

TEST_CASE("A process checkpoints itself with ckpt_create: 0 in the original, "
          "CKPT_RESTARTED in the restarted copy",
          "[e2e][api][self]") {
  TempDir dir;
  auto sf = dir / "statefile";
  SECTION("CKPT_CHECKPOINT_CONT: the original goes on") {
    RunningTarget target = start_target(self_checkpoint(sf, "cont"), dir);
    CHECK(output_mismatch(finish(target), count_with("0")) == "");
    REQUIRE(fs::is_directory(sf));
    CommandResult r = run_cpr({"-r", sf.string()});
    INFO(r.describe());
    REQUIRE(r.status.success());
    // The copy writes on from the offset saved: its line replaces the
    // original's, which has the same length.
    CHECK(output_mismatch(finish(target), count_with("CKPT_RESTARTED")) == "");
  }
  SECTION("CKPT_ARG_COMPRESS: the memory is compressed at the level asked") {
    RunningTarget target = start_target(self_checkpoint(sf, "compress"), dir);
    CHECK(output_mismatch(finish(target), count_with("0")) == "");
    CHECK_THAT(run_cpr({"-i", sf.string()}).out,
               Catch::Contains("Compression:\t\tzstd, level 3"));
    CommandResult r = run_cpr({"-r", sf.string()});
    INFO(r.describe());
    REQUIRE(r.status.success());
    CHECK(output_mismatch(finish(target), count_with("CKPT_RESTARTED")) == "");
  }
  SECTION("CKPT_ARG_SINCE: an incremental checkpoint of itself") {
    RunningTarget target = start_target(self_checkpoint(sf, "since"), dir);
    CHECK(output_mismatch(finish(target), count_with("0")) == "");
    CHECK_THAT(run_cpr({"-i", sf.string()}).out,
               Catch::Contains("Made since:\t\t" + sf.string() + ".base"));
    CommandResult r = run_cpr({"-r", sf.string()});
    INFO(r.describe());
    REQUIRE(r.status.success());
    CHECK(output_mismatch(finish(target), count_with("CKPT_RESTARTED")) == "");
  }
  SECTION("CKPT_CHECKPOINT_KILL: only the restarted copy goes on") {
    RunningTarget target = start_target(self_checkpoint(sf, "kill"), dir);
    ExitStatus status = wait_exit(target.pid, 20s);
    CHECK(status.killed_by(SIGKILL));
    CHECK(read_file(target.out) == "0\n1\n2\n3\n4\n");
    // ckpt_create's child, orphaned, ends up here: until it is reaped, the
    // process group it is in (the target's PID) is not free.
    for (pid_t orphan : children_of_this())
      wait_exit(orphan, 10s);
    CommandResult r = run_cpr({"-r", sf.string()});
    INFO(r.describe());
    REQUIRE(r.status.success());
    CHECK(output_mismatch(finish(target), count_with("CKPT_RESTARTED")) == "");
  }
}
