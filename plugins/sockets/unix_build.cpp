#include "unix_build.hpp"

#include "identity.hpp"
#include "socket_options.hpp"

#include <cpr/sdk/error.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace cpr::sockets {
namespace {

std::string words(const UnixSocket &rec) {
  return fmt::format("unix socket {}{}", rec.inode,
                     rec.name.empty() ? "" : " (" + to_string(rec.name) + ")");
}

std::string file_of(const UnixSocket &rec) {
  return rec.directory.empty() ? rec.name.bytes
                               : rec.directory + "/" + rec.name.bytes;
}

sdk::UniqueFd new_socket(const UnixSocket &rec) {
  sdk::UniqueFd fd(::socket(AF_UNIX, rec.type | SOCK_CLOEXEC, 0));
  if (fd.get() < 0)
    sdk::throw_errno("cannot make " + words(rec) + " again", errno);
  apply_options(fd.get(), rec.options, words(rec));
  return fd;
}

// A relative name is bound from the directory it was bound in: the kernel
// keeps the name as given, and getsockname() says it.
class InDirectory {
public:
  explicit InDirectory(const std::string &dir) {
    if (dir.empty())
      return;
    back_ = sdk::UniqueFd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (back_.get() < 0 || ::chdir(dir.c_str()) != 0)
      sdk::throw_errno(sdk::Code::component_unavailable,
                       "component unavailable: directory " + dir, errno);
  }
  ~InDirectory() {
    if (back_.get() >= 0 && ::fchdir(back_.get()) != 0)
      std::abort(); // cpr would go on in the wrong directory
  }

private:
  sdk::UniqueFd back_;
};

// A socket file at the name that nobody listens on (left by the process
// checkpointed and killed). Called from the name's directory.
bool stale_socket_file(const UnixSocket &rec) {
  if (rec.name.abstract())
    return false;
  struct stat st {};
  if (::lstat(rec.name.bytes.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
    return false;
  sdk::UniqueFd probe(::socket(AF_UNIX, rec.type | SOCK_CLOEXEC, 0));
  sockaddr_storage sa{};
  socklen_t length = to_sockaddr(rec.name, sa);
  return ::connect(probe.get(), reinterpret_cast<sockaddr *>(&sa), length) !=
             0 &&
         errno == ECONNREFUSED;
}

void bind_name(int fd, const UnixSocket &rec) {
  if (!rec.binds_name)
    return;
  sockaddr_storage sa{};
  socklen_t length = to_sockaddr(rec.name, sa);
  InDirectory in(rec.directory);
  int rc = ::bind(fd, reinterpret_cast<sockaddr *>(&sa), length);
  if (rc != 0 && errno == EADDRINUSE && stale_socket_file(rec)) {
    ::unlink(rec.name.bytes.c_str()); // as the process, not as cpr
    rc = ::bind(fd, reinterpret_cast<sockaddr *>(&sa), length);
  }
  if (rc != 0)
    sdk::throw_errno(sdk::Code::busy,
                     "Resource busy: cannot bind " + words(rec) + " again",
                     errno);
  if (!rec.name.abstract() && !rec.file_gone &&
      ::chmod(rec.name.bytes.c_str(), rec.file_mode) != 0)
    sdk::throw_errno("cannot set the mode of " + file_of(rec), errno);
}

void shut(int fd, const UnixSocket &rec) {
  if ((rec.shutdown & 2) && ::shutdown(fd, SHUT_WR) != 0)
    sdk::throw_errno("cannot shut " + words(rec) + " down", errno);
  if ((rec.shutdown & 1) && ::shutdown(fd, SHUT_RD) != 0)
    sdk::throw_errno("cannot shut " + words(rec) + " down", errno);
}

void put_queue(int through, const UnixSocket &rec, const FileOpener &open) {
  for (const Message &m : rec.queue)
    send_message(through, m, {}, words(rec), open);
}

void connect_to(int fd, const Address &to, const std::string &directory,
                const std::string &what) {
  InDirectory in(directory);
  sockaddr_storage sa{};
  socklen_t length = to_sockaddr(to, sa);
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK); // never wait on a full backlog
  int rc = ::connect(fd, reinterpret_cast<sockaddr *>(&sa), length);
  int err = errno;
  ::fcntl(fd, F_SETFL, flags);
  if (rc != 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     fmt::format("component unavailable: cannot connect {} "
                                 "to {} again",
                                 what, to_string(to)),
                     err);
}

using Ends = std::pair<sdk::UniqueFd, sdk::UniqueFd>;

// Both ends show `who` as their peer (SO_PEERCRED).
Ends pair_as(const UnixSocket &a, const Identity &who) {
  CreatingAs as(who);
  int ends[2];
  if (::socketpair(AF_UNIX, a.type | SOCK_CLOEXEC, 0, ends) != 0)
    sdk::throw_errno("cannot make " + words(a) + " again", errno);
  return {sdk::UniqueFd(ends[0]), sdk::UniqueFd(ends[1])};
}

// Ends whose peers were two different users: `b` connects, as a's peer, to
// a listener made as b's peer, and `a` is the connection it accepts (with
// the name the kernel gave that listener).
Ends connected_pair(const UnixSocket &a, const UnixSocket &b) {
  sdk::UniqueFd listener(::socket(AF_UNIX, a.type | SOCK_CLOEXEC, 0));
  sockaddr_un name{};
  socklen_t length = sizeof(sa_family_t);
  name.sun_family = AF_UNIX;
  {
    CreatingAs as(b.peer_cred);
    if (::bind(listener.get(), reinterpret_cast<sockaddr *>(&name), length) !=
            0 ||
        ::listen(listener.get(), 1) != 0)
      sdk::throw_errno("cannot make " + words(a) + " again", errno);
  }
  length = sizeof name;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr *>(&name), &length);
  sdk::UniqueFd client(::socket(AF_UNIX, a.type | SOCK_CLOEXEC, 0));
  {
    CreatingAs as(a.peer_cred);
    if (::connect(client.get(), reinterpret_cast<sockaddr *>(&name), length) !=
        0)
      sdk::throw_errno("cannot make " + words(a) + " again", errno);
  }
  sdk::UniqueFd accepted(
      ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (accepted.get() < 0)
    sdk::throw_errno("cannot make " + words(a) + " again", errno);
  return {std::move(accepted), std::move(client)};
}

} // namespace

const UnixSocket &UnixBuilder::record(std::uint64_t inode) const {
  auto it = records_.find(inode);
  if (it == records_.end())
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile: unix socket {} is named "
                                 "but not saved",
                                 inode));
  return it->second;
}

