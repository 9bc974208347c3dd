// Issue 19, progress: a checkpoint or a restart that takes a while draws a
// progress bar on cpr's terminal, and nothing without a terminal or with -q.
// CPR_PROGRESS_DELAY=0 draws it at once, however fast this machine is.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

using namespace cpr_test;

namespace {

const EnvSettings at_once{"CPR_PROGRESS_DELAY=0"};

// cpr with `args`, its stderr a terminal: script(1)'s pty, whose output
// comes back as stdout.
CommandResult cpr_on_a_terminal(const std::vector<std::string> &args) {
  std::string command = cpr_binary().string();
  for (const std::string &a : args)
    command += " " + a;
  return run_command({"/usr/bin/script", "-qfec", command, "/dev/null"}, {},
                     60s, at_once);
}

bool shows_bar(const std::string &output, const std::string &what) {
  return output.find("cpr: " + what + " [") != std::string::npos &&
         output.find("MiB/s") != std::string::npos;
}

// The bar's line is cleared at the end, for what follows.
bool cleared_at_end(const std::string &output) {
  auto last_bar = output.rfind("cpr: ");
  return last_bar != std::string::npos &&
         output.find("\r\033[K", last_bar) != std::string::npos;
}

} // namespace

TEST_CASE("On a terminal a checkpoint and a restart show their progress "
          "and with -q or without a terminal nothing is shown",
          "[e2e][progress]") {
  auto spec = big_memory(256);
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  wait_for_output(target, "filled", 20s);
  const std::string pid = std::to_string(target.pid);

  CommandResult quiet = cpr_on_a_terminal(
      {"-c", (dir / "quiet").string(), "-p", pid, "-g", "-q"});
  INFO(quiet.describe());
  REQUIRE(quiet.status.success());
  CHECK_FALSE(shows_bar(quiet.out, "checkpoint"));
  CommandResult piped =
      run_cpr({"-c", (dir / "piped").string(), "-p", pid, "-g"}, {}, at_once);
  INFO(piped.describe());
  REQUIRE(piped.status.success());
  CHECK(piped.err.empty());

  auto sf = dir / "statefile";
  CommandResult checkpoint = cpr_on_a_terminal({"-c", sf.string(), "-p", pid});
  INFO(checkpoint.describe());
  REQUIRE(checkpoint.status.success());
  CHECK(shows_bar(checkpoint.out, "checkpoint"));
  CHECK(cleared_at_end(checkpoint.out));
  CHECK(wait_exit(target.pid, 10s).killed_by(SIGKILL));

  CommandResult restart = cpr_on_a_terminal({"-r", sf.string()});
  INFO(restart.describe());
  REQUIRE(restart.status.success());
  CHECK(shows_bar(restart.out, "restart"));
  CHECK(restart.out.find(" of 256 MiB") != std::string::npos);
  CHECK(cleared_at_end(restart.out));
  expect_finishes_within(target, reference, 20s);
}
