// The messages queued on a socket, read without taking any out (MSG_PEEK at
// SO_PEEK_OFF), and put back into a socket made again.
#pragma once

#include "address.hpp"

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cpr::sockets {

struct Message {
  std::string data;
  Address sender; // a datagram's source (recvfrom), when it had one
  bool has_credentials = false; // SCM_CREDENTIALS, for a SO_PASSCRED reader
  std::int32_t pid = 0;
  std::uint32_t uid = 0, gid = 0;
  // Files in flight with it (SCM_RIGHTS), as objects of the statefile.
  std::vector<std::uint64_t> files;

  template <class A> void serialize(A &ar, unsigned) {
    ar &data &sender &has_credentials &pid &uid &gid &files;
  }
};

// An open file of cpr's saved as an object of the statefile, and back.
using FileSaver = std::function<std::uint64_t(int fd)>;
using FileOpener = std::function<int(std::uint64_t object)>;

std::uint64_t total_bytes(const std::vector<Message> &queue);

// Every message in the receive queue of `fd` (a borrowed socket of a frozen
// process), its SO_PEEK_OFF given back after. A stream's bytes come in
// pieces that keep who sent them; datagrams one by one. `what` names it.
// Files in flight are saved with `save` (none where it is empty).
std::vector<Message> peek_queue(int fd, int type, const std::string &what,
                                const FileSaver &save = {});

// Sends `m` on `fd` (to `to`, if not empty) with its credentials, the way
// it was first sent. Never blocks: a queue that does not fit is an error.
void send_message(int fd, const Message &m, const Address &to,
                  const std::string &what, const FileOpener &open = {});

} // namespace cpr::sockets
