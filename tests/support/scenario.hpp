// Steps of the end-to-end scenarios, each checked with Catch2 assertions.
#pragma once

#include "support/harness.hpp"
#include "support/targets.hpp"

#include <csignal>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cpr_test {

// What a restart must bring back as it was at checkpoint time.
struct ProcessIdentity {
  pid_t pid = -1;
  std::string name; // /proc/PID/comm
  fs::path cwd;
  std::string uids; // Uid: real, effective, saved, fs
  std::string gids;
  bool operator==(const ProcessIdentity &) const = default;
};

// Notes on what a scenario chose (delays, PIDs): the test runner prints them
// when a test case fails, since a random delay cannot be attached to the
// assertion that later fails.
void note(std::string text);
std::vector<std::string> take_notes();

ProcessIdentity identity_of(pid_t pid);
std::string describe(const ProcessIdentity &identity);

// Waits until the target's stdout holds `text` (REQUIREd, within `timeout`).
void wait_for_output(const RunningTarget &target, std::string_view text,
                     milliseconds timeout = 5s);
// A fixture statefile of an earlier release (tests/fixtures), unpacked into
// `dir` (emptied first) and resealed with this host's key, as root would:
// its statefile's path.
fs::path unpack_fixture(const fs::path &tarball, const fs::path &dir);

// Lets a target work for a pseudo-random time in [lo, hi], and logs it.
void let_it_run(milliseconds lo = 300ms, milliseconds hi = 900ms);
// Creates `file` (a target waiting for it: "stop", "step").
void touch(const fs::path &file);
// What the statefile's pages files hold, in bytes.
std::uintmax_t pages_bytes_of(const fs::path &statefile);
// Sends `signal` (SIGSTOP, SIGTSTP) and waits until the process is stopped.
void stop_and_wait(pid_t pid, int signal = SIGSTOP);
// dirwalk, once it has made its files and walked a while.
RunningTarget start_walking(const TargetSpec &dirwalk, const TempDir &dir);

// Runs `cpr -c sf -p PID flags...`.
CommandResult try_checkpoint(const fs::path &sf, pid_t pid,
                             const std::vector<std::string> &flags = {});

// `cpr -c sf -p PID flags...` exits 0 and makes the statefile.
void checkpoint(const fs::path &sf, pid_t pid,
                const std::vector<std::string> &flags = {});

// Checkpoint with a policy that kills: cpr exits 0, the target dies of
// SIGKILL and is reaped. Returns the target's identity just before.
ProcessIdentity checkpoint_and_reap(const fs::path &sf, pid_t pid,
                                    const std::vector<std::string> &flags = {});

// `cpr -r sf` exits 0 and the process is back, a child of the test (its
// subreaper), with the identity it had.
void restart(const fs::path &sf, const ProcessIdentity &before);

// The target exits 0, having written exactly `reference` and no stderr.
void expect_finishes_with(const RunningTarget &target,
                          const std::string &reference);

// cpr failed: non-zero exit and one stderr line "cpr: ..." with `phrase`.
void expect_cpr_error(const CommandResult &result, std::string_view phrase);

// `pid` is still a live child of the test and its output keeps growing.
void expect_still_running(pid_t pid,
                          const std::function<std::size_t()> &output_size);
void expect_still_running(const RunningTarget &target);

// `pid` does not exist and the test has no child left (zombies reaped).
void expect_no_process_left(pid_t pid);

} // namespace cpr_test
