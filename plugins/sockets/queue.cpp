#include "queue.hpp"

#include "socket_options.hpp"

#include <cpr/sdk/error.hpp>

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>

namespace cpr::sockets {
namespace {

// The largest datagram a peek reads whole.
constexpr std::size_t max_datagram = 4u << 20;

// Puts the socket's SO_PEEK_OFF and SO_PASSCRED back as they were.
class PeekingAt {
public:
  PeekingAt(int fd, const std::string &what) : fd_(fd), what_(what) {
    old_offset_ = int_option(fd, SOL_SOCKET, SO_PEEK_OFF);
    old_passcred_ = int_option(fd, SOL_SOCKET, SO_PASSCRED, 0);
    if (::setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero_, sizeof zero_) != 0)
      sdk::throw_errno(sdk::Code::checkpoint_error,
                       "Checkpoint error: cannot read the queue of " + what,
                       errno);
  }
  ~PeekingAt() {
    ::setsockopt(fd_, SOL_SOCKET, SO_PEEK_OFF, &old_offset_, sizeof(int));
  }
  bool passcred() const { return old_passcred_ != 0; }

private:
  int fd_;
  std::string what_;
  int old_offset_ = -1, old_passcred_ = 0;
  int zero_ = 0;
};

[[noreturn]] void fds_in_flight(const std::string &what) {
  throw sdk::Error(sdk::Code::checkpoint_error,
                   fmt::format("Checkpoint error: {} has file descriptors in "
                               "flight (SCM_RIGHTS), which cpr cannot carry "
                               "yet",
                               what));
}

void read_control(msghdr &msg, Message &m, const std::string &what) {
  for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET)
      continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < n; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        ::close(fd);
      }
      fds_in_flight(what);
    }
    if (c->cmsg_type == SCM_CREDENTIALS) {
      ucred cred;
      std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      m.has_credentials = true;
      m.pid = cred.pid;
      m.uid = cred.uid;
      m.gid = cred.gid;
    }
  }
  if (msg.msg_flags & MSG_CTRUNC)
    fds_in_flight(what);
}

// One message at the peek offset, or nothing when the queue has no more.
std::optional<Message> peek_one(int fd, std::string &buffer, bool datagram,
                                bool passcred, const std::string &what) {
  alignas(cmsghdr) char
      control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(253 * sizeof(int))];
  sockaddr_storage from{};
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return std::nullopt;
  if (n < 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot read the queue of " + what,
                     errno);
  if (datagram && (msg.msg_flags & MSG_TRUNC))
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: {} holds a datagram "
                                 "larger than {} bytes",
                                 what, max_datagram));
  Message m;
  m.data.assign(buffer.data(), static_cast<std::size_t>(n));
  if (datagram)
    m.sender = from_sockaddr(from, msg.msg_namelen);
  read_control(msg, m, what);
  if (!passcred)
    m.has_credentials = false;
  return m;
}

} // namespace

std::uint64_t total_bytes(const std::vector<Message> &queue) {
  std::uint64_t n = 0;
  for (const Message &m : queue)
    n += m.data.size();
  return n;
}

std::vector<Message> peek_queue(int fd, int type, const std::string &what) {
  PeekingAt peeking(fd, what);
  const bool datagram = type != SOCK_STREAM;
  std::vector<Message> queue;
  int queued = 0;
  if (!datagram && ::ioctl(fd, FIONREAD, &queued) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot measure the queue of " + what,
                     errno);
  std::string buffer(datagram ? max_datagram : 1u << 20, '\0');
  std::uint64_t got = 0;
  while (datagram || got < static_cast<std::uint64_t>(queued)) {
    auto m = peek_one(fd, buffer, datagram, peeking.passcred(), what);
    if (!m || (!datagram && m->data.empty()))
      break;
    got += m->data.size();
    queue.push_back(std::move(*m));
  }
  if (!datagram && got != static_cast<std::uint64_t>(queued))
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: read {} of the {} bytes "
                                 "queued on {}",
                                 got, queued, what));
  return queue;
}

void send_message(int fd, const Message &m, const Address &to,
                  const std::string &what) {
  sockaddr_storage sa{};
  msghdr msg{};
  if (!to.empty()) {
    msg.msg_name = &sa;
    msg.msg_namelen = to_sockaddr(to, sa);
  }
  iovec iov{const_cast<char *>(m.data.data()), m.data.size()};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))] = {};
  if (m.has_credentials) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(ucred));
    // The sending process is not there yet: its uid and gid go, with cpr's
    // own PID (the kernel takes no PID of a process that does not exist).
    ucred cred{::getpid(), m.uid, m.gid};
    std::memcpy(CMSG_DATA(c), &cred, sizeof cred);
  }
  for (std::size_t done = 0; done < m.data.size() || done == 0;) {
    iov.iov_base = const_cast<char *>(m.data.data()) + done;
    iov.iov_len = m.data.size() - done;
    ssize_t n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      sdk::throw_errno(fmt::format("cannot put {} queued bytes back into {}",
                                   m.data.size(), what),
                       errno);
    done += static_cast<std::size_t>(n);
    if (m.data.empty())
      break;
  }
}

} // namespace cpr::sockets
