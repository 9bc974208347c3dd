// What a restart checks of an IP socket's address before anything runs.
#pragma once

#include "address.hpp"
#include "socket_options.hpp"

#include <string>

namespace cpr::sockets {

// The address can be bound here: it is on an interface, it is free (a
// listener's or a bound socket's port), and a port below
// net.ipv4.ip_unprivileged_port_start is only given back by root.
// `what` names the socket ("tcp listener 0.0.0.0:8080"); `options` are its
// own (with SO_REUSEPORT it shares its port with others that have it).
void check_bindable(const Address &a, int type, int protocol, bool port_too,
                    const std::vector<SocketOption> &options,
                    const std::string &what);

// A bind() that can be made again while old connections of the port linger
// (SO_REUSEADDR for the call only, unless the program had it).
void bind_again(int fd, const Address &a, const std::string &what);

} // namespace cpr::sockets
