#include <cpr/sdk/procfs.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

using namespace cpr::sdk;

TEST_CASE("maps of this process have its stack and vDSO") {
  auto maps = read_smaps(::getpid());
  bool stack = false, vdso = false;
  for (const Mapping &m : maps) {
    stack |= m.path == "[stack]" && m.vmflags.find("gd") != std::string::npos;
    vdso |= m.path == "[vdso]";
  }
  CHECK(stack);
  CHECK(vdso);
}

TEST_CASE("find_gap keeps its distance from what is taken") {
  std::vector<Range> taken{{0x10000000, 0x20000000}, {0x20100000, 0x30000000}};
  auto a = find_gap(taken, 0x1000, 0x100000);
  REQUIRE(a);
  Range want{*a - 0x100000, *a + 0x1000 + 0x100000};
  for (const Range &r : taken)
    CHECK_FALSE(r.overlaps(want));
  auto high = find_gap(taken, 0x1000, 0x100000, true);
  REQUIRE(high);
  CHECK(*high == 0x30000000 + 0x100000);
}
