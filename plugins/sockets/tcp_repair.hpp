// An established TCP connection taken out of the kernel and put back with
// TCP_REPAIR: sequence numbers, both queues, window, MSS, window scale,
// SACK and timestamps. A socket in repair mode sends nothing, and closes
// without a reset or a FIN.
#pragma once

#include "records.hpp"

namespace cpr::sockets {

void repair_on(int fd, const std::string &what);
void repair_off(int fd); // best effort: it may be gone
// Out of repair mode without the window probe repair_off() sends: the
// connection, held, stays as it was read.
void repair_off_quietly(int fd);

// Of a socket in repair mode (its process frozen).
TcpConnection read_connection(int fd, int state, const std::string &what);

// `fd`, a new socket in repair mode, bound to `local`, becomes the saved
// connection to `peer`, still in repair mode; its never-sent bytes wait for
// send_unsent(), once it is out of repair mode.
void restore_connection(int fd, const TcpSocket &rec, const std::string &what);
void send_unsent(int fd, const TcpConnection &c, const std::string &what);

} // namespace cpr::sockets
