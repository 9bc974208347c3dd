// FORK ORIGINAL (the default) refuses a restart whose PID is taken; FORK ANY
// (--fork-any) restores it inside a new PID namespace where it keeps its PID,
// while the original runs on under that PID outside.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sys/wait.h>
#include <unistd.h>

#include "support/sets.hpp"

using namespace cpr_test;

namespace {

// Descendants of the test, other than `except`, with `file` as stdout.
std::vector<pid_t> writers_of(const fs::path &file, pid_t except) {
  std::vector<pid_t> found;
  for (pid_t pid : descendants_of(getpid())) {
    std::error_code ec;
    auto out = fs::read_symlink(fmt::format("/proc/{}/fd/1", pid), ec);
    if (!ec && out == file && pid != except)
      found.push_back(pid);
  }
  return found;
}

} // namespace

TEST_CASE("FORK ANY restores a set whose PID is taken in a new PID namespace",
          "[e2e][sets][fork][cpu]") {
  auto spec = loop_sh();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  ProcessIdentity before = identity_of(target.pid);
  auto sf = dir / "statefile";
  checkpoint(sf, target.pid, {"-g"}); // the original keeps its PID

  expect_cpr_error(run_cpr({"-r", sf.string()}), "unavailable PID");
  CHECK(children_of_this() == std::vector<pid_t>{target.pid});

  REQUIRE_FALSE(has_exited(target.pid)); // its PID is still taken
  note(fmt::format("cpr -r --fork-any {}", sf.string()));
  CommandResult result = run_cpr({"-r", "--fork-any", sf.string()});
  INFO("cpr -r --fork-any: " << result.describe());
  REQUIRE(result.status.success());
  std::vector<pid_t> copies = writers_of(target.out, target.pid);
  INFO("restored copies: " << fmt::format("{}", fmt::join(copies, ",")));
  REQUIRE(copies.size() == 1);
  pid_t copy = copies.front();
  CHECK(pid_namespace(copy) != pid_namespace(getpid()));
  std::vector<pid_t> ns_pids = namespace_pids(copy);
  INFO("NSpid of the copy: " << fmt::format("{}", fmt::join(ns_pids, " ")));
  REQUIRE(ns_pids.size() >= 2);
  CHECK(ns_pids.back() == target.pid);
  CHECK(process_name(copy) == before.name);
  CHECK(process_cwd(copy) == before.cwd);

  // Both write the same bytes at the same offsets of the same file.
  expect_finishes_within(target, reference, 15s);
  std::optional<ExitStatus> copy_status;
  bool all_gone = wait_until(
      [&] {
        for (pid_t child : children_of_this()) {
          int status = 0;
          if (waitpid(child, &status, WNOHANG) == child && child == copy)
            copy_status = decode_wait_status(status);
        }
        return descendants_of(getpid()).empty();
      },
      15s);
  INFO("left: " << fmt::format("{}", fmt::join(descendants_of(getpid()), ",")));
  CHECK(all_gone);
  if (copy_status) {
    INFO("the restored copy " << copy_status->describe());
    CHECK(copy_status->success());
  }
  CHECK(output_mismatch(read_file(target.out), reference) == "");
  CHECK(read_file(target.err) == "");
}

// Issue 15: a deleted file and a memfd mapped are taken from cpr through
// /proc in the new namespace, where cpr has no PID.
// The memfd's owner is a user: it still gets cpr's copy of the memfd.
TEST_CASE("FORK ANY maps deleted files and memfds again in the new namespace",
          "[e2e][sets][fork]") {
  for (const char *mode : {"deleted", "memfd"}) {
    auto spec = memory_kinds(mode);
    const std::string &reference = reference_output(spec);
    TempDir dir;
    StartOptions as_user;
    if (std::string(mode) == "memfd") {
      dir.give_to(nobody);
      as_user.as = nobody;
    }
    RunningTarget target = start_target(spec, dir, as_user);
    let_it_run(300ms, 800ms);
    auto sf = dir / "statefile";
    checkpoint(sf, target.pid, {"-g"}); // the original keeps its PID
    note(fmt::format("cpr -r --fork-any {}", sf.string()));
    CommandResult result = run_cpr({"-r", "--fork-any", sf.string()});
    INFO(mode << ": cpr -r --fork-any: " << result.describe());
    REQUIRE(result.status.success());
    std::vector<pid_t> copies = writers_of(target.out, target.pid);
    REQUIRE(copies.size() == 1);
    expect_finishes_within(target, reference, 15s);
    bool all_gone = wait_until(
        [&] {
          for (pid_t child : children_of_this())
            ::waitpid(child, nullptr, WNOHANG);
          return descendants_of(getpid()).empty();
        },
        15s);
    CHECK(all_gone);
    // The copy wrote the same bytes over the original's output.
    CHECK(output_mismatch(read_file(target.out), reference) == "");
  }
}
