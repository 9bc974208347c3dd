// cpr -i describes a statefile; cpr -D deletes it.
#include <catch2/catch.hpp>

#include <regex>

#include "support/scenario.hpp"

using namespace cpr_test;

TEST_CASE("cpr -i shows the process and its open files", "[e2e][info]") {
  TempDir dir;
  RunningTarget target = start_target(heap_avx(), dir);
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);

  CommandResult info = run_cpr({"-i", sf.string()});
  INFO(info.describe());
  REQUIRE(info.status.success());
  std::regex pid_word("\\b" + std::to_string(before.pid) + "\\b");
  CHECK(std::regex_search(info.out, pid_word));
  CHECK(info.out.find("heap_avx") != std::string::npos);
  CHECK(info.out.find(target.out.string()) != std::string::npos);
}

TEST_CASE("cpr -D deletes the statefile", "[e2e][delete]") {
  TempDir dir;
  RunningTarget target = start_target(heap_avx(), dir);
  let_it_run();
  auto sf = dir / "statefile";
  checkpoint_and_reap(sf, target.pid);

  CommandResult result = run_cpr({"-D", sf.string()});
  INFO(result.describe());
  CHECK(result.status.success());
  CHECK_FALSE(fs::exists(sf));
}
