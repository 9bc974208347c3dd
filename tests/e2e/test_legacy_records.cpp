// Issue 17, compatibility between releases: a statefile of a release whose
// engine kept interval and POSIX timers (ProcessRecord class 10), the set's
// own IPC namespace (Header class 4) and controlling terminals (both) in its
// own records restarts with them, now plugin records that
// engine/src/statefile/legacy_records.cpp makes as the MANIFEST is read.
// The fixture (tests/fixtures/legacy-engine-records.tar.xz, made by
// make-legacy.sh with commit 5997fbf) is tests/targets/legacy_state and its
// child, checkpointed with -u in /tmp/cpr-legacy-fixture; resealed first
// with this host's key, as root would.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

#include <fstream>

using namespace cpr_test;

namespace {

const fs::path fixture_dir = "/tmp/cpr-legacy-fixture";
const fs::path fixture =
    fs::path(CPR_FIXTURES_DIR) / "legacy-engine-records.tar.xz";
constexpr const char *semaphore_key = "0x4c454731"; // legacy_state.c's

std::string first_line(const fs::path &path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The restarted processes: legacy_state working in the fixture's folder.
std::vector<pid_t> restarted_processes() {
  std::vector<pid_t> pids;
  for (const auto &e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::error_code ec;
    if (first_line(e.path() / "comm") == "legacy_state" &&
        fs::read_symlink(e.path() / "cwd", ec) == fixture_dir)
      pids.push_back(std::stoi(name));
  }
  return pids;
}

std::string ipc_namespace(const std::string &pid) {
  std::error_code ec;
  return fs::read_symlink(fmt::format("/proc/{}/ns/ipc", pid), ec).string();
}

} // namespace

TEST_CASE("A statefile whose engine kept timers, the IPC namespace and "
          "controlling terminals restarts with them as plugin records",
          "[e2e][compat]") {
  const std::string &reference = reference_output(legacy_state());
  fs::path sf = unpack_fixture(fixture, fixture_dir);

  // Each old field came out as a record of the plugin that has it now.
  CommandResult info = run_cpr({"-i", sf.string()});
  INFO(info.describe());
  REQUIRE(info.status.success());
  CHECK_THAT(info.out, Catch::Matches("[\\s\\S]*\n  timers\\.interval:\\s+"
                                      "real timer in 0\\.0[0-9]{5} s\n"
                                      "[\\s\\S]*"));
  CHECK_THAT(info.out, Catch::Matches("[\\s\\S]*\n  timers\\.posix:\\s+"
                                      "1 POSIX timer\n[\\s\\S]*"));
  CHECK_THAT(info.out, Catch::Matches("[\\s\\S]*\n  shm\\.ipc-namespace:\\s+"
                                      "its own IPC namespace\n[\\s\\S]*"));
  CHECK_THAT(info.out,
             Catch::Matches("[\\s\\S]*\n  files\\.controlling-terminal:\\s+"
                            "/dev/pts/[0-9]+, the controlling terminal of 1 "
                            "process\\(es\\)[\\s\\S]*"));

  // PIDs of the fixture may be taken here: then in a PID namespace.
  CommandResult restarted = run_cpr({"-r", "--fork-any", sf.string()});
  INFO(restarted.describe());
  REQUIRE(restarted.status.success());

  // Both in one new IPC namespace, its semaphore there and not in ours.
  std::vector<pid_t> pids = restarted_processes();
  CHECK(pids.size() == 2);
  const std::string ours = ipc_namespace("self");
  for (pid_t pid : pids) {
    INFO("process " << pid);
    CHECK(ipc_namespace(std::to_string(pid)) != ours);
    CHECK(ipc_namespace(std::to_string(pid)) ==
          ipc_namespace(std::to_string(pids.front())));
  }
  if (!pids.empty()) {
    CommandResult theirs = run_command(
        {"/usr/bin/nsenter", fmt::format("--ipc=/proc/{}/ns/ipc", pids[0]),
         "/usr/bin/ipcs", "-s"});
    INFO(theirs.describe());
    CHECK(theirs.out.find(semaphore_key) != std::string::npos);
  }
  CHECK(run_command({"/usr/bin/ipcs", "-s"}).out.find(semaphore_key) ==
        std::string::npos);

  // The program says itself whether each kind survived: as an uninterrupted
  // run does, to the letter.
  auto out = fixture_dir / "out.txt";
  CHECK(wait_until([&] { return read_file(out).ends_with("done\n"); }, 15s));
  CHECK(output_mismatch(read_file(out), reference) == "");
  fs::remove_all(fixture_dir);
}
