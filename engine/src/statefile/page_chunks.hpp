// The chunks pages move in between a process's memory and its pages file:
// ranges of memory cut into pieces of one buffer (pages.hpp) at most, and
// of at most IOV_MAX iovecs.
#pragma once

#include <cpr/sdk/pages.hpp>

#include <sys/uio.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace cpr::engine {

inline constexpr std::size_t buffer_size = 8 << 20;
inline constexpr std::size_t page_size = 4096;
inline constexpr std::size_t max_iov = IOV_MAX;

inline iovec remote_iov(std::uint64_t addr, std::size_t len) {
  return {reinterpret_cast<void *>(addr), len};
}

// Calls `chunk(iovecs, bytes)` for consecutive pieces of `ranges`, each at
// most `limit` bytes and max_iov iovecs.
template <class Fn>
void for_each_chunk(std::span<const sdk::Range> ranges, std::size_t limit,
                    Fn chunk) {
  std::vector<iovec> iov;
  std::size_t len = 0;
  for (const sdk::Range &r : ranges) {
    std::uint64_t at = r.start;
    while (at < r.end) {
      std::size_t take = std::min<std::uint64_t>(r.end - at, limit - len);
      iov.push_back(remote_iov(at, take));
      len += take;
      at += take;
      if (len == limit || iov.size() == max_iov) {
        chunk(std::span<const iovec>(iov), len);
        iov.clear();
        len = 0;
      }
    }
  }
  if (len > 0)
    chunk(std::span<const iovec>(iov), len);
}

} // namespace cpr::engine
