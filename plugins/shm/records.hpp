// The saved forms of plugins/shm's objects.
#pragma once

#include <cpr/sdk/range.hpp>

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cpr::shm {

// The data of a memory object: its data ranges (offsets in the object), one
// after another in a file of the statefile. Holes read as zeros.
struct Contents {
  std::string file; // relative to the statefile
  std::vector<sdk::Range> ranges;

  std::uint64_t bytes() const {
    std::uint64_t n = 0;
    for (const sdk::Range &r : ranges)
      n += r.size();
    return n;
  }
  template <class A> void serialize(A &ar, unsigned) { ar &file &ranges; }
};

// What every System V IPC object has: its id, key and owner.
struct IpcPerm {
  std::int32_t id = -1;
  std::int32_t key = 0;
  std::uint32_t uid = 0, gid = 0;
  std::uint32_t mode = 0; // with SHM_DEST and SHM_LOCKED for a segment

  template <class A> void serialize(A &ar, unsigned) {
    ar &id &key &uid &gid &mode;
  }
};

// shm.sysv-segment
struct Segment {
  IpcPerm perm;
  std::uint64_t size = 0;
  Contents contents;

  template <class A> void serialize(A &ar, unsigned) {
    ar &perm &size &contents;
  }
};

// shm.sysv-sem
struct SemaphoreSet {
  IpcPerm perm;
  std::vector<std::uint16_t> values;

  template <class A> void serialize(A &ar, unsigned) { ar &perm &values; }
};

// What a process of the set last changed: (id, semaphore, value).
struct LastChange {
  std::int32_t id = 0;
  std::uint16_t semaphore = 0, value = 0;
  template <class A> void serialize(A &ar, unsigned) {
    ar &id &semaphore &value;
  }
};

struct Message {
  std::int64_t type = 0;
  std::string text;

  template <class A> void serialize(A &ar, unsigned) { ar &type &text; }
};

// shm.sysv-msg
struct Queue {
  IpcPerm perm;
  std::uint64_t max_bytes = 0; // msg_qbytes
  std::vector<Message> messages;

  template <class A> void serialize(A &ar, unsigned) {
    ar &perm &max_bytes &messages;
  }
};

// One mapping of a System V segment in a process (shmat, maybe cut by
// munmap or mprotect since).
struct Attachment {
  std::int32_t id = -1;
  sdk::Range range;
  std::uint64_t offset = 0;       // where the mapping starts in the segment
  std::uint64_t segment_size = 0; // in whole pages
  std::uint32_t prot = 0;
  bool read_only = false; // SHM_RDONLY
  bool exec = false;      // SHM_EXEC

  template <class A> void serialize(A &ar, unsigned) {
    ar &id &range &offset &segment_size &prot &read_only &exec;
  }
};

// shm.sysv-attach: every System V segment a process maps.
struct Attachments {
  std::vector<Attachment> all;

  template <class A> void serialize(A &ar, unsigned) { ar &all; }
};

// shm.posix: a POSIX shared memory object (a file in /dev/shm, which is
// also where named semaphores live).
struct PosixObject {
  std::string path;
  std::uint32_t mode = 0, uid = 0, gid = 0;
  std::uint64_t size = 0;
  Contents contents;

  template <class A> void serialize(A &ar, unsigned) {
    ar &path &mode &uid &gid &size &contents;
  }
};

} // namespace cpr::shm
