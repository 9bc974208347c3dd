// Issue 19, compression: cpr -c --compress writes the memory as zstd
// frames; a restart decompresses them, and a statefile altered or damaged
// after the checkpoint is refused.
#include <catch2/catch.hpp>

#include "support/scenario.hpp"

#include <fstream>

using namespace cpr_test;

TEST_CASE("A compressed checkpoint holds text in a fraction of its size, "
          "and restarts it as it was",
          "[e2e][memory][compress]") {
  constexpr int mib = 32;
  TempDir dir;
  RunningTarget target = start_target(text_log(mib), dir);
  wait_for_output(target, "ready", 20s);
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid, {"--compress"});
  CHECK(pages_bytes_of(sf) < (mib << 20) / 2);
  std::string info = run_cpr({"-i", sf.string()}).out;
  CHECK_THAT(info, Catch::Contains("Compression:\t\tzstd, level 1"));
  CHECK_THAT(info, Catch::Contains("bytes, compressed to"));
  restart(sf, before);
  touch(dir / "stop");
  expect_finishes_with(target, "ready\nintact\n");
}

TEST_CASE("Memory that changes while a compressed checkpoint is written "
          "(-g) is restarted as it was at one moment",
          "[e2e][memory][compress][snapshot]") {
  TempDir dir;
  RunningTarget target = start_target(churn(16), dir);
  wait_for_output(target, "ready", 20s);
  ProcessIdentity before = identity_of(target.pid);
  checkpoint(dir / "statefile", target.pid, {"-g", "--compress=9"});
  touch(dir / "stop");
  expect_finishes_with(target, "ready\nok\n");
  fs::remove(dir / "stop");
  restart(dir / "statefile", before);
  let_it_run(200ms, 400ms);
  touch(dir / "stop");
  expect_finishes_with(target, "ready\nok\n");
}

TEST_CASE("A compressed pages file altered after the checkpoint is refused, "
          "and no process is left",
          "[e2e][memory][compress][damaged]") {
  TempDir dir;
  RunningTarget target = start_target(text_log(4), dir);
  wait_for_output(target, "ready", 20s);
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid, {"--compress"});
  auto pages = sf / "pages" / (std::to_string(before.pid) + ".img");
  // A byte of the first frame's header (zstd refuses it), then bytes of
  // its data (zstd may not notice: the seal does).
  for (std::streamoff at : {5, 200, 4000}) {
    INFO("byte " << at);
    auto copy = dir / ("altered-" + std::to_string(at));
    fs::copy(sf, copy, fs::copy_options::recursive);
    std::fstream io(copy / "pages" / pages.filename(),
                    std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(at);
    char byte = static_cast<char>(io.get());
    io.seekp(at);
    io.put(static_cast<char>(byte ^ 0x5a));
    io.close();
    expect_cpr_error(run_cpr({"-r", copy.string()}),
                     "was altered after checkpoint (pages/");
    expect_no_process_left(before.pid);
  }
  restart(sf, before);
  touch(dir / "stop");
  expect_finishes_with(target, "ready\nintact\n");
}
