#include "queue.hpp"

#include "socket_options.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

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
                               "flight (SCM_RIGHTS), which only a unix socket "
                               "carries",
                               what));
}

// The files a peek gave this process (copies of those in flight).
std::vector<int> files_in(cmsghdr *c) {
  std::vector<int> fds((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
  std::memcpy(fds.data(), CMSG_DATA(c), fds.size() * sizeof(int));
  return fds;
}

void read_control(msghdr &msg, Message &m, const std::string &what,
                  const FileSaver &save) {
  for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET)
      continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      std::vector<sdk::UniqueFd> fds;
      for (int fd : files_in(c))
        fds.emplace_back(fd);
      if (!save)
        fds_in_flight(what);
      for (const sdk::UniqueFd &fd : fds)
        m.files.push_back(save(fd.get()));
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
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: {} has a message with more "
                                 "in flight than cpr reads at once",
                                 what));
}

// One message at the peek offset, or nothing when the queue has no more.
std::optional<Message> peek_one(int fd, std::string &buffer, bool datagram,
                                bool passcred, const std::string &what,
                                const FileSaver &save) {
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
  read_control(msg, m, what, save);
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

std::vector<Message> peek_queue(int fd, int type, const std::string &what,
                                const FileSaver &save) {
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
    auto m = peek_one(fd, buffer, datagram, peeking.passcred(), what, save);
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

namespace {

// The control part of a message put back: its files (opened again) and
// credentials.
class Control {
public:
  Control(const Message &m, const FileOpener &open, const std::string &what) {
    for (std::uint64_t object : m.files) {
      if (!open)
        throw sdk::Error(sdk::Code::damaged_statefile,
                         "damaged statefile: files in flight on " + what);
      fds_.emplace_back(open(object));
    }
    std::size_t size =
        (fds_.empty() ? 0 : CMSG_SPACE(fds_.size() * sizeof(int))) +
        (m.has_credentials ? CMSG_SPACE(sizeof(ucred)) : 0);
    buffer_.assign(size, '\0');
    msghdr probe{};
    probe.msg_control = buffer_.data();
    probe.msg_controllen = buffer_.size();
    cmsghdr *c = size ? CMSG_FIRSTHDR(&probe) : nullptr;
    if (!fds_.empty()) {
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(fds_.size() * sizeof(int));
      for (std::size_t i = 0; i < fds_.size(); ++i) {
        int fd = fds_[i].get();
        std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof fd);
      }
      c = CMSG_NXTHDR(&probe, c);
    }
    if (m.has_credentials) {
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_CREDENTIALS;
      c->cmsg_len = CMSG_LEN(sizeof(ucred));
      // The sending process is not there yet: its uid and gid go, with
      // cpr's own PID (the kernel takes no PID of a process not there).
      ucred cred{::getpid(), m.uid, m.gid};
      std::memcpy(CMSG_DATA(c), &cred, sizeof cred);
    }
  }
  void attach(msghdr &msg) {
    msg.msg_control = buffer_.empty() ? nullptr : buffer_.data();
    msg.msg_controllen = buffer_.size();
  }

private:
  std::vector<sdk::UniqueFd> fds_;
  std::vector<char> buffer_;
};

} // namespace

void send_message(int fd, const Message &m, const Address &to,
                  const std::string &what, const FileOpener &open) {
  sockaddr_storage sa{};
  msghdr msg{};
  if (!to.empty()) {
    msg.msg_name = &sa;
    msg.msg_namelen = to_sockaddr(to, sa);
  }
  iovec iov{const_cast<char *>(m.data.data()), m.data.size()};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  Control control(m, open, what);
  control.attach(msg);
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
    msg.msg_control = nullptr; // sent with the first part
    msg.msg_controllen = 0;
    if (m.data.empty())
      break;
  }
}

} // namespace cpr::sockets
