#include "support/sets.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace cpr_test {
namespace {

char normal_state(char state) {
  switch (state) {
  case 'Z':
  case 'T':
  case 't':
  case '?':
    return state;
  default:
    return 'r'; // running or sleeping: which one is a matter of timing
  }
}

// Reaps what of `pids` is a child of the test, until none of them exists.
bool reap_all(const std::vector<pid_t> &pids, milliseconds timeout) {
  return wait_until(
      [&] {
        bool any = false;
        for (pid_t pid : pids) {
          int status = 0;
          waitpid(pid, &status, WNOHANG);
          any = any || process_exists(pid);
        }
        return !any;
      },
      timeout);
}

} // namespace

SetIdentity identity_of_set(const std::vector<pid_t> &pids) {
  SetIdentity set;
  for (pid_t pid : pids) {
    auto stat = process_stat(pid);
    if (!stat) {
      set.push_back({});
      continue;
    }
    set.push_back({pid, process_name(pid), normal_state(stat->state),
                   stat->ppid, stat->pgid, stat->sid, thread_ids(pid)});
  }
  return set;
}

std::string describe(const SetIdentity &set) {
  std::string text;
  for (const auto &m : set)
    text += fmt::format("pid {} '{}' state {} ppid {} pgid {} sid {} tids {}\n",
                        m.pid, m.name, m.state, m.ppid, m.pgid, m.sid,
                        fmt::join(m.tids, ","));
  return text;
}

std::vector<pid_t> pids_of(const SetIdentity &set) {
  std::vector<pid_t> pids;
  for (const auto &member : set)
    pids.push_back(member.pid);
  return pids;
}

std::vector<pid_t> wait_for_children(pid_t parent, std::size_t count) {
  std::vector<pid_t> children;
  wait_until(
      [&] {
        children = children_of(parent);
        return children.size() >= count;
      },
      5s);
  INFO("children of " << parent << ": "
                      << fmt::format("{}", fmt::join(children, ",")));
  REQUIRE(children.size() == count);
  return children;
}

CommandResult try_checkpoint_set(const fs::path &sf, const std::string &ids,
                                 const std::vector<std::string> &flags) {
  std::vector<std::string> args{"-c", sf.string(), "-p", ids};
  args.insert(args.end(), flags.begin(), flags.end());
  note(fmt::format("cpr {}", fmt::join(args, " ")));
  return run_cpr(args);
}

SetIdentity checkpoint_set_and_reap(const fs::path &sf, const std::string &ids,
                                    const std::vector<pid_t> &members,
                                    const std::vector<std::string> &flags) {
  REQUIRE_FALSE(members.empty());
  REQUIRE(is_child_of_this(members.front()));
  SetIdentity before = identity_of_set(members);
  for (const auto &member : before) {
    std::string line = describe(SetIdentity{member});
    line.pop_back(); // its newline
    note("before checkpoint: " + line);
  }
  REQUIRE(pids_of(before) == members);

  CommandResult result = try_checkpoint_set(sf, ids, flags);
  INFO("cpr -c " << sf.string() << " -p " << ids << ": " << result.describe());
  REQUIRE(result.status.success());
  REQUIRE(fs::is_directory(sf));

  ExitStatus status = wait_exit(members.front(), 10s);
  INFO("checkpointed set leader " << status.describe());
  CHECK(status.killed_by(SIGKILL));
  // The others come to the test (the subreaper) as their parents die.
  bool all_gone = reap_all(members, 10s);
  INFO("set members left after 10 s:\n" << describe(identity_of_set(members)));
  CHECK(all_gone);
  return before;
}

void restart_set(const std::vector<fs::path> &statefiles,
                 const SetIdentity &before,
                 const std::vector<std::string> &flags) {
  for (pid_t pid : pids_of(before))
    REQUIRE_FALSE(process_exists(pid));
  std::vector<std::string> args{"-r"};
  args.insert(args.end(), flags.begin(), flags.end());
  for (const auto &sf : statefiles)
    args.push_back(sf.string());
  note(fmt::format("cpr {}", fmt::join(args, " ")));
  CommandResult result = run_cpr(args);
  INFO("cpr " << fmt::format("{}", fmt::join(args, " ")) << ": "
              << result.describe());
  REQUIRE(result.status.success());
  SetIdentity after = identity_of_set(pids_of(before));
  INFO("before:\n" << describe(before));
  CHECK(describe(after) == describe(before));
}

std::chrono::steady_clock::time_point
checkpoint_and_restart(const RunningTarget &target, const TempDir &dir) {
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, std::to_string(target.pid), {target.pid});
  auto restarted = std::chrono::steady_clock::now();
  restart_set({sf}, before);
  return restarted;
}

void expect_round_trip(const TargetSpec &spec, const TempDir &dir,
                       milliseconds lo, milliseconds hi) {
  const std::string &reference = reference_output(spec);
  RunningTarget target = start_target(spec, dir);
  let_it_run(lo, hi);
  checkpoint_and_restart(target, dir);
  expect_finishes_within(target, reference, 15s);
}

void expect_tree_round_trip(const TargetSpec &spec, const TempDir &dir,
                            std::size_t children,
                            const std::string &first_output) {
  const std::string &reference = reference_output(spec);
  RunningTarget target = start_target(spec, dir);
  if (!first_output.empty())
    REQUIRE(wait_until(
        [&] {
          return file_size_or_zero(target.out) > 0 &&
                 read_file(target.out) == first_output;
        },
        5s));
  std::vector<pid_t> tree = wait_for_children(target.pid, children);
  tree.insert(tree.begin(), target.pid);
  let_it_run(300ms, 1200ms);
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, fmt::format("{}:HID", target.pid), tree);
  restart_set({sf}, before);
  expect_finishes_within(target, reference, 15s);
}

void checkpoint_running_then_restart(const TargetSpec &spec,
                                     std::size_t children) {
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir, {.new_session = true});
  std::vector<pid_t> members{target.pid};
  for (pid_t child : wait_for_children(target.pid, children))
    members.push_back(child);
  let_it_run(200ms, 600ms);
  SetIdentity before = identity_of_set(members);
  auto sf = dir / "statefile";
  CommandResult result =
      try_checkpoint_set(sf, fmt::format("{}:HID", target.pid), {"-g"});
  INFO("cpr -c -g: " << result.describe());
  REQUIRE(result.status.success());
  expect_finishes_within(target, reference, 20s);
  restart_set({sf}, before);
  expect_finishes_within(target, reference, 20s);
}

void expect_finishes_within(const RunningTarget &target,
                            const std::string &reference,
                            milliseconds timeout) {
  ExitStatus status = wait_exit(target.pid, timeout);
  INFO("target " << target.pid << " " << status.describe());
  CHECK(status.success());
  CHECK(output_mismatch(read_file(target.out), reference) == "");
  CHECK(read_file(target.err) == "");
}

} // namespace cpr_test
