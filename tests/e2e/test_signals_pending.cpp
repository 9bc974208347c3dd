// Undelivered and queued signals are saved at checkpoint and delivered at
// restart: standard and real-time ones, pending for the whole process or for
// one thread, each with its siginfo, none lost, duplicated or reordered.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

#include <signal.h>

#include <cstdint>
#include <fstream>

using namespace cpr_test;

namespace {

std::uint64_t bit(int sig) { return std::uint64_t{1} << (sig - 1); }

// A field of /proc/PID/task/TID/status without its name.
std::string task_status_field(pid_t pid, pid_t tid, std::string_view field) {
  std::ifstream in(fmt::format("/proc/{}/task/{}/status", pid, tid));
  const std::string prefix = std::string(field) + ":";
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix))
      return line.substr(line.find_first_not_of(" \t", prefix.size()));
  throw HarnessError(
      fmt::format("no {} in /proc/{}/task/{}/status", field, pid, tid));
}

// The signals pending for the process and for each of its two threads.
struct Pending {
  std::uint64_t shared = 0;
  std::uint64_t main = 0;
  std::uint64_t extra = 0;
};

Pending pending_of(pid_t pid, pid_t extra) {
  auto mask = [&](pid_t tid, std::string_view field) {
    return std::stoull(task_status_field(pid, tid, field), nullptr, 16);
  };
  return {mask(pid, "ShdPnd"), mask(pid, "SigPnd"), mask(extra, "SigPnd")};
}

std::string describe(const Pending &p) {
  return fmt::format("shared {:016x} main {:016x} extra {:016x}", p.shared,
                     p.main, p.extra);
}

} // namespace

TEST_CASE("Pending signals of every kind are delivered after a restart",
          "[e2e][signals]") {
  auto spec = pending_signals();
  const std::string &reference = reference_output(spec);
  // The reference run took every signal sent: the test is not vacuous.
  for (const char *line : {"main thread: RTMIN+2 SI_QUEUE value 555 from self",
                           "main thread: SIGUSR1 SI_USER from self",
                           "main thread: RTMIN+2 SI_QUEUE value 111 from self",
                           "main thread: RTMIN+2 SI_QUEUE value 222 from self",
                           "main thread: RTMIN+5 SI_QUEUE value 333 from self",
                           "main thread: none left", "extra thread: SIGUSR2",
                           "extra thread: RTMIN+5 SI_QUEUE value 444 from self",
                           "extra thread: none left"})
    CHECK_THAT(reference, Catch::Contains(line));

  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  wait_for_output(target, "pending set\n");
  std::vector<pid_t> tids = thread_ids(target.pid);
  REQUIRE(tids.size() == 2);
  pid_t extra = tids[0] == target.pid ? tids[1] : tids[0];
  // It takes its signals some 2 s after "pending set".
  let_it_run(200ms, 600ms);

  const Pending expected{
      bit(SIGUSR1) | bit(SIGRTMIN + 2) | bit(SIGRTMIN + 5),
      bit(SIGRTMIN + 2),
      bit(SIGUSR2) | bit(SIGRTMIN + 5),
  };
  Pending before = pending_of(target.pid, extra);
  REQUIRE(describe(before) == describe(expected));
  // Queued signals of the user: the target's seven and any others.
  std::string sigq = proc_status_field(target.pid, "SigQ");
  INFO("SigQ " << sigq);
  CHECK(std::stoi(sigq) >= 7);

  auto sf = dir / "statefile";
  SetIdentity set_before =
      checkpoint_set_and_reap(sf, std::to_string(target.pid), {target.pid});
  // The signals were still pending when it was checkpointed: it had not
  // begun to take them (it does, 100 ms after "tick 19").
  REQUIRE(read_file(target.out).find("tick 19") == std::string::npos);
  restart_set({sf}, set_before);

  Pending after = pending_of(target.pid, extra);
  if (read_file(target.out).find("tick 19") == std::string::npos) {
    CHECK(describe(after) == describe(before));
  } else {
    WARN("the target began to take its signals before they were looked at");
  }
  expect_finishes_within(target, reference, 15s);
}
