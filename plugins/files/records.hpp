// Saved forms of the objects of plugins/files.
#pragma once

#include <boost/serialization/string.hpp>
#include <boost/serialization/version.hpp>

#include <cstdint>
#include <string>
#include <sys/types.h>

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

// A terminal as it was at checkpoint: see terminal.hpp.
struct TerminalRef {
  std::string path;
  std::uint64_t rdev = 0; // 0: none
  std::uint32_t uid = 0;  // its owner

  template <class A> void serialize(A &ar, unsigned) { ar &path &rdev &uid; }
};

// files.terminal: a terminal; a pty slave whose master the set holds too
// has that pty's index (class version 1), and comes back with its master.
struct Terminal {
  TerminalRef tty;
  std::uint32_t flags = 0;
  std::int32_t pty_index = -1;

  template <class A> void serialize(A &ar, unsigned version) {
    ar &tty &flags;
    if (version >= 1)
      ar &pty_index;
  }
};

// files.pty-master: the master end of a pty, and what the pair holds: its
// lock and packet mode, the modes and size of its terminal, and the bytes
// in it both ways.
struct PtyMaster {
  std::int32_t index = -1;
  std::uint32_t flags = 0;
  bool locked = false, packet = false;
  std::string termios, winsize; // struct termios, struct winsize
  std::string to_slave;         // typed, not yet read by the slave
  std::string to_master;        // written by the slave, not yet read

  template <class A> void serialize(A &ar, unsigned) {
    ar &index &flags &locked &packet &termios &winsize &to_slave &to_master;
  }
};

// files.device: one of the harmless character devices.
struct Device {
  std::string path;
  std::uint32_t flags = 0;
  std::uint64_t rdev = 0;
  TerminalRef controlling; // /dev/tty: what it led to (class version 1)

  template <class A> void serialize(A &ar, unsigned version) {
    ar &path &flags &rdev;
    if (version >= 1)
      ar &controlling;
  }
};

std::string describe_flags(std::uint32_t flags);
// Flags to reopen with: the saved ones, without those that only act at open.
int reopen_flags(std::uint32_t flags);

// At checkpoint, what a restart will do: opens `path` with `flags` (and
// closes it), and checks it is the same kind of file (S_IFMT `type`).
// Throws a Checkpoint error naming the file: a checkpoint that could not be
// restarted fails before WILL EXIT ends anything.
void try_reopen(pid_t pid, int fd, const std::string &path, int flags,
                unsigned type);

} // namespace cpr::files

BOOST_CLASS_VERSION(cpr::files::RegularFile, 2)
BOOST_CLASS_VERSION(cpr::files::Device, 1)
BOOST_CLASS_VERSION(cpr::files::Terminal, 1)
