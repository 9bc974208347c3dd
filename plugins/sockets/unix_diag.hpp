// What the kernel says of the unix sockets of this network namespace
// (sock_diag's UNIX_DIAG): each one's peer, the connections waiting on a
// listener, shutdown state and queue lengths, which no socket call tells.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cpr::sockets {

struct UnixDiag {
  std::uint64_t inode = 0;
  std::uint8_t type = 0, state = 0; // SOCK_*, TCP_LISTEN/ESTABLISHED/CLOSE
  std::uint64_t peer = 0;           // 0: none, or the peer is gone
  std::string name;                 // sun_path as bound ("\0..." abstract)
  bool has_file = false;            // it made the file of its name (bind)
  std::uint64_t file_inode = 0;
  std::vector<std::uint64_t> waiting; // a listener's connections not taken
  std::uint32_t queued = 0;           // bytes (a listener: connections)
  std::uint32_t backlog_or_sent = 0;  // a listener's backlog; else unread
  std::uint8_t shutdown = 0;          // RCV_SHUTDOWN 1, SEND_SHUTDOWN 2
};

// Every unix socket of cpr's network namespace, by inode.
std::map<std::uint64_t, UnixDiag> unix_sockets();

} // namespace cpr::sockets
