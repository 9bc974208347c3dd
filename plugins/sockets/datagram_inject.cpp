#include "datagram_inject.hpp"

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

const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_mapped(const Address &a) {
  return a.family == AF_INET6 && a.bytes.size() == 16 &&
         std::memcmp(a.bytes.data(), v4_mapped, 12) == 0;
}

Address as_v4(const Address &a) {
  Address v4 = a;
  v4.family = AF_INET;
  v4.bytes = a.bytes.substr(12);
  return v4;
}

// Where the datagram goes: the socket's address, the loopback for "any".
Address destination(const Address &local, int family) {
  Address to = local;
  if (family == AF_INET && local.family == AF_INET6)
    to = is_mapped(local)
             ? as_v4(local)
             : Address{AF_INET, std::string("\x7f\0\0\x01", 4), local.port};
  bool any = to.bytes.find_first_not_of('\0') == std::string::npos;
  if (any && family == AF_INET)
    to.bytes = std::string("\x7f\0\0\x01", 4);
  if (any && family == AF_INET6)
    to.bytes = std::string(15, '\0') + '\x01';
  return to;
}

std::uint32_t sum16(const void *data, std::size_t n, std::uint32_t sum) {
  const auto *p = static_cast<const unsigned char *>(data);
  for (std::size_t i = 0; i + 1 < n; i += 2)
    sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1)
    sum += static_cast<std::uint32_t>(p[n - 1] << 8);
  return sum;
}

std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  std::uint16_t c = static_cast<std::uint16_t>(~sum);
  return c ? c : 0xffff;
}

std::string udp_header(const Address &from, const Address &to,
                       const std::string &data, int protocol) {
  udphdr u{};
  u.source = htons(from.port);
  u.dest = htons(to.port);
  u.len = htons(static_cast<std::uint16_t>(sizeof u + data.size()));
  // UDP-Lite's length field is its checksum coverage: all of it.
  std::string segment(reinterpret_cast<const char *>(&u), sizeof u);
  segment += data;
  std::uint32_t sum = sum16(from.bytes.data(), from.bytes.size(), 0);
  sum = sum16(to.bytes.data(), to.bytes.size(), sum);
  sum += static_cast<std::uint32_t>(protocol) + sizeof u + data.size();
  sum = sum16(segment.data(), segment.size(), sum);
  std::uint16_t check = htons(fold(sum));
  std::memcpy(segment.data() + offsetof(udphdr, check), &check, 2);
  return segment;
}

void send_raw(const Address &from, const Address &to, const std::string &data,
              int protocol, const std::string &what) {
  bool v6 = to.family == AF_INET6;
  sdk::UniqueFd raw(::socket(to.family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (raw.get() < 0)
    sdk::throw_errno("cannot put datagrams back into " + what, errno);
  std::string packet;
  std::string segment = udp_header(from, to, data, protocol);
  if (v6) {
    set_int_option(raw.get(), IPPROTO_IPV6, IPV6_HDRINCL, 1, what);
    ip6_hdr h{};
    h.ip6_flow = htonl(6u << 28);
    h.ip6_plen = htons(static_cast<std::uint16_t>(segment.size()));
    h.ip6_nxt = static_cast<std::uint8_t>(protocol);
    h.ip6_hlim = 64;
    std::memcpy(&h.ip6_src, from.bytes.data(), 16);
    std::memcpy(&h.ip6_dst, to.bytes.data(), 16);
    packet.assign(reinterpret_cast<const char *>(&h), sizeof h);
  } else {
    iphdr h{};
    h.version = 4;
    h.ihl = 5;
    h.ttl = 64;
    h.protocol = static_cast<std::uint8_t>(protocol);
    h.tot_len = htons(static_cast<std::uint16_t>(sizeof h + segment.size()));
    std::memcpy(&h.saddr, from.bytes.data(), 4);
    std::memcpy(&h.daddr, to.bytes.data(), 4);
    packet.assign(reinterpret_cast<const char *>(&h), sizeof h);
  }
  packet += segment;
  sockaddr_storage sa{};
  Address dst = to;
  dst.port = 0;
  socklen_t length = to_sockaddr(dst, sa);
  if (::sendto(raw.get(), packet.data(), packet.size(), 0,
               reinterpret_cast<sockaddr *>(&sa),
               length) != static_cast<ssize_t>(packet.size()))
    sdk::throw_errno("cannot put datagrams back into " + what, errno);
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
    Address from = is_mapped(m.sender) ? as_v4(m.sender) : m.sender;
    if (from.family != AF_INET && from.family != AF_INET6)
      throw sdk::Error(sdk::Code::damaged_statefile,
                       "damaged statefile: a datagram queued on " + what +
                           " has no source address");
    send_raw(from, destination(local, from.family), m.data, protocol, what);
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
