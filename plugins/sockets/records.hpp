// Saved forms of the objects of plugins/sockets.
#pragma once

#include "address.hpp"
#include "identity.hpp"
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
  Identity owner;     // who made it (the owner of its inode)
  Identity peer_cred; // SO_PEERCRED: who its peer was (a listener: itself)

  template <class A> void serialize(A &ar, unsigned) {
    ar &owner &peer_cred;
    ar &inode &type &flags &name &binds_name &directory &file_gone &file_mode;
    ar &listening &backlog &waiting &peer_kind &peer &peer_name &peer_directory;
    ar &shutdown;
    ar &queue &options;
  }
};

} // namespace cpr::sockets

namespace cpr::sockets {

// What TCP_REPAIR reads of an established connection, and sets again.
struct TcpConnection {
  std::uint32_t send_seq = 0, recv_seq = 0; // write_seq, rcv_nxt
  std::string send_queue, recv_queue;       // unacknowledged, unread
  std::uint32_t unsent = 0; // of the send queue's tail, never sent
  std::uint32_t mss = 0;
  std::uint8_t tcp_options = 0; // TCPI_OPT_*
  std::uint8_t snd_wscale = 0, rcv_wscale = 0;
  std::uint32_t timestamp = 0;
  bool has_window = false;
  std::uint32_t snd_wl1 = 0, snd_wnd = 0, max_window = 0, rcv_wnd = 0,
                rcv_wup = 0;

  template <class A> void serialize(A &ar, unsigned) {
    ar &send_seq &recv_seq &send_queue &recv_queue &unsent &mss;
    ar &tcp_options &snd_wscale &rcv_wscale &timestamp;
    ar &has_window &snd_wl1 &snd_wnd &max_window &rcv_wnd &rcv_wup;
  }
};

// sockets.tcp: a TCP socket, IPv4 or IPv6.
struct TcpSocket {
  std::uint64_t inode = 0; // names it in this statefile
  std::uint16_t family = 0;
  std::uint32_t flags = 0; // O_NONBLOCK
  std::uint8_t state = 0;  // TCP_CLOSE, TCP_LISTEN, TCP_ESTABLISHED
  Address local, peer;
  std::uint32_t backlog = 0;
  bool peer_in_set = false;
  bool held = false; // its packets dropped by `inet cpr_hold` until restart
  TcpConnection connection;
  std::vector<SocketOption> options;

  template <class A> void serialize(A &ar, unsigned) {
    ar &inode &family &flags &state &local &peer &backlog &peer_in_set &held;
    ar &connection &options;
  }
};

// sockets.udp: a UDP or UDP-Lite socket, IPv4 or IPv6.
struct UdpSocket {
  std::uint16_t family = 0;
  std::uint8_t protocol = 0; // IPPROTO_UDP, IPPROTO_UDPLITE
  std::uint32_t flags = 0;
  Address local, peer;
  std::vector<Message> queue;
  std::vector<SocketOption> options;

  template <class A> void serialize(A &ar, unsigned) {
    ar &family &protocol &flags &local &peer &queue &options;
  }
};

} // namespace cpr::sockets

namespace cpr::sockets {

// sockets.netlink: a netlink socket, its port and multicast groups.
struct NetlinkSocket {
  std::int32_t type = 0, protocol = 0;
  std::uint32_t flags = 0;
  std::uint32_t port = 0;                       // its nl_pid; 0: never bound
  std::vector<std::uint32_t> groups;            // multicast groups, by number
  std::uint32_t peer_port = 0, peer_groups = 0; // connect()
  bool connected = false;
  std::vector<SocketOption> options;
  Identity owner;

  template <class A> void serialize(A &ar, unsigned) {
    ar &type &protocol &flags &port &groups &peer_port &peer_groups;
    ar &connected &options &owner;
  }
};

} // namespace cpr::sockets
