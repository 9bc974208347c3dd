// The options a program set on a socket (setsockopt): those that differ
// from a fresh socket of its kind, so that what the kernel tunes by itself
// (buffer sizes) is left to it.
#pragma once

#include <boost/serialization/vector.hpp>

#include <cstdint>
#include <vector>

namespace cpr::sockets {

struct SocketOption {
  std::int32_t level = 0, name = 0;
  std::int64_t value = 0, extra = 0; // linger: on, seconds; times: s, us

  template <class A> void serialize(A &ar, unsigned) {
    ar &level &name &value &extra;
  }
};

// Of the socket `fd` of (family, type, protocol).
std::vector<SocketOption> changed_options(int fd, int family, int type,
                                          int protocol);

// Before bind(): IPV6_V6ONLY, SO_REUSEADDR and the like must be. Throws a
// damaged statefile error for an option a user could not set himself.
void apply_options(int fd, const std::vector<SocketOption> &options,
                   const std::string &what);

// One option's value now, or `otherwise`.
int int_option(int fd, int level, int name, int otherwise = -1);
void set_int_option(int fd, int level, int name, int value,
                    const std::string &what);

} // namespace cpr::sockets
