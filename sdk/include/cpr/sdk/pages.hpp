// Page data: the engine owns the pages/ files of a statefile and the copying;
// a handler decides which ranges to save and keeps their index in its record.
#pragma once

#include <cpr/sdk/range.hpp>

#include <cstdint>
#include <span>
#include <sys/types.h>

namespace cpr::sdk {

// A range of a process's memory to save, and what the engine may make of it.
struct PagesToSave {
  Range range;
  // The process's own copy of the pages (private memory, anonymous or the
  // private copies of a file's pages; not MADV_DONTFORK, not registered
  // with a userfaultfd): a fork of the process holds them as they are now.
  // With WILL CONT the engine may read them from such a fork after the set
  // runs again, so that the set is frozen only while metadata is read.
  // Anything else (MAP_SHARED memory) is read while the set is frozen.
  bool private_copy = false;
  // A page of zeros here comes back by itself (fresh anonymous memory): the
  // engine may leave it out of the file.
  bool zeros_come_back = false;
};

class PageSink {
public:
  virtual ~PageSink() = default;
  // Saves the pages of the ranges, one after another: the first at the
  // offset returned, the next ones after it, counted as if no page were
  // left out (an offset in the process's pages, not in a file).
  virtual std::uint64_t save(pid_t pid,
                             std::span<const PagesToSave> ranges) = 0;
};

class PageSource {
public:
  virtual ~PageSource() = default;
  // Puts the pages saved from `offset` on back into the ranges of process
  // `pid`'s memory, one after another. Pages left out as zeros are left
  // untouched.
  virtual void restore(pid_t pid, std::uint64_t offset,
                       std::span<const Range> ranges) = 0;
};

} // namespace cpr::sdk
