// A range of a process's address space.
#pragma once

#include <cstdint>

namespace cpr::sdk {

struct Range {
  std::uint64_t start = 0;
  std::uint64_t end = 0;

  std::uint64_t size() const { return end - start; }
  bool overlaps(const Range &other) const {
    return start < other.end && other.start < end;
  }

  template <class Archive> void serialize(Archive &ar, unsigned) {
    ar & start & end;
  }
};

} // namespace cpr::sdk
