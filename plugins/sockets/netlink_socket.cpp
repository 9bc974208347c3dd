#include "netlink_socket.hpp"

#include "identity.hpp"
#include "records.hpp"
#include "set_sockets.hpp"
#include "socket_options.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>

namespace cpr::sockets {
namespace {

std::string words(const NetlinkSocket &rec) {
  return fmt::format("netlink protocol {} socket, port {}", rec.protocol,
                     rec.port);
}

std::vector<std::uint32_t> groups_of(int fd) {
  std::vector<std::uint32_t> mask(32);
  socklen_t length = static_cast<socklen_t>(mask.size() * 4);
  if (::getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, mask.data(),
                   &length) != 0)
    return {};
  std::vector<std::uint32_t> groups;
  for (std::size_t word = 0; word < mask.size() && word * 4 < length; ++word)
    for (unsigned b = 0; b < 32; ++b)
      if (mask[word] & (1u << b))
        groups.push_back(static_cast<std::uint32_t>(word * 32 + b + 1));
  return groups;
}

sockaddr_nl netlink_address(std::uint32_t port, std::uint32_t groups) {
  sockaddr_nl a{};
  a.nl_family = AF_NETLINK;
  a.nl_pid = port;
  a.nl_groups = groups;
  return a;
}

} // namespace

bool NetlinkHandler::claims(const sdk::OpenFile &file) const {
  return S_ISSOCK(file.st.st_mode) &&
         protocol_name(file.pid, file.fd) == "NETLINK";
}

sdk::Saved NetlinkHandler::save(const sdk::OpenFile &file,
                                sdk::SaveContext &) const {
  sdk::UniqueFd fd = sdk::borrow_fd(file);
  const std::string what = describe(file, fd.get());
  check_network_namespace(file, what);
  char byte;
  if (::recv(fd.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC) >= 0)
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: {} has messages from the "
                                 "kernel unread, which cannot be given back",
                                 what));
  NetlinkSocket rec;
  rec.type = int_option(fd.get(), SOL_SOCKET, SO_TYPE);
  rec.protocol = int_option(fd.get(), SOL_SOCKET, SO_PROTOCOL);
  rec.flags = file.flags & O_NONBLOCK;
  sockaddr_nl self{}, peer{};
  socklen_t length = sizeof self;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr *>(&self), &length) ==
      0)
    rec.port = self.nl_pid;
  rec.groups = groups_of(fd.get());
  length = sizeof peer;
  if (::getpeername(fd.get(), reinterpret_cast<sockaddr *>(&peer), &length) ==
          0 &&
      (peer.nl_pid || peer.nl_groups)) {
    rec.connected = true;
    rec.peer_port = peer.nl_pid;
    rec.peer_groups = peer.nl_groups;
  }
  rec.options = changed_options(fd.get(), AF_NETLINK, rec.type, rec.protocol);
  rec.owner = {file.st.st_uid, file.st.st_gid, true};
  return {sdk::to_payload(rec),
          fmt::format("{}{}", words(rec),
                      rec.groups.empty()
                          ? ""
                          : fmt::format(", {} groups", rec.groups.size()))};
}

void NetlinkHandler::check(const sdk::Record &record,
                           const sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<NetlinkSocket>(record.payload);
  if (rec.port == 0)
    return;
  sdk::UniqueFd probe(
      ::socket(AF_NETLINK, rec.type | SOCK_CLOEXEC, rec.protocol));
  if (probe.get() < 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: " + words(rec), errno);
  sockaddr_nl a = netlink_address(rec.port, 0);
  if (::bind(probe.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 &&
      errno == EADDRINUSE)
    throw sdk::Error(sdk::Code::busy,
                     fmt::format("Resource busy: netlink port {} is in use, "
                                 "for {}",
                                 rec.port, words(rec)));
}

int NetlinkHandler::open(const sdk::Record &record,
                         sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<NetlinkSocket>(record.payload);
  const std::string what = words(rec);
  CreatingAs as(rec.owner); // the kernel grants the groups that user may join
  sdk::UniqueFd fd(::socket(AF_NETLINK, rec.type | SOCK_CLOEXEC, rec.protocol));
  if (fd.get() < 0)
    sdk::throw_errno("cannot make " + what + " again", errno);
  apply_options(fd.get(), rec.options, what);
  if (rec.port) {
    sockaddr_nl a = netlink_address(rec.port, 0);
    if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
      sdk::throw_errno(sdk::Code::busy,
                       "Resource busy: cannot bind " + what + " again", errno);
  }
  for (std::uint32_t group : rec.groups)
    if (::setsockopt(fd.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
                     sizeof group) != 0)
      sdk::throw_errno(
          fmt::format("cannot join group {} with {} again", group, what),
          errno);
  if (rec.connected) {
    sockaddr_nl to = netlink_address(rec.peer_port, rec.peer_groups);
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&to), sizeof to) != 0)
      sdk::throw_errno("cannot connect " + what + " again", errno);
  }
  if (rec.flags & O_NONBLOCK)
    ::fcntl(fd.get(), F_SETFL, O_NONBLOCK);
  return fd.release();
}

} // namespace cpr::sockets
