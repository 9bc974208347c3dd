#include <cpr/sdk/socket_address.hpp>

#include <arpa/inet.h>
#include <cstddef>
#include <cstring>
#include <fmt/format.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/un.h>

namespace cpr::sdk {
namespace {

std::string unix_address(const sockaddr_un &a, socklen_t length) {
  std::size_t path_length = length - offsetof(sockaddr_un, sun_path);
  if (length <= offsetof(sockaddr_un, sun_path))
    return "unbound";
  if (a.sun_path[0] == '\0') // abstract: no terminator, may hold NULs
    return "@" + std::string(a.sun_path + 1, path_length - 1);
  return std::string(a.sun_path, ::strnlen(a.sun_path, path_length));
}

std::string family_name(int family) {
  switch (family) {
  case AF_UNIX:
    return "unix";
  case AF_INET:
    return "ipv4";
  case AF_INET6:
    return "ipv6";
  case AF_NETLINK:
    return "netlink";
  case AF_PACKET:
    return "packet";
  default:
    return fmt::format("family {}", family);
  }
}

std::string type_name(int type) {
  switch (type) {
  case SOCK_STREAM:
    return "stream";
  case SOCK_DGRAM:
    return "datagram";
  case SOCK_SEQPACKET:
    return "seqpacket";
  case SOCK_RAW:
    return "raw";
  default:
    return fmt::format("type {}", type);
  }
}

// "tcp ipv4", "udp ipv6", "unix stream", "netlink protocol 0".
std::string kind_name(int family, int type, int protocol) {
  if (family == AF_INET || family == AF_INET6) {
    std::string ip = family_name(family);
    if (protocol == IPPROTO_TCP)
      return "tcp " + ip;
    if (protocol == IPPROTO_UDP)
      return "udp " + ip;
    if (protocol == IPPROTO_UDPLITE)
      return "udp-lite " + ip;
    return fmt::format("{} {} protocol {}", ip, type_name(type), protocol);
  }
  if (family == AF_NETLINK)
    return fmt::format("netlink protocol {}", protocol);
  return family_name(family) + " " + type_name(type);
}

int int_option(int fd, int option) {
  int value = -1;
  socklen_t length = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0)
    return -1;
  return value;
}

} // namespace

std::string format_address(const sockaddr_storage &address, socklen_t length) {
  char text[INET6_ADDRSTRLEN] = "";
  switch (address.ss_family) {
  case AF_UNIX:
    return unix_address(reinterpret_cast<const sockaddr_un &>(address), length);
  case AF_INET: {
    const auto &in = reinterpret_cast<const sockaddr_in &>(address);
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    return fmt::format("{}:{}", text, ntohs(in.sin_port));
  }
  case AF_INET6: {
    const auto &in6 = reinterpret_cast<const sockaddr_in6 &>(address);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    return fmt::format("[{}]:{}", text, ntohs(in6.sin6_port));
  }
  case AF_NETLINK: {
    const auto &nl = reinterpret_cast<const sockaddr_nl &>(address);
    return fmt::format("port {} groups {:#x}", nl.nl_pid, nl.nl_groups);
  }
  case AF_PACKET: {
    const auto &ll = reinterpret_cast<const sockaddr_ll &>(address);
    std::string where = ll.sll_ifindex
                            ? fmt::format("interface {}", ll.sll_ifindex)
                            : std::string("any interface");
    return fmt::format("{} protocol {:#06x}", where, ntohs(ll.sll_protocol));
  }
  case AF_UNSPEC:
    return "unbound";
  default:
    return fmt::format("an address of family {}", address.ss_family);
  }
}

std::string describe_socket(int fd) {
  int family = int_option(fd, SO_DOMAIN);
  std::string out =
      kind_name(family, int_option(fd, SO_TYPE), int_option(fd, SO_PROTOCOL));
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0)
    out += ", local " + format_address(address, length);
  if (family == AF_NETLINK) // its peer is the kernel, or a multicast group
    return out;
  if (int_option(fd, SO_ACCEPTCONN) == 1)
    return out + ", listening";
  address = {};
  length = sizeof address;
  if (::getpeername(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0)
    out += ", peer " + format_address(address, length);
  else
    out += ", not connected";
  return out;
}

} // namespace cpr::sdk
