// Issue 19, incremental checkpoints: cpr -c NEW --since OLD writes only the
// pages that changed since OLD and refers to the rest; a restart of the
// chain restores the latest state; a statefile another one needs is not
// deleted, and one altered or replaced since is refused.
#include <catch2/catch.hpp>

#include "support/scenario.hpp"

#include <fstream>

using namespace cpr_test;

namespace {

// The target rewrites a hundredth of its pages and says so.
void take_step(const RunningTarget &target, const TempDir &dir, int n) {
  touch(dir / "step");
  wait_for_output(target, "step " + std::to_string(n), 20s);
}

} // namespace

TEST_CASE("An incremental checkpoint writes what changed, and its restart "
          "finds the latest state",
          "[e2e][memory][incremental]") {
  constexpr int mib = 32;
  TempDir dir;
  RunningTarget target = start_target(ledger(mib), dir);
  wait_for_output(target, "ready", 20s);
  auto a = dir / "a", b = dir / "b", c = dir / "c";
  checkpoint(a, target.pid, {"-g"});
  CHECK(pages_bytes_of(a) >= std::uintmax_t(mib) << 20);
  take_step(target, dir, 1);
  // Compressed, between two that are not: a chain may mix them.
  checkpoint(b, target.pid, {"-g", "--since", a.string(), "--compress"});
  // A hundredth of the pages, and not much more.
  CHECK(pages_bytes_of(b) < (std::uintmax_t(mib) << 20) / 50);
  take_step(target, dir, 2);
  ProcessIdentity before =
      checkpoint_and_reap(c, target.pid, {"--since", b.string()});
  CHECK(pages_bytes_of(c) < (std::uintmax_t(mib) << 20) / 50);
  std::string info = run_cpr({"-i", c.string()}).out;
  CHECK_THAT(info, Catch::Contains("Made since:\t\t" + b.string()));
  CHECK_THAT(info, Catch::Contains("which follows:\t\t" + a.string()));
  CHECK_THAT(info, Catch::Contains("unchanged in earlier statefiles"));

  // Each statefile of the chain is needed by those after it.
  expect_cpr_error(run_cpr({"-D", b.string()}),
                   "Resource busy (statefile " + c.string());
  expect_cpr_error(run_cpr({"-D", a.string()}), "Resource busy (statefile ");
  expect_cpr_error(
      run_cpr({"-c", a.string(), "-f", "-p", std::to_string(::getpid())}),
      "Resource busy");

  restart(c, before);
  touch(dir / "stop");
  expect_finishes_with(target, "ready\nstep 1\nstep 2\nintact\n");
  for (const fs::path &sf : {c, b, a}) {
    CommandResult r = run_cpr({"-D", sf.string()});
    INFO(r.describe());
    CHECK(r.status.success());
    if (sf == c) // it took its name out of the statefiles it followed
      CHECK(fs::is_empty(b / "needed-by"));
  }
}

TEST_CASE("A restart refuses a chain whose earlier statefile was altered or "
          "replaced, and leaves no process",
          "[e2e][memory][incremental][damaged]") {
  TempDir dir;
  RunningTarget target = start_target(ledger(4), dir);
  wait_for_output(target, "ready", 20s);
  auto a = dir / "a", b = dir / "b";
  checkpoint(a, target.pid, {"-g"});
  take_step(target, dir, 1);
  ProcessIdentity before =
      checkpoint_and_reap(b, target.pid, {"--since", a.string()});
  auto saved = dir / "a.saved";
  fs::rename(a, saved);

  SECTION("missing") {
    expect_cpr_error(run_cpr({"-r", b.string()}), "cannot be used");
    // Nor can a checkpoint follow b then.
    expect_cpr_error(
        run_cpr({"-c", (dir / "c").string(), "-p", std::to_string(::getpid()),
                 "--since", b.string()}),
        "cannot be used");
  }
  SECTION("replaced by another statefile") {
    fs::copy(b, a, fs::copy_options::recursive);
    expect_cpr_error(run_cpr({"-r", b.string()}),
                     "is not the one it was made since");
  }
  SECTION("its pages altered") {
    fs::copy(saved, a, fs::copy_options::recursive);
    auto pages = a / "pages" / (std::to_string(before.pid) + ".img");
    std::fstream io(pages, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(4096 * 3 + 100);
    io.put('!');
    io.close();
    expect_cpr_error(run_cpr({"-r", b.string()}),
                     "was altered after checkpoint (pages/");
  }
  expect_no_process_left(before.pid);
  fs::remove_all(a);
  fs::rename(saved, a);
  restart(b, before);
  touch(dir / "stop");
  expect_finishes_with(target, "ready\nstep 1\nintact\n");
}
