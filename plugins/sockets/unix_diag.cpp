#include "unix_diag.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>

#include <cstring>

namespace cpr::sockets {
namespace {

[[noreturn]] void fail(const char *what, int err) {
  sdk::throw_errno(sdk::Code::checkpoint_error,
                   std::string("Checkpoint error: cannot ask the kernel for "
                               "the unix sockets (sock_diag): ") +
                       what,
                   err);
}

void send_dump_request(int nl) {
  struct {
    nlmsghdr header;
    unix_diag_req request;
  } req{};
  req.header.nlmsg_len = sizeof req;
  req.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.request.sdiag_family = AF_UNIX;
  req.request.udiag_states = ~0u;
  req.request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER |
                           UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(nl, &req, sizeof req, 0, reinterpret_cast<sockaddr *>(&kernel),
               sizeof kernel) != sizeof req)
    fail("send", errno);
}

UnixDiag parse(const nlmsghdr *h) {
  const auto *msg = static_cast<const unix_diag_msg *>(NLMSG_DATA(h));
  UnixDiag d;
  d.inode = msg->udiag_ino;
  d.type = msg->udiag_type;
  d.state = msg->udiag_state;
  int left = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *msg));
  for (const rtattr *a = reinterpret_cast<const rtattr *>(msg + 1);
       RTA_OK(a, left); a = RTA_NEXT(a, left)) {
    const char *data = static_cast<const char *>(RTA_DATA(a));
    std::size_t length = RTA_PAYLOAD(a);
    switch (a->rta_type) {
    case UNIX_DIAG_NAME:
      d.name.assign(data, length);
      break;
    case UNIX_DIAG_VFS: {
      unix_diag_vfs vfs;
      std::memcpy(&vfs, data, sizeof vfs);
      d.has_file = true;
      d.file_inode = vfs.udiag_vfs_ino;
      break;
    }
    case UNIX_DIAG_PEER: {
      std::uint32_t peer;
      std::memcpy(&peer, data, sizeof peer);
      d.peer = peer;
      break;
    }
    case UNIX_DIAG_ICONS:
      for (std::size_t i = 0; i + 4 <= length; i += 4) {
        std::uint32_t ino;
        std::memcpy(&ino, data + i, sizeof ino);
        d.waiting.push_back(ino);
      }
      break;
    case UNIX_DIAG_RQLEN: {
      unix_diag_rqlen q;
      std::memcpy(&q, data, sizeof q);
      d.queued = q.udiag_rqueue;
      d.backlog_or_sent = q.udiag_wqueue;
      break;
    }
    case UNIX_DIAG_SHUTDOWN:
      d.shutdown = static_cast<std::uint8_t>(*data);
      break;
    default:
      break;
    }
  }
  return d;
}

} // namespace

std::map<std::uint64_t, UnixDiag> unix_sockets() {
  sdk::UniqueFd nl(
      ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (nl.get() < 0)
    fail("socket", errno);
  send_dump_request(nl.get());
  std::map<std::uint64_t, UnixDiag> out;
  alignas(nlmsghdr) char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(nl.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      fail("receive", n < 0 ? errno : EIO);
    int left = static_cast<int>(n);
    for (const nlmsghdr *h = reinterpret_cast<const nlmsghdr *>(buffer);
         NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE)
        return out;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto *e = static_cast<const nlmsgerr *>(NLMSG_DATA(h));
        fail("answer", -e->error);
      }
      UnixDiag d = parse(h);
      out[d.inode] = std::move(d);
    }
  }
}

} // namespace cpr::sockets
