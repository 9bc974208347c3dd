// cpr killed at any moment harms nothing (issue 14): SIGKILL of `cpr -c`
// leaves every process running as if nothing happened, SIGKILL of `cpr -r`
// leaves no process behind. Each case measures how long the command takes
// here first, then kills it at random moments over that time.
#include <catch2/catch.hpp>

#include "support/scenario.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <thread>

using namespace cpr_test;

namespace {

constexpr int kills = 20;
const std::vector<std::string> heap_mib{"256"};

// `catching`: it catches every signal cpr could stop its threads with.
TargetSpec steady(bool catching = false) {
  auto program = fs::path(CPR_TARGETS_BUILD_DIR) / "steady";
  if (catching)
    return {"steady", {program.string(), heap_mib[0], "catch"}};
  return {"steady", {program.string(), heap_mib[0]}};
}

void ask_to_stop(const fs::path &cwd) { std::ofstream(cwd / "stop") << "\n"; }

// Its output when nothing happens to it: told to stop from the start.
std::string reference() {
  static std::string out;
  if (out.empty()) {
    TempDir dir;
    ask_to_stop(dir.path());
    RunningTarget run = start_target(steady(), dir);
    REQUIRE(wait_exit(run.pid, 30s).success());
    out = read_file(run.out);
  }
  return out;
}

RunningTarget start_ready(const TempDir &dir, bool catching = false) {
  RunningTarget target = start_target(steady(catching), dir);
  auto ready = [&] {
    return file_size_or_zero(target.out) > 0 &&
           read_file(target.out) == "ready\n";
  };
  REQUIRE(wait_until(ready, 20s));
  return target;
}

std::vector<std::string> cpr_argv(const std::vector<std::string> &args) {
  std::vector<std::string> argv{cpr_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

milliseconds timed(const std::vector<std::string> &args) {
  auto start = std::chrono::steady_clock::now();
  CommandResult result = run_cpr(args);
  INFO(result.describe());
  REQUIRE(result.status.success());
  return std::chrono::duration_cast<milliseconds>(
      std::chrono::steady_clock::now() - start);
}

// A moment in [0, span], to the microsecond.
std::chrono::microseconds moment(milliseconds span) {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             random_delay(0ms, span)) +
         std::chrono::microseconds(random_delay(0ms, 999ms).count());
}

// cpr with `args`, SIGKILLed at `when` unless it ended before; true if it
// finished by itself.
bool run_cpr_killed(const std::vector<std::string> &args,
                    std::chrono::microseconds when) {
  note(fmt::format("cpr {} killed after {} us", fmt::join(args, " "),
                   when.count()));
  Spawned cpr = spawn(cpr_argv(args), {});
  std::this_thread::sleep_for(when);
  bool finished = has_exited(cpr.pid);
  ::kill(cpr.pid, SIGKILL);
  wait_exit(cpr.pid, 30s);
  return finished;
}

// Every thread runs on, traced by nobody, not stopped.
void expect_untouched(pid_t pid, std::size_t thread_count) {
  REQUIRE_FALSE(has_exited(pid));
  auto tids = thread_ids(pid);
  CHECK(tids.size() == thread_count);
  for (pid_t tid : tids) {
    auto untraced = [&] { return proc_status_field(tid, "TracerPid") == "0"; };
    CHECK(wait_until(untraced, 2s));
    auto st = process_stat(tid);
    REQUIRE(st);
    CHECK(st->state != 'T');
    CHECK(st->state != 't');
  }
}

// A snapshot fork (WILL CONT) that cpr left runs nothing of the process:
// it ends at once, a finished child of the process at most.
void expect_no_live_fork(pid_t pid) {
  auto ended = [&] {
    for (pid_t child : children_of(pid)) {
      auto st = process_stat(child);
      if (st && st->state != 'Z')
        return false;
    }
    return true;
  };
  CHECK(wait_until(ended, 5s));
}

void expect_stops_with_reference(const RunningTarget &target,
                                 const TempDir &dir) {
  ask_to_stop(dir.path());
  expect_finishes_with(target, reference());
}

// None of `pids` exists any more, zombies included; a restart that got as
// far as letting its process go is killed here. Returns whether it had.
bool expect_nothing_left(const std::vector<pid_t> &pids) {
  pid_t pid = pids.front();
  bool completed = false;
  auto gone = [&] {
    int status;
    (void)waitpid(pid, &status, WNOHANG); // a zombie reparented to the test
    for (pid_t p : pids)
      if (process_exists(p))
        return false;
    return true;
  };
  if (!wait_until(gone, 3s) && proc_status_field(pid, "TracerPid") == "0" &&
      process_name(pid) == "steady") {
    completed = true; // released before cpr died: it is the restarted one
    ::kill(pid, SIGKILL);
  }
  CHECK(wait_until(gone, 10s));
  return completed;
}

// Anonymous executable mappings, such as cpr's work area.
std::size_t anonymous_code_mappings(pid_t pid) {
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  std::size_t count = 0;
  for (std::string line; std::getline(maps, line);)
    count += line.find(" r-xp 00000000 00:00 0") != std::string::npos &&
             line.back() == ' ';
  return count;
}

} // namespace

// The moments around each step where a thread leaves its own code for
// cpr's or comes back (privilege.hpp: CPR_TEST_KILL_AT): before the first
// call has run, just after it mapped the work area, all threads resting in
// it, a snapshot fork just made, its pages being copied after the release,
// just after the work area was unmapped. With a stop signal and without one.
TEST_CASE("cpr -c killed at each delicate moment leaves the process as it was",
          "[e2e][kill_safety]") {
  reference();
  for (bool catching : {false, true})
    for (const char *moment :
         {"call-registers-set", "work-area-mapped", "prepared",
          "snapshot-taken", "snapshot-copying", "work-area-unmapped"}) {
      note(fmt::format("killed at {}{}", moment,
                       catching ? ", every stop signal caught" : ""));
      TempDir dir;
      RunningTarget target = start_ready(dir, catching);
      std::size_t threads = thread_ids(target.pid).size();
      std::size_t code_mappings = anonymous_code_mappings(target.pid);
      std::string pid = std::to_string(target.pid);
      CommandResult killed =
          run_cpr({"-c", (dir / "killed").string(), "-p", pid, "-g"}, {},
                  {fmt::format("CPR_TEST_KILL_AT={}", moment)});
      INFO(killed.describe());
      CHECK(killed.status.killed_by(SIGKILL));
      expect_untouched(target.pid, threads);
      expect_no_live_fork(target.pid);
      // The next checkpoint removes what the killed one left mapped.
      CommandResult next =
          run_cpr({"-c", (dir / "next").string(), "-p", pid, "-g"});
      INFO(next.describe());
      CHECK(next.status.success());
      CHECK(children_of(target.pid).empty()); // a fork left is collected
      if (std::string(moment) != "work-area-mapped" &&
          std::string(moment) != "call-registers-set")
        CHECK(anonymous_code_mappings(target.pid) == code_mappings);
      expect_stops_with_reference(target, dir);
    }
}

TEST_CASE("cpr -c -g killed at any moment leaves the process running",
          "[e2e][kill_safety]") {
  reference();
  TempDir dir;
  RunningTarget target = start_ready(dir);
  std::size_t threads = thread_ids(target.pid).size();
  std::string pid = std::to_string(target.pid);
  milliseconds takes =
      timed({"-c", (dir / "measured").string(), "-p", pid, "-g"});
  note(fmt::format("an uninterrupted checkpoint took {} ms", takes.count()));
  for (int i = 0; i < kills; ++i) {
    auto sf = dir / fmt::format("sf{}", i);
    run_cpr_killed({"-c", sf.string(), "-p", pid, "-g"}, moment(takes));
    expect_untouched(target.pid, threads);
    expect_no_live_fork(target.pid);
  }
  expect_stops_with_reference(target, dir);
}

TEST_CASE("cpr -c -g --since killed at any moment leaves the process "
          "running and the earlier statefile free to go",
          "[e2e][kill_safety][incremental]") {
  reference();
  TempDir dir;
  RunningTarget target = start_ready(dir);
  std::size_t threads = thread_ids(target.pid).size();
  std::string pid = std::to_string(target.pid);
  auto base = dir / "base", measured = dir / "measured";
  checkpoint(base, target.pid, {"-g"});
  milliseconds takes = timed(
      {"-c", measured.string(), "-p", pid, "-g", "--since", base.string()});
  for (int i = 0; i < kills; ++i) {
    auto sf = dir / fmt::format("sf{}", i);
    run_cpr_killed(
        {"-c", sf.string(), "-p", pid, "-g", "--since", base.string()},
        moment(takes));
    expect_untouched(target.pid, threads);
    expect_no_live_fork(target.pid);
  }
  // Only the checkpoints that finished hold on to the earlier one.
  expect_cpr_error(run_cpr({"-D", base.string()}), "Resource busy");
  std::vector<fs::path> finished{measured};
  for (int i = 0; i < kills; ++i)
    if (fs::exists(dir / fmt::format("sf{}", i) / "MANIFEST"))
      finished.push_back(dir / fmt::format("sf{}", i));
  finished.push_back(base);
  for (const fs::path &sf : finished) {
    CommandResult r = run_cpr({"-D", sf.string()});
    INFO(r.describe());
    CHECK(r.status.success());
  }
  expect_stops_with_reference(target, dir);
}

TEST_CASE("cpr -c killed before it kills leaves the process running",
          "[e2e][kill_safety]") {
  reference();
  TempDir dir;
  milliseconds takes;
  {
    TempDir scratch;
    RunningTarget measured = start_ready(scratch);
    auto pid = std::to_string(measured.pid);
    takes = timed({"-c", (scratch / "sf").string(), "-p", pid});
    wait_exit(measured.pid, 10s);
  }
  note(fmt::format("an uninterrupted checkpoint took {} ms", takes.count()));
  RunningTarget target = start_ready(dir);
  std::size_t threads = thread_ids(target.pid).size();
  int restarted = 0;
  for (int i = 0; i < kills; ++i) {
    auto sf = dir / fmt::format("sf{}", i);
    std::string pid = std::to_string(target.pid);
    run_cpr_killed({"-c", sf.string(), "-p", pid}, moment(takes));
    // It may be dying of cpr's SIGKILL still: wait until it runs or ended.
    auto settled = [&] {
      return has_exited(target.pid) ||
             (thread_ids(target.pid).size() == threads &&
              proc_status_field(target.pid, "TracerPid") == "0");
    };
    CHECK(wait_until(settled, 5s));
    if (!has_exited(target.pid)) {
      expect_untouched(target.pid, threads);
      continue;
    }
    // cpr got as far as killing it: the statefile is whole.
    CHECK(wait_exit(target.pid, 10s).killed_by(SIGKILL));
    REQUIRE(fs::exists(sf / "MANIFEST"));
    CommandResult result = run_cpr({"-r", sf.string()});
    INFO(result.describe());
    REQUIRE(result.status.success());
    REQUIRE(is_child_of_this(target.pid));
    ++restarted;
  }
  note(fmt::format("restarted {} times", restarted));
  expect_stops_with_reference(target, dir);
}

TEST_CASE("cpr -r killed at any moment leaves no process behind",
          "[e2e][kill_safety]") {
  reference();
  TempDir dir;
  RunningTarget target = start_ready(dir);
  std::vector<pid_t> saved = thread_ids(target.pid);
  auto sf = dir / "sf";
  checkpoint_and_reap(sf, target.pid);
  milliseconds takes = timed({"-r", sf.string()});
  note(fmt::format("an uninterrupted restart took {} ms", takes.count()));
  REQUIRE(expect_nothing_left(saved));
  int completed = 0;
  for (int i = 0; i < kills; ++i) {
    run_cpr_killed({"-r", sf.string()}, moment(takes));
    completed += expect_nothing_left(saved);
  }
  note(fmt::format("{} restarts were let go before cpr died", completed));
  CommandResult result = run_cpr({"-r", sf.string()});
  INFO(result.describe());
  REQUIRE(result.status.success());
  REQUIRE(is_child_of_this(target.pid));
  expect_stops_with_reference(target, dir);
}
