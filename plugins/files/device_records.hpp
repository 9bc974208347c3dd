// Saved forms of the character devices of plugins/files: terminals, pty
// masters, and the harmless devices (/dev/null, /dev/tty ...).
#pragma once

#include <boost/serialization/string.hpp>
#include <boost/serialization/version.hpp>

#include <cstdint>
#include <string>

namespace cpr::files {

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

} // namespace cpr::files

BOOST_CLASS_VERSION(cpr::files::Device, 1)
BOOST_CLASS_VERSION(cpr::files::Terminal, 1)
