#include "tcp_restore.hpp"

#include "inet_checks.hpp"
#include "net_lock.hpp"
#include "socket_options.hpp"
#include "tcp_half_close.hpp"
#include "tcp_repair.hpp"
#include "tcp_socket.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace cpr::sockets {

namespace {

// A connection still being made is made anew: from its port, a SYN with a
// new sequence number, answered before the process runs or after.
void connect_again(int fd, const TcpSocket &rec, const std::string &what) {
  bind_again(fd, rec.local, what);
  sockaddr_storage sa{};
  socklen_t length = to_sockaddr(rec.peer, sa);
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr *>(&sa), length);
  int err = errno;
  ::fcntl(fd, F_SETFL, flags);
  if (rc != 0 && err != EINPROGRESS)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: cannot connect " + what + " again",
                     err);
}

} // namespace

int TcpRestart::open(const TcpSocket &rec, const std::string &statefile) {
  auto &made = listening[statefile];
  if (made.empty())
    for (const auto &[inode, l] : listeners[statefile])
      made[inode] = make(l);
  if (rec.state == TCP_LISTEN) {
    auto it = made.find(rec.inode);
    if (it == made.end())
      throw sdk::Error(sdk::Code::damaged_statefile,
                       "damaged statefile: " + words(rec) + " was not checked");
    int fd = ::fcntl(it->second.get(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
      sdk::throw_errno("cannot open " + words(rec) + " again", errno);
    return fd;
  }
  return make(rec).release();
}

sdk::UniqueFd TcpRestart::make(const TcpSocket &rec) {
  const std::string what = words(rec);
  sdk::UniqueFd fd(::socket(rec.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0)
    sdk::throw_errno("cannot make " + what + " again", errno);
  apply_options(fd.get(), rec.options, what);
  if (carried_state(rec.state)) {
    // After the options: SO_REUSEADDR would undo repair's own reuse.
    repair_on(fd.get(), what);
    restore_connection(fd.get(), rec, what);
    connections.push_back(
        {sdk::UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0)), rec});
  } else if (rec.state == TCP_SYN_SENT) {
    connect_again(fd.get(), rec, what);
  } else if (rec.local.port != 0) {
    bind_again(fd.get(), rec.local, what);
    if (rec.state == TCP_LISTEN &&
        ::listen(fd.get(), static_cast<int>(rec.backlog)) != 0)
      sdk::throw_errno("cannot listen on " + what + " again", errno);
  }
  if (rec.flags & O_NONBLOCK)
    ::fcntl(fd.get(), F_SETFL, O_NONBLOCK);
  return fd;
}

void TcpRestart::restart_over(bool succeeded) {
  if (succeeded) {
    std::vector<Connection> held;
    for (const Made &m : connections)
      if (m.rec.held)
        held.push_back({m.rec.local, m.rec.peer});
    let_go_connections(held);
    for (Made &m : connections) // every socket is there to answer
      try {
        put_fins_back(m.fd.get(), m.rec, words(m.rec));
      } catch (const sdk::Error &) { // the peer sends its FIN again
      }
    for (Made &m : connections) {
      repair_off(m.fd.get()); // which clears SO_REUSEADDR
      try {
        apply_options(m.fd.get(), m.rec.options, words(m.rec));
        send_unsent(m.fd.get(), m.rec.connection, words(m.rec));
      } catch (const sdk::Error &) { // as at open(); the peer asks again
      }
    }
  }
  connections.clear(); // in repair mode, a close sends nothing
  listening.clear();
  listeners.clear();
}

int TcpHandler::open(const sdk::Record &record,
                     sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<TcpSocket>(record.payload);
  return ctx.session<TcpRestart>(*this).open(rec, ctx.statefile);
}

} // namespace cpr::sockets
