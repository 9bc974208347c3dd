// Saved form of files.locks: the file locks a process holds.
#pragma once

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cpr::files {

enum class LockKind : std::uint8_t { posix, ofd, flock };

// One lock a process holds, as /proc/PID/fdinfo/N shows it.
struct HeldLock {
  std::int32_t fd = -1; // through which it is taken again
  std::string path;     // for messages
  std::uint8_t kind = 0;
  bool write = false;
  std::int64_t start = 0;
  std::int64_t end = -1; // the last byte; -1: to the end of the file

  template <class A> void serialize(A &ar, unsigned) {
    ar &fd &path &kind &write &start &end;
  }
};

// files.locks: every POSIX, OFD and flock lock of a process.
struct HeldLocks {
  std::vector<HeldLock> locks;

  template <class A> void serialize(A &ar, unsigned) { ar &locks; }
};

} // namespace cpr::files
