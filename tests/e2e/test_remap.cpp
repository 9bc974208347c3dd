// Issue 17: a statefile written by one release of a plugin restarts on a
// later one that renamed the kind and changed its record, through the
// later one's remap table (tests/remap: two releases of cpr_fake.so).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

#include <csignal>

using namespace cpr_test;

namespace {
std::string plugins_of(const char *release) {
  return fmt::format("CPR_PLUGIN_PATH={}/{}", CPR_REMAP_PLUGINS_DIR, release);
}
} // namespace

TEST_CASE("A record of a retired kind restarts through the remap table of "
          "the plugin that replaced it",
          "[e2e][sdk]") {
  auto spec = timer_slack();
  const std::string &reference = reference_output(spec);
  REQUIRE(reference == "timer slack 123456\n");
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  ProcessIdentity before = identity_of(target.pid);
  auto sf = dir / "statefile";
  CommandResult made =
      run_cpr({"-c", sf.string(), "-p", std::to_string(target.pid)}, {},
              {plugins_of("v1")});
  INFO(made.describe());
  REQUIRE(made.status.success());
  REQUIRE(wait_exit(target.pid, 10s).killed_by(SIGKILL));

  CommandResult info = run_cpr({"-i", sf.string()}, {}, {plugins_of("v2")});
  CHECK(info.out.find("fake.timerslack:") != std::string::npos);
  CHECK(info.out.find("timer slack 123456 ns") != std::string::npos);
  CHECK(info.out.find("Remapped:\t\tfake.timerslack (version 1) is read as "
                      "fake.slack") != std::string::npos);

  // Without the plugin, or with neither release of it, nothing restarts.
  expect_cpr_error(run_cpr({"-r", sf.string()}),
                   "no plugin handles objects of kind 'fake.timerslack'");
  expect_no_process_left(before.pid);

  CommandResult restarted =
      run_cpr({"-r", sf.string()}, {}, {plugins_of("v2")});
  INFO(restarted.describe());
  REQUIRE(restarted.status.success());
  REQUIRE(is_child_of_this(before.pid));
  expect_finishes_with(target, reference);
}
