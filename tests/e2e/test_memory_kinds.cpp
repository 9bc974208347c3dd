// Memory a program may hold that the plain heap tests do not (issue 15):
// PROT_NONE pages and guard regions, deleted files and memfds mapped,
// madvise flags, locked and WIPEONFORK memory, THP disabled, a sparse
// mapping. Each comes back as it was and the program finishes as an
// uninterrupted run does.
#include <catch2/catch.hpp>

#include "support/sets.hpp"

#include <fmt/format.h>

using namespace cpr_test;

TEST_CASE("PROT_NONE pages and guard regions come back closed, around the "
          "data",
          "[e2e][memory]") {
  TempDir dir;
  expect_round_trip(memory_kinds("holes"), dir, 300ms, 800ms);
}

TEST_CASE("Deleted files mapped shared and private come back with their "
          "contents, one inode with the open fd",
          "[e2e][memory][files]") {
  TempDir dir;
  expect_round_trip(memory_kinds("deleted"), dir, 300ms, 800ms);
}

TEST_CASE("memfds mapped shared and private come back, one object with "
          "their fd, seals kept",
          "[e2e][memory][files]") {
  TempDir dir;
  expect_round_trip(memory_kinds("memfd"), dir, 300ms, 800ms);
}

TEST_CASE("A memfd mapped writable and then sealed against writes to come "
          "comes back so",
          "[e2e][memory][files]") {
  TempDir dir;
  expect_round_trip(memory_kinds("sealed"), dir, 300ms, 800ms);
}

TEST_CASE("madvise flags, mlock and THP disable come back, WIPEONFORK memory "
          "comes back zero",
          "[e2e][memory]") {
  TempDir dir;
  expect_round_trip(memory_kinds("advice"), dir, 300ms, 800ms);
  // A restart is a fork of the saved process: such memory (a random
  // generator's state) must not be handed on.
  CHECK(read_file(dir / "wiped") == "zero\n");
}

namespace {

// The size of the statefile's pages files.
std::uintmax_t pages_saved(const TempDir &dir) {
  std::uintmax_t pages = pages_bytes_of(dir / "statefile");
  note(fmt::format("pages saved: {} bytes", pages));
  return pages;
}

} // namespace

TEST_CASE("A 512 MiB sparse mapping costs only the pages written",
          "[e2e][memory]") {
  TempDir dir;
  expect_round_trip(memory_kinds("sparse"), dir, 300ms, 800ms);
  CHECK(pages_saved(dir) < 4u << 20);
}

// Issue 15: memory written with zeros costs nothing either (xz -9 made a
// statefile larger than its RSS: its hash tables are zeroed).
TEST_CASE("96 MiB of written zeros cost only the pages with data",
          "[e2e][memory]") {
  TempDir dir;
  expect_round_trip(memory_kinds("zeroed"), dir, 300ms, 800ms);
  CHECK(pages_saved(dir) < 4u << 20);
}

// Issue 15: mlockall(MCL_FUTURE) locks the mappings a process makes after
// its restart too.
TEST_CASE("mlockall(MCL_FUTURE | MCL_ONFAULT) is on after restart",
          "[e2e][memory]") {
  TempDir dir;
  expect_round_trip(memory_kinds("lockall"), dir, 300ms, 800ms);
}
