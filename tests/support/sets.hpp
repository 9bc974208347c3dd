// Steps of the process-set scenarios (issue 3: trees, groups, sessions,
// threads, zombies, stopped processes), checked with Catch2 assertions.
#pragma once

#include "support/scenario.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace cpr_test {

// What a restart must bring back of one process of a set.
struct SetMember {
  pid_t pid = -1;
  std::string name; // /proc/PID/comm
  char state = '?'; // Z zombie, T stopped, t traced, r any other
  pid_t ppid = -1;
  pid_t pgid = -1;
  pid_t sid = -1;
  std::vector<pid_t> tids;
  bool operator==(const SetMember &) const = default;
};
using SetIdentity = std::vector<SetMember>;

// The members as they are now; a process that is gone has pid -1.
SetIdentity identity_of_set(const std::vector<pid_t> &pids);
std::string describe(const SetIdentity &set);
std::vector<pid_t> pids_of(const SetIdentity &set);

// Waits up to 5 s until `parent` has `count` children and returns them.
std::vector<pid_t> wait_for_children(pid_t parent, std::size_t count);

// Runs `cpr -c sf -p IDS flags...`, IDS as the user writes it ("12:HID,13").
CommandResult try_checkpoint_set(const fs::path &sf, const std::string &ids,
                                 const std::vector<std::string> &flags = {});

// Checkpoint of `members` (the first is the test's child) by `ids` with a
// policy that kills: cpr exits 0, the first dies of SIGKILL, and every member
// is gone and reaped (zombies included). Returns their identities just before.
SetIdentity checkpoint_set_and_reap(const fs::path &sf, const std::string &ids,
                                    const std::vector<pid_t> &members,
                                    const std::vector<std::string> &flags = {});

// `cpr -r sf...` exits 0 and every process of `before` is back as it was:
// same PIDs, TIDs, parents (the test for those whose parent was outside the
// set), groups, sessions, zombie or stopped state.
void restart_set(const std::vector<fs::path> &statefiles,
                 const SetIdentity &before,
                 const std::vector<std::string> &flags = {});

// The whole round trip of one process: `cpr -c dir/statefile -p PID` kills
// the target, `cpr -r` brings it back as it was. Returns when the restart
// began.
std::chrono::steady_clock::time_point
checkpoint_and_restart(const RunningTarget &target, const TempDir &dir);

// The whole round trip of one target started in `dir`: it runs a while,
// is checkpointed (killed) and restarted, and finishes with the output of an
// uninterrupted run.
void expect_round_trip(const TargetSpec &spec, const TempDir &dir,
                       milliseconds lo = 300ms, milliseconds hi = 1200ms);
// The same for a target and the `children` it starts at once: the tree is
// checkpointed whole (PID:HID), once the target has printed `first_output`
// (if given) and run a while more.
void expect_tree_round_trip(const TargetSpec &spec, const TempDir &dir,
                            std::size_t children = 1,
                            const std::string &first_output = "");

// The target and the `children` it starts, checkpointed with -g (WILL
// CONT) mid-run: the set finishes as if never stopped, since the checkpoint
// took nothing out of it; then the statefile restarts and finishes the same
// way again.
void checkpoint_running_then_restart(const TargetSpec &spec,
                                     std::size_t children);

// Like expect_finishes_with, with a shorter time limit: a restored set that
// lost its shared memory would wait for ever.
void expect_finishes_within(const RunningTarget &target,
                            const std::string &reference, milliseconds timeout);

} // namespace cpr_test
