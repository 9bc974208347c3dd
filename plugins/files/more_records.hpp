// Saved forms of files.directory, files.deleted, files.proc and files.locks.
#pragma once

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cpr::files {

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
