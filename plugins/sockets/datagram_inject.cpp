#include "datagram_inject.hpp"

#include "raw_packet.hpp"
#include "socket_options.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>

#include <cstring>

namespace cpr::sockets {
namespace {

// Where the datagram goes: the socket's address, the loopback for "any".
Address destination(const Address &local, int family) {
  Address to = as_sent(local);
  if (to.family != family) // an IPv6 socket of "any" takes IPv4 too
    to = Address{AF_INET, std::string(4, '\0'), local.port};
  bool any = to.bytes.find_first_not_of('\0') == std::string::npos;
  if (any && family == AF_INET)
    to.bytes = std::string("\x7f\0\0\x01", 4);
  if (any && family == AF_INET6)
    to.bytes = std::string(15, '\0') + '\x01';
  return to;
}

std::string udp_segment(const Address &from, const Address &to,
                        const std::string &data) {
  udphdr u{};
  u.source = htons(from.port);
  u.dest = htons(to.port);
  // UDP-Lite's length field is its checksum coverage: all of it.
  u.len = htons(static_cast<std::uint16_t>(sizeof u + data.size()));
  return std::string(reinterpret_cast<const char *>(&u), sizeof u) + data;
}

int queued_datagrams(int fd) {
  int zero = 0, off = -1, count = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero);
  char byte;
  while (::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC) >= 0)
    ++count;
  ::setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off);
  return count;
}

} // namespace

void inject_datagrams(int fd, const Address &local, int protocol,
                      const std::vector<Message> &queue,
                      const std::string &what) {
  for (const Message &m : queue) {
    Address from = as_sent(m.sender);
    if (from.family != AF_INET && from.family != AF_INET6)
      throw sdk::Error(sdk::Code::damaged_statefile,
                       "damaged statefile: a datagram queued on " + what +
                           " has no source address");
    Address to = destination(local, from.family);
    send_raw_packet(from, to, protocol, udp_segment(from, to, m.data),
                    offsetof(udphdr, check), what);
  }
  timespec pause{0, 1000000};
  for (int i = 0; i < 1000; ++i) { // loopback delivers them at once, nearly
    if (queued_datagrams(fd) >= static_cast<int>(queue.size()))
      return;
    ::nanosleep(&pause, nullptr);
  }
  throw sdk::Error(sdk::Code::component_unavailable,
                   fmt::format("component unavailable: the {} datagrams "
                               "queued on {} did not arrive again",
                               queue.size(), what));
}

} // namespace cpr::sockets