// Every socket first, then what is queued (a message may carry another
// socket of the set, in flight), then connections and shutdowns.
void UnixBuilder::build() {
  for (const auto &[inode, rec] : records_)
    make(rec);
  for (Through &t : through_)
    put_queue(t.via >= 0 ? fd_of(static_cast<std::uint64_t>(t.via))
                         : t.closed_peer.get(),
              record(t.to), open_);
  through_.clear(); // a closed peer goes: its socket sees end of file
  for (const auto &[inode, rec] : records_)
    put_back_datagrams(rec);
  for (const auto &[inode, rec] : records_)
    connect_later(rec);
  for (const auto &[inode, rec] : records_)
    shut(fd_of(inode), rec);
  for (const std::string &path : unlink_after_)
    ::unlink(path.c_str());
  for (const auto &[inode, rec] : records_)
    if (rec.flags & O_NONBLOCK)
      ::fcntl(fd_of(inode), F_SETFL, O_NONBLOCK);
}

void UnixBuilder::make(const UnixSocket &rec) {
  if (made_.count(rec.inode))
    return;
  switch (static_cast<UnixPeer>(rec.peer_kind)) {
  case UnixPeer::in_set: {
    if (!records_.count(rec.peer)) // in flight outside the set, or lost
      return make_with_closed_peer(rec);
    const UnixSocket &peer = record(rec.peer);
    if (static_cast<UnixPeer>(peer.peer_kind) == UnixPeer::in_set &&
        peer.peer == rec.inode && peer.type == rec.type)
      return make_pair(rec, peer);
    return make_single(rec); // one way (datagram): connected later
  }
  case UnixPeer::waiting:
    make(record(rec.peer)); // its listener connects it
    if (!made_.count(rec.inode))
      throw sdk::Error(sdk::Code::damaged_statefile,
                       "damaged statefile: " + words(rec) +
                           " waits on a listener that does not have it");
    return;
  case UnixPeer::gone:
    return make_with_closed_peer(rec);
  case UnixPeer::none:
  case UnixPeer::reconnect:
    break;
  }
  if (rec.listening)
    return make_listener(rec);
  make_single(rec);
}

void UnixBuilder::make_single(const UnixSocket &rec) {
  sdk::UniqueFd fd = new_socket(rec);
  bind_name(fd.get(), rec);
  if (rec.file_gone)
    unlink_after_.push_back(file_of(rec));
  made_[rec.inode] = std::move(fd);
}

void UnixBuilder::make_pair(const UnixSocket &a, const UnixSocket &b) {
  auto [fa, fb] =
      a.peer_cred == b.peer_cred || a.type == SOCK_DGRAM
          ? pair_as(a, b.peer_cred.uid == 0 ? a.peer_cred : b.peer_cred)
          : connected_pair(a, b);
  apply_options(fa.get(), a.options, words(a));
  apply_options(fb.get(), b.options, words(b));
  bind_name(fa.get(), a);
  bind_name(fb.get(), b);
  through_.push_back(
      {a.inode, static_cast<std::int64_t>(b.inode), sdk::UniqueFd()});
  through_.push_back(
      {b.inode, static_cast<std::int64_t>(a.inode), sdk::UniqueFd()});
  made_[a.inode] = std::move(fa);
  made_[b.inode] = std::move(fb);
}

