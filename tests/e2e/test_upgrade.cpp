// Issue 17: an upgrade checkpoint (-u) carries the program and the libraries
// it ran, so that a restart after they changed on disk (a system upgrade)
// goes on with the code the process was running.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

using namespace cpr_test;

namespace {

fs::path release_dir(const char *release) {
  return fs::path(CPR_TARGETS_BUILD_DIR) / "upgrade" / release;
}

// A release's program and library put in `to` as a package manager does:
// each a new file, renamed over the old one.
void install_release(const char *release, const fs::path &to) {
  fs::create_directories(to);
  for (std::string name : {"upgrade_app", "libupgrade.so"}) {
    fs::copy_file(release_dir(release) / name, to / (name + ".new"),
                  fs::copy_options::overwrite_existing);
    fs::rename(to / (name + ".new"), to / name);
  }
}

TargetSpec installed_app(const TempDir &dir) {
  return {"upgrade_app", {(dir / "app" / "upgrade_app").string()}};
}

} // namespace

TEST_CASE("An upgrade checkpoint restarts on the code it ran after the "
          "program and its library changed",
          "[e2e][upgrade]") {
  const std::string &reference =
      reference_output({"upgrade_app A", {(release_dir("A") / "upgrade_app")}});
  REQUIRE(reference.find("round 39: program A, library A\n") !=
          std::string::npos);
  TempDir dir;
  install_release("A", dir / "app");
  RunningTarget target = start_target(installed_app(dir), dir);
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid, {"-u"});
  CHECK(fs::exists(sf / "bin"));
  install_release("B", dir / "app");
  restart(sf, before);
  expect_finishes_with(target, reference);
}

// --force-changed then maps the new release: the process goes on with its
// saved memory and the new code (here, the same layout with other words).
TEST_CASE("Without -u a program changed since the checkpoint is refused, "
          "naming it, unless the restart is forced",
          "[e2e][upgrade][errors]") {
  TempDir dir;
  install_release("A", dir / "app");
  RunningTarget target = start_target(installed_app(dir), dir);
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);
  CHECK_FALSE(fs::exists(sf / "bin"));
  install_release("B", dir / "app");
  expect_cpr_error(
      run_cpr({"-r", sf.string()}),
      fmt::format("component unavailable: {} (mapped by process {}) changed",
                  (dir / "app" / "upgrade_app").string(), before.pid));
  expect_no_process_left(before.pid);

  CommandResult forced = run_cpr({"-r", "--force-changed", sf.string()});
  INFO(forced.describe());
  REQUIRE(forced.status.success());
  REQUIRE(wait_exit(target.pid, 15s).success());
  std::string out = read_file(target.out);
  CHECK(out.find("program A, library A") != std::string::npos);
  CHECK(out.find("round 39: program B, library B\n") != std::string::npos);
}
