// Which sockets the processes of the set hold, found once per checkpoint.
#pragma once

#include <cpr/sdk/handler.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cpr::sockets {

struct Holder {
  pid_t pid = 0;
  int fd = -1;
};

// What the kernel calls the socket's protocol ("UNIX-STREAM", "TCP",
// "TCPv6", "UDP", "UDP-Lite", "NETLINK" ...), read through /proc without
// borrowing it; "" for what is no socket.
std::string protocol_name(pid_t pid, int fd);

// Socket inode -> the first (process, fd) holding it.
std::map<std::uint64_t, Holder> sockets_held_by(const std::vector<pid_t> &);

// "process 812 fd 5", for a socket no process of the set holds; or nothing
// if no process holds it.
std::optional<std::string> outside_holder(std::uint64_t inode,
                                          const std::vector<pid_t> &set);

// Refuses a socket of a network namespace other than cpr's: its addresses
// and peers mean something else there.
void check_network_namespace(const sdk::OpenFile &file,
                             const std::string &what);

// "process P fd N (socket:[I]: unix stream, local /x, peer ...)".
std::string describe(const sdk::OpenFile &file, int fd);

} // namespace cpr::sockets
