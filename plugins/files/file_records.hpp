// Saved forms of the files of plugins/files reopened by path: regular
// files, directories, deleted-but-open files, files of /proc.
#pragma once

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cpr::files {

// The guide's FILE dispositions: what becomes of an open file at restart,
// as the attribute file says (its words in parentheses).
enum class Disposition : std::uint8_t {
  merge,      // (MERGE) reopen, seek to the saved offset: the default
  ignore,     // (IGNORE) reopen as first opened, at offset 0
  append,     // (APPEND) reopen, at the end
  replace,    // (REPLACE) saved, put back over the original at restart
  substitute, // (SUBSTITUTE) saved, the copy opened instead of the original
};

// files.regular: a regular file, reopened by path as its FILE disposition
// says (Disposition; MERGE before class version 1).
struct RegularFile {
  std::string path;
  std::uint32_t flags = 0;
  std::int64_t pos = 0;
  std::uint8_t disposition = 0;
  std::uint32_t mode = 0; // of the file, to recreate it (REPLACE)
  std::string copy;       // REPLACE, SUBSTITUTE: see saved_copy.hpp
  // Its access and modification times (REPLACE puts them back too).
  std::int64_t atime_sec = 0, atime_nsec = 0, mtime_sec = 0, mtime_nsec = 0;

  // Class version 1 added disposition, mode, copy; 2 the times.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &path &flags &pos;
    if (version >= 1)
      ar &disposition &mode &copy;
    if (version >= 2)
      ar &atime_sec &atime_nsec &mtime_sec &mtime_nsec;
  }
};

// files.directory: a directory, reopened by path at its readdir position
// (none for an O_PATH fd).
struct Directory {
  std::string path;
  std::uint32_t flags = 0;
  std::int64_t pos = 0;

  template <class A> void serialize(A &ar, unsigned) { ar &path &flags &pos; }
};

// files.deleted: a regular file unlinked while open. Its contents are in
// the statefile, at `copy` (relative to it), one copy per inode.
struct DeletedFile {
  std::string path; // where it was, without " (deleted)"
  std::uint32_t flags = 0;
  std::int64_t pos = 0;
  std::string copy;
  std::uint64_t size = 0;
  std::uint32_t mode = 0, uid = 0, gid = 0;

  template <class A> void serialize(A &ar, unsigned) {
    ar &path &flags &pos &copy &size &mode &uid &gid;
  }
};

// files.proc: a file or directory of /proc. One of a process of the set
// (/proc/PID/...) is reopened for that process as it is after the restart;
// any other by its path.
struct ProcFile {
  std::int32_t pid = 0; // of the set, whose /proc/PID it is in; 0: none
  std::string path;     // with pid: the part after /proc/PID/
  std::uint32_t flags = 0;
  std::int64_t pos = 0;
  bool directory = false;

  template <class A> void serialize(A &ar, unsigned) {
    ar &pid &path &flags &pos &directory;
  }
};

// files.proc_offsets: where each open /proc file of a process was read to.
struct ProcOffset {
  std::int32_t fd = -1;
  std::int64_t pos = 0;

  template <class A> void serialize(A &ar, unsigned) { ar &fd &pos; }
};
struct ProcOffsets {
  std::vector<ProcOffset> offsets;

  template <class A> void serialize(A &ar, unsigned) { ar &offsets; }
};

} // namespace cpr::files

BOOST_CLASS_VERSION(cpr::files::RegularFile, 2)
