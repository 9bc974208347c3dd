// A packet of the transport built by hand and sent through a raw socket,
// with any source address: to put datagrams back with their senders, and
// to give a repaired TCP connection the FIN or ACK its peer had sent.
#pragma once

#include "address.hpp"

#include <string>

namespace cpr::sockets {

// An IPv6 address that holds an IPv4 one (::ffff:a.b.c.d) as that IPv4
// address (the packets are IPv4); any other as it is.
Address as_sent(const Address &a);

// Sends `segment`, a transport header and its payload whose checksum field
// (at `checksum_at`) is zero, from `from` to `to` (same family) as an IP
// packet of `protocol`; the checksum is filled in. `what` names the socket
// it is for.
void send_raw_packet(const Address &from, const Address &to, int protocol,
                     std::string segment, std::size_t checksum_at,
                     const std::string &what);

} // namespace cpr::sockets
