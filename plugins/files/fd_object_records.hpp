// Saved forms of the kernel objects that exist only as open files: eventfd,
// timerfd, signalfd, inotify, memfd, epoll.
#pragma once

#include <boost/serialization/version.hpp>

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cpr::files {

// files.eventfd
struct EventFd {
  std::uint64_t count = 0;
  bool semaphore = false;
  std::uint32_t flags = 0;

  template <class A> void serialize(A &ar, unsigned) {
    ar &count &semaphore &flags;
  }
};

// files.timerfd: the time left until the next expiry, as the timer runs
// only while the process exists.
struct TimerFd {
  std::int32_t clock = 0;
  std::uint32_t flags = 0;
  std::uint32_t settime_flags = 0; // TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET
  std::uint64_t ticks = 0;         // expirations not read yet
  std::int64_t value_sec = 0, value_nsec = 0;
  std::int64_t interval_sec = 0, interval_nsec = 0;

  template <class A> void serialize(A &ar, unsigned) {
    ar &clock &flags &settime_flags &ticks &value_sec &value_nsec &interval_sec
        &interval_nsec;
  }
};

// files.signalfd: bit N-1 stands for signal N, as the kernel keeps it.
struct SignalFd {
  std::uint64_t mask = 0;
  std::uint32_t flags = 0;

  template <class A> void serialize(A &ar, unsigned) { ar &mask &flags; }
};

struct InotifyWatch {
  std::int32_t wd = 0;
  std::uint32_t mask = 0;
  std::string path;

  template <class A> void serialize(A &ar, unsigned) { ar &wd &mask &path; }
};

// files.inotify
struct Inotify {
  std::uint32_t flags = 0;
  std::vector<InotifyWatch> watches;

  template <class A> void serialize(A &ar, unsigned) { ar &flags &watches; }
};

// files.memfd: the contents are in `contents`, or when large in the
// statefile's file `contents_file` (relative to the statefile).
struct MemFd {
  std::string name;
  std::uint32_t flags = 0;
  std::int64_t pos = 0;
  std::uint32_t mode = 0;
  std::uint32_t uid = 0, gid = 0;
  std::uint32_t seals = 0;
  std::uint64_t size = 0;
  std::string contents;
  std::string contents_file;
  // Saved once per inode (sdk/unlinked.hpp), shared with every other open
  // file and mapping of it; contents and contents_file are then empty.
  std::string inode_copy;

  // Class version 1 added inode_copy.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &name &flags &pos &mode &uid &gid &seals &size &contents &contents_file;
    if (version >= 1)
      ar &inode_copy;
  }
};

// A watch is keyed by its file and the fd number it was added under. That
// number may have been closed since, or taken by another file: the file
// then lives on under fd `via` of the same process.
struct EpollTarget {
  std::int32_t fd = -1;
  std::uint32_t events = 0;
  std::uint64_t data = 0;
  std::int32_t via = -1; // -1: fd `fd` is the watched file

  // Class version 1 added via.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &fd &events &data;
    if (version >= 1)
      ar &via;
  }
};

// files.epoll: `targets` are fd numbers of process `owner`, the one whose
// fd table the epoll was saved from.
struct Epoll {
  std::int32_t owner = 0;
  std::uint32_t flags = 0;
  std::vector<EpollTarget> targets;

  template <class A> void serialize(A &ar, unsigned) {
    ar &owner &flags &targets;
  }
};

} // namespace cpr::files

BOOST_CLASS_VERSION(cpr::files::MemFd, 1)
BOOST_CLASS_VERSION(cpr::files::EpollTarget, 1)
