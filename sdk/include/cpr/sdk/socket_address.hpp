// What a socket is, in words: for messages naming it (a refusal, a busy
// address at restart) and for `cpr -i`.
#pragma once

#include <string>
#include <sys/socket.h>

namespace cpr::sdk {

// "127.0.0.1:8080", "[::1]:22", "/run/x.sock", "@abstract", "unbound".
std::string format_address(const sockaddr_storage &address, socklen_t length);

// "unix stream, local /run/x.sock, peer unbound"; "tcp ipv4, local
// 127.0.0.1:8080, peer 127.0.0.1:51234", from the socket itself (an fd of
// this process, e.g. from pidfd_getfd).
std::string describe_socket(int fd);

} // namespace cpr::sdk
