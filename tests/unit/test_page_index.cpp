// The index of a process's pages (index/PID.map) and how a checkpoint
// --since an earlier statefile finds the pages it holds unchanged.
#include "statefile/page_index.hpp"

#include <cpr/sdk/error.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

using namespace cpr::engine;

namespace {

std::vector<char> page_of(char c) { return std::vector<char>(4096, c); }

PageIndex sample() {
  PageIndex index;
  // Two runs saved in that order, the second lower in memory.
  index.runs = {{0x10000, 2 * 4096, 0}, {0x4000, 4096, 2 * 4096}};
  for (char c : {'a', 'b', 'c'})
    index.hashes.push_back(hash_page(page_of(c).data()));
  return index;
}

} // namespace

TEST_CASE("a page index reads back as it was written") {
  PageIndex index = sample();
  PageIndex back = PageIndex::parse(index.bytes(), "sf", "index/1.map");
  REQUIRE(back.runs.size() == 2);
  CHECK(back.runs[1].address == 0x4000);
  CHECK(back.hashes == index.hashes);
  back.sort_by_address();
  CHECK(back.logical_at(0x4000) == 2 * 4096);
  CHECK(back.logical_at(0x11000) == 4096);
  CHECK(!back.logical_at(0x5000));
  CHECK(!back.logical_at(0x12000));
}

TEST_CASE("a damaged page index is refused") {
  std::string good = sample().bytes();
  auto refused = [](const std::string &bytes) {
    CHECK_THROWS_AS(PageIndex::parse(bytes, "sf", "index/1.map"),
                    cpr::sdk::Error);
  };
  refused("");
  refused(good.substr(0, good.size() - 1));
  refused(good + "x");
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  refused(bad_magic);
  std::string huge_count = good;
  std::uint64_t n = ~0ULL;
  std::memcpy(huge_count.data() + 8, &n, 8);
  refused(huge_count);
  // A run whose pages lie beyond the hashes.
  std::string beyond = good;
  std::uint64_t logical = 3 * 4096;
  std::memcpy(beyond.data() + 24 + 24 + 16, &logical, 8);
  refused(beyond);
}

TEST_CASE("a page is referred to only where it holds what the earlier "
          "statefile saved there") {
  EarlierPages earlier;
  EarlierPages::Process &p = earlier.processes[7];
  p.index = sample();
  p.index.sort_by_address();
  // Logical 0..2 pages in the earlier statefile's own file at 8192 on, but
  // the last page in the one it follows.
  p.extents = {{0, 2 * 4096, 8192, 0}, {2 * 4096, 4096, 0, 1}};
  auto b = hash_page(page_of('b').data());
  auto same = earlier.same_page(7, 0x11000, b);
  REQUIRE(same);
  CHECK(same->physical == 8192 + 4096);
  CHECK(same->source == 1);
  auto c = earlier.same_page(7, 0x4000, hash_page(page_of('c').data()));
  REQUIRE(c);
  CHECK(c->source == 2);
  CHECK(!earlier.same_page(7, 0x11000, hash_page(page_of('x').data())));
  CHECK(!earlier.same_page(7, 0x20000, b));
  CHECK(!earlier.same_page(8, 0x11000, b));
}

TEST_CASE("the INDEX holds each process's index, and a damaged one is "
          "refused") {
  PageIndex one = sample(), two;
  two.runs = {{0x8000, 4096, 0}};
  two.hashes = {hash_page(page_of('z').data())};
  std::string bytes = indexes_bytes({{12, &one}, {34, &two}});
  auto back = parse_indexes(bytes, "sf");
  REQUIRE(back.size() == 2);
  CHECK(back.at(12).hashes == one.hashes);
  CHECK(back.at(34).runs.front().address == 0x8000);
  for (const std::string &bad :
       {bytes.substr(0, bytes.size() - 8), bytes + "x", std::string("CPR")})
    CHECK_THROWS_AS(parse_indexes(bad, "sf"), cpr::sdk::Error);
  std::string long_section = bytes;
  std::uint64_t huge = ~0ULL;
  std::memcpy(long_section.data() + 16 + 8, &huge, 8);
  CHECK_THROWS_AS(parse_indexes(long_section, "sf"), cpr::sdk::Error);
}
