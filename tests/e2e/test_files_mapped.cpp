// Files mapped MAP_SHARED come back mapped onto the same file, with what the
// process wrote on disk; MAP_PRIVATE file mappings keep their modified pages
// and leave the file alone.
#include <catch2/catch.hpp>

#include "support/sets.hpp"

using namespace cpr_test;

TEST_CASE("Shared and private file mappings keep what the process wrote",
          "[e2e][files][memory]") {
  auto spec = mapped_files();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  checkpoint_and_restart(target, dir);
  expect_finishes_within(target, reference, 15s);
}
