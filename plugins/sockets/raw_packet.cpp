#include "raw_packet.hpp"

#include "socket_options.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <sys/socket.h>

#include <cstring>

namespace cpr::sockets {
namespace {

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

// The transport checksum over the pseudo-header and the segment.
void fill_checksum(const Address &from, const Address &to, int protocol,
                   std::string &segment, std::size_t at) {
  std::uint32_t sum = sum16(from.bytes.data(), from.bytes.size(), 0);
  sum = sum16(to.bytes.data(), to.bytes.size(), sum);
  sum += static_cast<std::uint32_t>(protocol) +
         static_cast<std::uint32_t>(segment.size());
  sum = sum16(segment.data(), segment.size(), sum);
  std::uint16_t check = htons(fold(sum));
  std::memcpy(segment.data() + at, &check, 2);
}

std::string ip_header(const Address &from, const Address &to, int protocol,
                      std::size_t segment_size) {
  if (to.family == AF_INET6) {
    ip6_hdr h{};
    h.ip6_flow = htonl(6u << 28);
    h.ip6_plen = htons(static_cast<std::uint16_t>(segment_size));
    h.ip6_nxt = static_cast<std::uint8_t>(protocol);
    h.ip6_hlim = 64;
    std::memcpy(&h.ip6_src, from.bytes.data(), 16);
    std::memcpy(&h.ip6_dst, to.bytes.data(), 16);
    return std::string(reinterpret_cast<const char *>(&h), sizeof h);
  }
  iphdr h{};
  h.version = 4;
  h.ihl = 5;
  h.ttl = 64;
  h.protocol = static_cast<std::uint8_t>(protocol);
  h.tot_len = htons(static_cast<std::uint16_t>(sizeof h + segment_size));
  std::memcpy(&h.saddr, from.bytes.data(), 4);
  std::memcpy(&h.daddr, to.bytes.data(), 4);
  return std::string(reinterpret_cast<const char *>(&h), sizeof h);
}

} // namespace

Address as_sent(const Address &a) {
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                           0, 0, 0, 0, 0xff, 0xff};
  if (a.family != AF_INET6 || a.bytes.size() != 16 ||
      std::memcmp(a.bytes.data(), mapped, 12) != 0)
    return a;
  Address v4 = a;
  v4.family = AF_INET;
  v4.bytes = a.bytes.substr(12);
  return v4;
}

void send_raw_packet(const Address &from, const Address &to, int protocol,
                     std::string segment, std::size_t checksum_at,
                     const std::string &what) {
  if (from.family != to.family || from.bytes.size() != to.bytes.size())
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile: addresses of two families for " +
                         what);
  sdk::UniqueFd raw(::socket(to.family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (raw.get() < 0)
    sdk::throw_errno("cannot send a packet for " + what, errno);
  if (to.family == AF_INET6)
    set_int_option(raw.get(), IPPROTO_IPV6, IPV6_HDRINCL, 1, what);
  fill_checksum(from, to, protocol, segment, checksum_at);
  std::string packet = ip_header(from, to, protocol, segment.size()) + segment;
  sockaddr_storage sa{};
  Address dst = to;
  dst.port = 0;
  socklen_t length = to_sockaddr(dst, sa);
  if (::sendto(raw.get(), packet.data(), packet.size(), 0,
               reinterpret_cast<sockaddr *>(&sa),
               length) != static_cast<ssize_t>(packet.size()))
    sdk::throw_errno("cannot send a packet for " + what, errno);
}

} // namespace cpr::sockets
