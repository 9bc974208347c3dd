#include "inet_checks.hpp"

#include "socket_options.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fmt/format.h>
#include <netinet/in.h>
#include <unistd.h>

namespace cpr::sockets {
namespace {

int unprivileged_port_start() {
  auto text =
      sdk::try_read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  try {
    return text ? std::stoi(*text) : 1024;
  } catch (const std::exception &) {
    return 1024;
  }
}

} // namespace

void check_bindable(const Address &a, int type, int protocol, bool port_too,
                    const std::vector<SocketOption> &options,
                    const std::string &what) {
  if (a.port != 0 && a.port < unprivileged_port_start() && ::getuid() != 0)
    throw sdk::Error(EACCES,
                     fmt::format("Permission denied: {} has port {}, which "
                                 "only root may give back",
                                 what, a.port));
  Address probe_at = a;
  if (!port_too)
    probe_at.port = 0;
  sdk::UniqueFd probe(::socket(a.family, type | SOCK_CLOEXEC, protocol));
  if (probe.get() < 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: " + what, errno);
  if (a.family == AF_INET6)
    set_int_option(probe.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1, what);
  set_int_option(probe.get(), SOL_SOCKET, SO_REUSEADDR, 1, what);
  for (const SocketOption &o : options)
    if (o.level == SOL_SOCKET && o.name == SO_REUSEPORT && o.value)
      set_int_option(probe.get(), SOL_SOCKET, SO_REUSEPORT, 1, what);
  sockaddr_storage sa{};
  socklen_t length = to_sockaddr(probe_at, sa);
  if (::bind(probe.get(), reinterpret_cast<sockaddr *>(&sa), length) == 0)
    return;
  if (errno == EADDRINUSE)
    throw sdk::Error(
        sdk::Code::busy,
        fmt::format("Resource busy: {} is in use, for {}", to_string(a), what));
  if (errno == EADDRNOTAVAIL)
    throw sdk::Error(sdk::Code::component_unavailable,
                     fmt::format("component unavailable: no interface here "
                                 "has the address of {}",
                                 what));
  sdk::throw_errno(sdk::Code::component_unavailable,
                   "component unavailable: " + what, errno);
}

void bind_again(int fd, const Address &a, const std::string &what) {
  int had = int_option(fd, SOL_SOCKET, SO_REUSEADDR, 0);
  set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, what);
  sockaddr_storage sa{};
  socklen_t length = to_sockaddr(a, sa);
  int rc = ::bind(fd, reinterpret_cast<sockaddr *>(&sa), length);
  int err = errno;
  set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, had, what);
  if (rc != 0)
    sdk::throw_errno(sdk::Code::busy,
                     fmt::format("Resource busy: cannot bind {} again", what),
                     err);
}

} // namespace cpr::sockets