void UnixBuilder::make_listener(const UnixSocket &rec) {
  sdk::UniqueFd fd = new_socket(rec);
  bind_name(fd.get(), rec);
  {
    CreatingAs as(rec.peer_cred); // what its clients see
    if (::listen(fd.get(), static_cast<int>(rec.backlog)) != 0)
      sdk::throw_errno("cannot listen on " + words(rec) + " again", errno);
  }
  made_[rec.inode] = std::move(fd);
  for (std::uint64_t inode : rec.waiting) {
    const UnixSocket &client = record(inode);
    sdk::UniqueFd c = new_socket(client);
    bind_name(c.get(), client);
    CreatingAs as(client.owner); // what the server sees once it accepts
    connect_to(c.get(), rec.name, rec.directory, words(client));
    made_[inode] = std::move(c);
  }
  if (rec.file_gone)
    unlink_after_.push_back(file_of(rec));
}

// Its peer was closed: a pair whose other end puts the queue back and goes.
void UnixBuilder::make_with_closed_peer(const UnixSocket &rec) {
  auto [mine, other] = pair_as(rec, rec.peer_cred);
  apply_options(mine.get(), rec.options, words(rec));
  bind_name(mine.get(), rec);
  through_.push_back({rec.inode, -1, std::move(other)});
  made_[rec.inode] = std::move(mine);
}

// Datagrams to a socket that is not one end of a pair: sent to its name,
// from the socket of the set bound to their source's name, if there is one.
void UnixBuilder::put_back_datagrams(const UnixSocket &rec) {
  auto kind = static_cast<UnixPeer>(rec.peer_kind);
  bool pair_end =
      kind == UnixPeer::gone ||
      (kind == UnixPeer::in_set &&
       (!records_.count(rec.peer) || record(rec.peer).peer == rec.inode));
  if (rec.queue.empty() || pair_end || rec.type == SOCK_STREAM)
    return;
  if (rec.name.empty())
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile: datagrams queued on " + words(rec) +
                         ", which has no name to send them to");
  InDirectory in(rec.directory);
  for (const Message &m : rec.queue) {
    int from = -1;
    for (const auto &[inode, other] : records_)
      if (other.binds_name && !m.sender.empty() && other.name == m.sender &&
          other.type == rec.type)
        from = fd_of(inode);
    sdk::UniqueFd anonymous;
    if (from < 0) {
      anonymous = sdk::UniqueFd(::socket(AF_UNIX, rec.type | SOCK_CLOEXEC, 0));
      from = anonymous.get();
    }
    send_message(from, m, rec.name, words(rec), open_);
  }
}

void UnixBuilder::connect_later(const UnixSocket &rec) {
  auto kind = static_cast<UnixPeer>(rec.peer_kind);
  if (kind == UnixPeer::reconnect) {
    try {
      CreatingAs as(rec.owner); // the server outside sees its user
      connect_to(fd_of(rec.inode), rec.peer_name, rec.peer_directory,
                 words(rec));
    } catch (const sdk::Error &) {
      if (rec.type != SOCK_DGRAM) // a datagram's peer may come back later
        throw;
    }
  } else if (kind == UnixPeer::in_set && records_.count(rec.peer) &&
             record(rec.peer).peer != rec.inode) {
    const UnixSocket &peer = record(rec.peer);
    CreatingAs as(rec.owner);
    connect_to(fd_of(rec.inode), peer.name, peer.directory, words(rec));
  }
}

// An abstract name is free if a socket can take it (and lets it go).
void check_abstract_free(const UnixSocket &rec) {
  sdk::UniqueFd probe(::socket(AF_UNIX, rec.type | SOCK_CLOEXEC, 0));
  sockaddr_storage sa{};
  socklen_t length = to_sockaddr(rec.name, sa);
  if (::bind(probe.get(), reinterpret_cast<sockaddr *>(&sa), length) != 0 &&
      errno == EADDRINUSE)
    throw sdk::Error(sdk::Code::busy,
                     fmt::format("Resource busy: {} is in use, for {}",
                                 to_string(rec.name), words(rec)));
}

void check_name_free(const UnixSocket &rec) {
  if (!rec.binds_name)
    return;
  if (rec.name.abstract())
    return check_abstract_free(rec);
  std::string path = file_of(rec);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return;
  if (!S_ISSOCK(st.st_mode))
    throw sdk::Error(sdk::Code::busy,
                     fmt::format("Resource busy: {} exists and is not a "
                                 "socket, for {}",
                                 path, words(rec)));
  InDirectory in(rec.directory);
  if (!stale_socket_file(rec))
    throw sdk::Error(
        sdk::Code::busy,
        fmt::format("Resource busy: {} is in use, for {}", path, words(rec)));
}

} // namespace cpr::sockets
