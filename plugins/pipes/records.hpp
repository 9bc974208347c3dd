// Saved forms of the objects of plugins/pipes.
#pragma once

#include <boost/serialization/string.hpp>

#include <cstdint>
#include <string>

namespace cpr::pipes {

// Where the other end of an anonymous pipe is.
enum class OtherEnd : std::uint8_t {
  in_set,     // some process of the set holds it
  closed,     // nobody: the reader sees EOF after the data, a writer EPIPE
  cpr_stdin,  // outside (--outside-pipes): cpr's stdin at restart
  cpr_stdout, // outside (--outside-pipes): cpr's stdout at restart
};

// pipes.pipe: one end (an open file description) of an anonymous pipe. The
// read end carries the bytes that sat in the pipe.
struct PipeEnd {
  std::uint64_t pipe = 0; // its inode: both ends name it
  std::uint32_t flags = 0;
  std::uint32_t capacity = 0; // F_GETPIPE_SZ
  std::uint8_t other_end = 0; // OtherEnd
  std::string data;

  template <class A> void serialize(A &ar, unsigned) {
    ar &pipe &flags &capacity &other_end &data;
  }
};

// pipes.fifo: an open FIFO, reopened by path (made again if gone). The
// first record of each FIFO carries its bytes.
struct Fifo {
  std::string path;
  std::uint64_t dev = 0, ino = 0;
  std::uint32_t flags = 0;
  std::uint32_t mode = 0;
  std::uint32_t capacity = 0;
  bool carries_data = false;
  std::string data;

  template <class A> void serialize(A &ar, unsigned) {
    ar &path &dev &ino &flags &mode &capacity &carries_data &data;
  }
};

} // namespace cpr::pipes
