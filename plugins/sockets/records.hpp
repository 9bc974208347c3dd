// Saved forms of the objects of plugins/sockets.
#pragma once

#include "address.hpp"
#include "queue.hpp"
#include "socket_options.hpp"

#include <boost/serialization/vector.hpp>

#include <cstdint>
#include <vector>

namespace cpr::sockets {

// Where a connected unix socket's peer is.
enum class UnixPeer : std::uint8_t {
  none,      // not connected
  in_set,    // a socket some process of the set holds (`peer`)
  waiting,   // a connection not yet accepted by `peer`, a listener of the set
  gone,      // closed: what is queued is read, then end of file
  reconnect, // outside the set (--outside-sockets): connected again by name
};

// sockets.unix: one unix socket (an open file description of it).
struct UnixSocket {
  std::uint64_t inode = 0; // names it in this statefile
  std::uint8_t type = 0;   // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
  std::uint32_t flags = 0; // O_NONBLOCK
  Address name;            // its own address
  bool binds_name = false; // made by its bind() (not an accepted one's)
  std::string directory;   // where a relative name was bound
  bool file_gone = false;  // the file of its name was removed
  std::uint32_t file_mode = 0;
  bool listening = false;
  std::uint32_t backlog = 0;
  std::vector<std::uint64_t> waiting; // a listener's clients, of the set
  std::uint8_t peer_kind = 0;         // UnixPeer
  std::uint64_t peer = 0;
  Address peer_name;
  std::string peer_directory; // where a relative peer name is
  std::uint8_t shutdown = 0;  // RCV_SHUTDOWN 1, SEND_SHUTDOWN 2
  std::vector<Message> queue;
  std::vector<SocketOption> options;

  template <class A> void serialize(A &ar, unsigned) {
    ar &inode &type &flags &name &binds_name &directory &file_gone &file_mode;
    ar &listening &backlog &waiting &peer_kind &peer &peer_name &peer_directory;
    ar &shutdown;
    ar &queue &options;
  }
};

} // namespace cpr::sockets
