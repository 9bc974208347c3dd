// A socket address as a record keeps it: in no CPU's layout.
#pragma once

#include <boost/serialization/string.hpp>

#include <cstdint>
#include <string>
#include <sys/socket.h>

namespace cpr::sockets {

struct Address {
  std::uint16_t family = AF_UNSPEC; // AF_UNSPEC: none
  // unix: sun_path as bound (an abstract name starts with NUL); ipv4, ipv6:
  // the address in network byte order.
  std::string bytes;
  std::uint16_t port = 0;
  std::uint32_t flowinfo = 0, scope_id = 0;

  bool empty() const { return family == AF_UNSPEC || bytes.empty(); }
  bool abstract() const { return !bytes.empty() && bytes[0] == '\0'; }
  bool operator==(const Address &) const = default;

  template <class A> void serialize(A &ar, unsigned) {
    ar &family &bytes &port &flowinfo &scope_id;
  }
};

Address from_sockaddr(const sockaddr_storage &sa, socklen_t length);
// Its length for bind(), connect() and sendto(); throws a damaged statefile
// error for an address no socket can have.
socklen_t to_sockaddr(const Address &a, sockaddr_storage &sa);

// getsockname(), getpeername(); an empty Address when there is none.
Address local_address(int fd);
Address peer_address(int fd);

// "127.0.0.1:8080", "[::1]:22", "/run/x.sock", "@name", "unbound".
std::string to_string(const Address &a);

} // namespace cpr::sockets
