#include "socket_options.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fmt/format.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <optional>
#include <string>

namespace cpr::sockets {
namespace {

enum class Form { integer, buffer, linger, time };

struct Known {
  int level, name;
  Form form;
};

// Only what an unprivileged program may set: a statefile must not give a
// socket SO_MARK or IP_TRANSPARENT (cpr itself could set them).
constexpr Known known[] = {
    {SOL_SOCKET, SO_REUSEADDR, Form::integer},
    {SOL_SOCKET, SO_REUSEPORT, Form::integer},
    {SOL_SOCKET, SO_KEEPALIVE, Form::integer},
    {SOL_SOCKET, SO_BROADCAST, Form::integer},
    {SOL_SOCKET, SO_OOBINLINE, Form::integer},
    {SOL_SOCKET, SO_PASSCRED, Form::integer},
    {SOL_SOCKET, SO_RCVLOWAT, Form::integer},
    {SOL_SOCKET, SO_PRIORITY, Form::integer},
    {SOL_SOCKET, SO_TIMESTAMP, Form::integer},
    {SOL_SOCKET, SO_SNDBUF, Form::buffer},
    {SOL_SOCKET, SO_RCVBUF, Form::buffer},
    {SOL_SOCKET, SO_LINGER, Form::linger},
    {SOL_SOCKET, SO_RCVTIMEO, Form::time},
    {SOL_SOCKET, SO_SNDTIMEO, Form::time},
    {IPPROTO_TCP, TCP_NODELAY, Form::integer},
    {IPPROTO_TCP, TCP_CORK, Form::integer},
    {IPPROTO_TCP, TCP_KEEPIDLE, Form::integer},
    {IPPROTO_TCP, TCP_KEEPINTVL, Form::integer},
    {IPPROTO_TCP, TCP_KEEPCNT, Form::integer},
    {IPPROTO_TCP, TCP_USER_TIMEOUT, Form::integer},
    {IPPROTO_TCP, TCP_DEFER_ACCEPT, Form::integer},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT, Form::integer},
    {IPPROTO_TCP, TCP_SYNCNT, Form::integer},
    {IPPROTO_TCP, TCP_LINGER2, Form::integer},
    {IPPROTO_TCP, TCP_WINDOW_CLAMP, Form::integer},
    {IPPROTO_IP, IP_TOS, Form::integer},
    {IPPROTO_IP, IP_TTL, Form::integer},
    {IPPROTO_IP, IP_FREEBIND, Form::integer},
    {IPPROTO_IP, IP_RECVERR, Form::integer},
    {IPPROTO_IP, IP_PKTINFO, Form::integer},
    {IPPROTO_IP, IP_MTU_DISCOVER, Form::integer},
    {IPPROTO_IP, IP_RECVTOS, Form::integer},
    {IPPROTO_IP, IP_MULTICAST_TTL, Form::integer},
    {IPPROTO_IP, IP_MULTICAST_LOOP, Form::integer},
    {IPPROTO_IPV6, IPV6_V6ONLY, Form::integer},
    {IPPROTO_IPV6, IPV6_TCLASS, Form::integer},
    {IPPROTO_IPV6, IPV6_UNICAST_HOPS, Form::integer},
    {IPPROTO_IPV6, IPV6_RECVPKTINFO, Form::integer},
    {IPPROTO_IPV6, IPV6_RECVERR, Form::integer},
    {IPPROTO_IPV6, IPV6_MTU_DISCOVER, Form::integer},
    {SOL_NETLINK, NETLINK_PKTINFO, Form::integer},
    {SOL_NETLINK, NETLINK_BROADCAST_ERROR, Form::integer},
    {SOL_NETLINK, NETLINK_NO_ENOBUFS, Form::integer},
    {SOL_NETLINK, NETLINK_CAP_ACK, Form::integer},
    {SOL_NETLINK, NETLINK_EXT_ACK, Form::integer},
    {SOL_NETLINK, NETLINK_GET_STRICT_CHK, Form::integer},
};

bool applies(const Known &k, int family, int type) {
  if (k.name == IP_MULTICAST_TTL || k.name == IP_MULTICAST_LOOP)
    return k.level == IPPROTO_IP && family == AF_INET && type == SOCK_DGRAM;
  if (k.level == SOL_NETLINK)
    return family == AF_NETLINK;
  if (k.level == IPPROTO_IP)
    return family == AF_INET;
  if (k.level == IPPROTO_IPV6)
    return family == AF_INET6;
  if (k.level == IPPROTO_TCP)
    return (family == AF_INET || family == AF_INET6) && type == SOCK_STREAM;
  return true;
}

// The value as saved, or nothing if the kernel will not say.
std::optional<SocketOption> read_option(int fd, const Known &k) {
  SocketOption o{k.level, k.name, 0, 0};
  if (k.form == Form::linger) {
    linger l{};
    socklen_t n = sizeof l;
    if (::getsockopt(fd, k.level, k.name, &l, &n) != 0)
      return std::nullopt;
    o.value = l.l_onoff;
    o.extra = l.l_linger;
  } else if (k.form == Form::time) {
    timeval t{};
    socklen_t n = sizeof t;
    if (::getsockopt(fd, k.level, k.name, &t, &n) != 0)
      return std::nullopt;
    o.value = t.tv_sec;
    o.extra = t.tv_usec;
  } else {
    int v = 0;
    socklen_t n = sizeof v;
    if (::getsockopt(fd, k.level, k.name, &v, &n) != 0)
      return std::nullopt;
    o.value = v;
  }
  return o;
}

const Known *find_known(int level, int name) {
  for (const Known &k : known)
    if (k.level == level && k.name == name)
      return &k;
  return nullptr;
}

} // namespace

