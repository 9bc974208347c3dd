// Page data: the engine owns the pages/ files of a statefile and the copying;
// a handler decides which ranges to save and keeps their index in its record.
#pragma once

#include <cpr/sdk/range.hpp>

#include <cstdint>
#include <span>
#include <sys/types.h>
#include <vector>

namespace cpr::sdk {

class PageSink {
public:
  virtual ~PageSink() = default;
  // Copies the ranges out of process `pid`'s memory, one after another, into
  // the process's pages file; returns the offset where the first one starts.
  virtual std::uint64_t save(pid_t pid, std::span<const Range> ranges) = 0;
  // As save(), but the pages of the ranges marked in `may_drop` that hold
  // nothing but zero bytes are left out (memory that comes back zero
  // anyway, as fresh anonymous memory does): `ranges` becomes the ones
  // saved, in order.
  virtual std::uint64_t save_nonzero(pid_t pid, std::vector<Range> &ranges,
                                     const std::vector<bool> &may_drop) = 0;
};

class PageSource {
public:
  virtual ~PageSource() = default;
  // Copies bytes from the process's pages file, starting at `offset`, into
  // the ranges of process `pid`'s memory, one after another.
  virtual void restore(pid_t pid, std::uint64_t offset,
                       std::span<const Range> ranges) = 0;
};

} // namespace cpr::sdk
