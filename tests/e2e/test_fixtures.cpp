// Issue 17, compatibility between releases: the statefiles earlier
// releases wrote (tests/fixtures, made by make.sh: a static counter
// checkpointed with -u in /tmp/cpr-fixture) restart, or are refused with a
// clear message. Resealed first with this host's key, as root would.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"

using namespace cpr_test;

namespace {

const fs::path fixture_dir = "/tmp/cpr-fixture";

// The words of a clear refusal: what changed under the statefile.
bool refused_clearly(const CommandResult &r) {
  return r.err.starts_with("cpr: ") && r.err.find('\n') == r.err.size() - 1 &&
         (r.err.find("component unavailable") != std::string::npos ||
          r.err.find("format revision") != std::string::npos);
}

} // namespace

TEST_CASE("Every fixture statefile of this and earlier releases restarts, or "
          "is refused clearly",
          "[e2e][compat]") {
  const std::string &reference = reference_output(static_count());
  std::vector<fs::path> fixtures;
  for (const auto &e : fs::directory_iterator(CPR_FIXTURES_DIR))
    if (e.path().filename().string().starts_with("fixture-"))
      fixtures.push_back(e.path());
  REQUIRE_FALSE(fixtures.empty());
  for (const fs::path &fixture : fixtures) {
    note(fixture.filename().string());
    fs::path sf = unpack_fixture(fixture, fixture_dir);
    CommandResult restarted = run_cpr({"-r", "--fork-any", sf.string()});
    INFO(restarted.describe());
    if (!restarted.status.success()) {
      CHECK(refused_clearly(restarted));
      continue;
    }
    auto out = fixture_dir / "out.txt";
    CHECK(wait_until([&] { return read_file(out).ends_with("done\n"); }, 15s));
    CHECK(output_mismatch(read_file(out), reference) == "");
  }
  fs::remove_all(fixture_dir);
}
