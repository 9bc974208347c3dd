// Saved forms of the objects of plugins/files.
#pragma once

#include <boost/serialization/string.hpp>
#include <boost/serialization/version.hpp>

#include <cstdint>
#include <string>

namespace cpr::files {

// files.regular: a regular file, reopened by path as its FILE disposition
// says (sdk::FileDisposition; MERGE before class version 1).
struct RegularFile {
  std::string path;
  std::uint32_t flags = 0;
  std::int64_t pos = 0;
  std::uint8_t disposition = 0;
  std::uint32_t mode = 0; // of the file, to recreate it (REPLACE)
  std::string copy;       // REPLACE, SUBSTITUTE: see saved_copy.hpp

  template <class A> void serialize(A &ar, unsigned version) {
    ar &path &flags &pos;
    if (version >= 1)
      ar &disposition &mode &copy;
  }
};

// files.device: one of the harmless character devices.
struct Device {
  std::string path;
  std::uint32_t flags = 0;
  std::uint64_t rdev = 0;

  template <class A> void serialize(A &ar, unsigned) { ar &path &flags &rdev; }
};

std::string describe_flags(std::uint32_t flags);
// Flags to reopen with: the saved ones, without those that only act at open.
int reopen_flags(std::uint32_t flags);

} // namespace cpr::files

BOOST_CLASS_VERSION(cpr::files::RegularFile, 1)
