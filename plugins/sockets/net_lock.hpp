// Holding a TCP connection still while its process is away: the packets of
// its peer (and any it would send) are dropped by a netfilter rule, made
// with nft, so the peer retransmits them later instead of seeing a reset.
// The rule lives in the table `inet cpr_hold`, one set element per
// connection; it outlives cpr when the processes are killed, until their
// restart, a day at most.
#pragma once

#include "address.hpp"

#include <vector>

namespace cpr::sockets {

struct Connection {
  Address local, peer;
};

// Throws a Checkpoint error (nft missing, or refusing) naming the first.
void hold_connections(const std::vector<Connection> &connections);
// Best effort: a connection already let go is no error.
void let_go_connections(const std::vector<Connection> &connections);
// The nft script that does it, and where nft is (nullptr: not installed).
std::string let_go_script(const std::vector<Connection> &connections);
const char *nft_program();

} // namespace cpr::sockets
