// Saved forms of the objects of plugins/files.
#pragma once

#include <boost/serialization/string.hpp>
#include <boost/serialization/version.hpp>

#include <cstdint>
#include <string>

namespace cpr::files {

// files.regular: a regular file, reopened by path (the MERGE disposition).
struct RegularFile {
  std::string path;
  std::uint32_t flags = 0;
  std::int64_t pos = 0;

  template <class A> void serialize(A &ar, unsigned) { ar & path & flags & pos; }
};

// files.device: one of the harmless character devices.
struct Device {
  std::string path;
  std::uint32_t flags = 0;
  std::uint64_t rdev = 0;

  template <class A> void serialize(A &ar, unsigned) { ar & path & flags & rdev; }
};

std::string describe_flags(std::uint32_t flags);
// Flags to reopen with: the saved ones, without those that only act at open.
int reopen_flags(std::uint32_t flags);

} // namespace cpr::files
