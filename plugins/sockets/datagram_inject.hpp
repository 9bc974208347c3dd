// Datagrams put back into a UDP socket's receive queue with their source
// addresses as they were: built whole and sent to the socket's own address
// through a raw socket, so that the program's recvfrom() sees who sent
// each, whoever that was.
#pragma once

#include "address.hpp"
#include "queue.hpp"

#include <vector>

namespace cpr::sockets {

// `fd` is bound to `local`; waits (a short while) until every datagram has
// arrived in its queue.
void inject_datagrams(int fd, const Address &local, int protocol,
                      const std::vector<Message> &queue,
                      const std::string &what);

} // namespace cpr::sockets