int int_option(int fd, int level, int name, int otherwise) {
  int v = 0;
  socklen_t n = sizeof v;
  return ::getsockopt(fd, level, name, &v, &n) == 0 ? v : otherwise;
}

void set_int_option(int fd, int level, int name, int value,
                    const std::string &what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0)
    sdk::throw_errno(
        fmt::format("cannot set option {}/{} of {}", level, name, what), errno);
}

std::vector<SocketOption> changed_options(int fd, int family, int type,
                                          int protocol) {
  sdk::UniqueFd fresh(::socket(family, type | SOCK_CLOEXEC, protocol));
  std::vector<SocketOption> out;
  for (const Known &k : known) {
    if (!applies(k, family, type))
      continue;
    auto now = read_option(fd, k);
    if (!now)
      continue;
    auto before = fresh.get() >= 0 ? read_option(fresh.get(), k) : std::nullopt;
    if (before && before->value == now->value && before->extra == now->extra)
      continue;
    out.push_back(*now);
  }
  return out;
}

void apply_options(int fd, const std::vector<SocketOption> &options,
                   const std::string &what) {
  for (const SocketOption &o : options) {
    const Known *k = find_known(o.level, o.name);
    if (!k || (o.level == SOL_SOCKET && o.name == SO_PRIORITY &&
               (o.value < 0 || o.value > 6)))
      throw sdk::Error(sdk::Code::damaged_statefile,
                       fmt::format("damaged statefile: {} has option {}/{}, "
                                   "which a program cannot set itself",
                                   what, o.level, o.name));
    int rc = 0;
    if (k->form == Form::linger) {
      linger l{static_cast<int>(o.value), static_cast<int>(o.extra)};
      rc = ::setsockopt(fd, o.level, o.name, &l, sizeof l);
    } else if (k->form == Form::time) {
      timeval t{static_cast<time_t>(o.value),
                static_cast<suseconds_t>(o.extra)};
      rc = ::setsockopt(fd, o.level, o.name, &t, sizeof t);
    } else {
      // The kernel doubles a buffer size it is given, and says the double.
      int v = static_cast<int>(k->form == Form::buffer ? o.value / 2 : o.value);
      rc = ::setsockopt(fd, o.level, o.name, &v, sizeof v);
    }
    if (rc != 0)
      sdk::throw_errno(sdk::Code::component_unavailable,
                       fmt::format("component unavailable: cannot set option "
                                   "{}/{} of {}",
                                   o.level, o.name, what),
                       errno);
  }
}

} // namespace cpr::sockets
