#include "address.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/socket_address.hpp>

#include <arpa/inet.h>
#include <cstddef>
#include <cstring>
#include <netinet/in.h>
#include <sys/un.h>

namespace cpr::sockets {

Address from_sockaddr(const sockaddr_storage &sa, socklen_t length) {
  Address a;
  switch (sa.ss_family) {
  case AF_UNIX: {
    const auto &un = reinterpret_cast<const sockaddr_un &>(sa);
    const socklen_t start = offsetof(sockaddr_un, sun_path);
    if (length <= start)
      return a;
    a.family = AF_UNIX;
    std::size_t n = length - start;
    if (un.sun_path[0] != '\0')
      n = ::strnlen(un.sun_path, n);
    a.bytes.assign(un.sun_path, n);
    return a;
  }
  case AF_INET: {
    const auto &in = reinterpret_cast<const sockaddr_in &>(sa);
    a.family = AF_INET;
    a.bytes.assign(reinterpret_cast<const char *>(&in.sin_addr), 4);
    a.port = ntohs(in.sin_port);
    return a;
  }
  case AF_INET6: {
    const auto &in6 = reinterpret_cast<const sockaddr_in6 &>(sa);
    a.family = AF_INET6;
    a.bytes.assign(reinterpret_cast<const char *>(&in6.sin6_addr), 16);
    a.port = ntohs(in6.sin6_port);
    a.flowinfo = ntohl(in6.sin6_flowinfo);
    a.scope_id = in6.sin6_scope_id;
    return a;
  }
  default:
    return a;
  }
}

socklen_t to_sockaddr(const Address &a, sockaddr_storage &sa) {
  sa = {};
  auto bad = [] {
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile: a socket address no socket can have");
  };
  switch (a.family) {
  case AF_UNIX: {
    auto &un = reinterpret_cast<sockaddr_un &>(sa);
    if (a.bytes.empty() || a.bytes.size() >= sizeof un.sun_path ||
        (!a.abstract() && a.bytes.find('\0') != std::string::npos))
      bad();
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, a.bytes.data(), a.bytes.size());
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) +
                                  a.bytes.size() + (a.abstract() ? 0 : 1));
  }
  case AF_INET: {
    auto &in = reinterpret_cast<sockaddr_in &>(sa);
    if (a.bytes.size() != 4)
      bad();
    in.sin_family = AF_INET;
    std::memcpy(&in.sin_addr, a.bytes.data(), 4);
    in.sin_port = htons(a.port);
    return sizeof in;
  }
  case AF_INET6: {
    auto &in6 = reinterpret_cast<sockaddr_in6 &>(sa);
    if (a.bytes.size() != 16)
      bad();
    in6.sin6_family = AF_INET6;
    std::memcpy(&in6.sin6_addr, a.bytes.data(), 16);
    in6.sin6_port = htons(a.port);
    in6.sin6_flowinfo = htonl(a.flowinfo);
    in6.sin6_scope_id = a.scope_id;
    return sizeof in6;
  }
  default:
    bad();
  }
  return 0;
}

namespace {

template <class Get> Address address_by(int fd, Get get) {
  sockaddr_storage sa{};
  socklen_t length = sizeof sa;
  if (get(fd, reinterpret_cast<sockaddr *>(&sa), &length) != 0)
    return {};
  return from_sockaddr(sa, length);
}

} // namespace

Address local_address(int fd) { return address_by(fd, ::getsockname); }
Address peer_address(int fd) { return address_by(fd, ::getpeername); }

std::string to_string(const Address &a) {
  if (a.empty())
    return "unbound";
  sockaddr_storage sa{};
  socklen_t length = to_sockaddr(a, sa);
  return sdk::format_address(sa, length);
}

} // namespace cpr::sockets
