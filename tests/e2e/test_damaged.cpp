// A damaged statefile is refused with "damaged statefile" and no process is
// left behind; the undamaged original still restarts.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>

#include "support/scenario.hpp"

using namespace cpr_test;

namespace {

struct Damage {
  std::string name;
  std::function<void(const fs::path &statefile, pid_t pid)> apply;
  std::string error = "damaged statefile";
};

fs::path pages_of(const fs::path &statefile, pid_t pid) {
  return statefile / "pages" / (std::to_string(pid) + ".img");
}

void halve(const fs::path &file) {
  fs::resize_file(file, fs::file_size(file) / 2);
}

void flip_middle_byte(const fs::path &file) {
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  auto middle = static_cast<std::streamoff>(fs::file_size(file) / 2);
  io.seekg(middle);
  char byte = static_cast<char>(io.get());
  io.seekp(middle);
  io.put(static_cast<char>(byte ^ 0x01));
}

const std::vector<Damage> damages{
    {"truncated MANIFEST",
     [](const fs::path &sf, pid_t) { halve(sf / "MANIFEST"); }},
    {"altered MANIFEST",
     [](const fs::path &sf, pid_t) { flip_middle_byte(sf / "MANIFEST"); },
     "was altered after checkpoint (MANIFEST)"},
    {"altered pages",
     [](const fs::path &sf, pid_t pid) { flip_middle_byte(pages_of(sf, pid)); },
     "was altered after checkpoint (pages/"},
    {"missing pages file",
     [](const fs::path &sf, pid_t pid) { fs::remove(pages_of(sf, pid)); }},
    {"short pages file",
     [](const fs::path &sf, pid_t pid) { halve(pages_of(sf, pid)); }},
};

} // namespace

TEST_CASE("Damaged statefiles are refused", "[e2e][errors][damaged]") {
  auto spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);
  REQUIRE(fs::is_regular_file(sf / "MANIFEST"));
  REQUIRE(fs::is_regular_file(pages_of(sf, before.pid)));

  for (const Damage &damage : damages) {
    INFO("damage: " << damage.name);
    auto copy = dir / ("damaged-" + std::to_string(&damage - damages.data()));
    fs::copy(sf, copy, fs::copy_options::recursive);
    damage.apply(copy, before.pid);
    expect_cpr_error(run_cpr({"-r", copy.string()}), damage.error);
    expect_no_process_left(before.pid);
    fs::remove_all(copy);
  }

  restart(sf, before);
  expect_finishes_with(target, reference);
}
