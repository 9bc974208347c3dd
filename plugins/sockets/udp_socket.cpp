#include "udp_socket.hpp"

#include "datagram_inject.hpp"
#include "inet_checks.hpp"
#include "records.hpp"
#include "set_sockets.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/stat.h>

namespace cpr::sockets {
namespace {

bool is_udp(int protocol) {
  return protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE;
}

std::string words(const UdpSocket &rec) {
  return fmt::format(
      "{} {} socket {}{}", rec.protocol == IPPROTO_UDPLITE ? "udp-lite" : "udp",
      rec.family == AF_INET6 ? "ipv6" : "ipv4",
      rec.local.port ? to_string(rec.local) : "unbound",
      rec.peer.empty() || !rec.peer.port ? "" : " -> " + to_string(rec.peer));
}

} // namespace

bool UdpHandler::claims(const sdk::OpenFile &file) const {
  if (!S_ISSOCK(file.st.st_mode))
    return false;
  std::string name = protocol_name(file.pid, file.fd);
  return name == "UDP" || name == "UDPv6" || name == "UDP-Lite" ||
         name == "UDP-Litev6";
}

sdk::Saved UdpHandler::save(const sdk::OpenFile &file,
                            sdk::SaveContext &) const {
  sdk::UniqueFd fd = sdk::borrow_fd(file);
  const std::string what = describe(file, fd.get());
  check_network_namespace(file, what);
  UdpSocket rec;
  rec.family =
      static_cast<std::uint16_t>(int_option(fd.get(), SOL_SOCKET, SO_DOMAIN));
  rec.protocol =
      static_cast<std::uint8_t>(int_option(fd.get(), SOL_SOCKET, SO_PROTOCOL));
  rec.flags = file.flags & O_NONBLOCK;
  rec.local = local_address(fd.get());
  rec.peer = peer_address(fd.get());
  rec.queue = peek_queue(fd.get(), SOCK_DGRAM, what);
  rec.options = changed_options(fd.get(), rec.family, SOCK_DGRAM, rec.protocol);
  std::string summary = words(rec);
  if (!rec.queue.empty())
    summary += fmt::format(", {} datagrams ({} bytes) queued", rec.queue.size(),
                           total_bytes(rec.queue));
  return {sdk::to_payload(rec), summary};
}

void UdpHandler::check(const sdk::Record &record,
                       const sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<UdpSocket>(record.payload);
  if ((rec.family != AF_INET && rec.family != AF_INET6) ||
      !is_udp(rec.protocol))
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile: a UDP socket of family " +
                         std::to_string(rec.family) + " protocol " +
                         std::to_string(rec.protocol));
  if (rec.local.port)
    check_bindable(rec.local, SOCK_DGRAM, rec.protocol, true, rec.options,
                   words(rec));
  if (!rec.queue.empty() && !rec.local.port)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile: datagrams queued on " + words(rec) +
                         ", which has no port");
}

int UdpHandler::open(const sdk::Record &record, sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<UdpSocket>(record.payload);
  const std::string what = words(rec);
  sdk::UniqueFd fd(
      ::socket(rec.family, SOCK_DGRAM | SOCK_CLOEXEC, rec.protocol));
  if (fd.get() < 0)
    sdk::throw_errno("cannot make " + what + " again", errno);
  apply_options(fd.get(), rec.options, what);
  if (rec.local.port)
    bind_again(fd.get(), rec.local, what);
  // Before connect(): a connected socket takes datagrams from its peer only.
  inject_datagrams(fd.get(), rec.local, rec.protocol, rec.queue, what);
  if (!rec.peer.empty() && rec.peer.port) {
    sockaddr_storage sa{};
    socklen_t length = to_sockaddr(rec.peer, sa);
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&sa), length) != 0)
      sdk::throw_errno(
          sdk::Code::component_unavailable,
          "component unavailable: cannot connect " + what + " again", errno);
  }
  if (rec.flags & O_NONBLOCK)
    ::fcntl(fd.get(), F_SETFL, O_NONBLOCK);
  return fd.release();
}

} // namespace cpr::sockets
