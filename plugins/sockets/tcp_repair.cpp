#include "tcp_repair.hpp"

#include "socket_options.hpp"
#include "tcp_half_close.hpp"

#include <cpr/sdk/error.hpp>

#include <fmt/format.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <vector>

namespace cpr::sockets {
namespace {

[[noreturn]] void cannot_read(const std::string &what, const char *step) {
  sdk::throw_errno(sdk::Code::checkpoint_error,
                   fmt::format("Checkpoint error: cannot read the TCP "
                               "connection of {} ({})",
                               what, step),
                   errno);
}

[[noreturn]] void cannot_set(const std::string &what, const char *step) {
  sdk::throw_errno(fmt::format("cannot make the TCP connection of {} again "
                               "({})",
                               what, step),
                   errno);
}

int queue_length(int fd, unsigned long request, const std::string &what) {
  int n = 0;
  if (::ioctl(fd, request, &n) != 0)
    cannot_read(what, "queue length");
  return n;
}

void select_queue(int fd, int queue) {
  ::setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof queue);
}

// The queue's first sequence number after its bytes, and the bytes.
std::uint32_t read_queue(int fd, int queue, int length, std::string &bytes,
                         const std::string &what) {
  select_queue(fd, queue);
  std::uint32_t seq = 0;
  socklen_t n = sizeof seq;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, &n) != 0)
    cannot_read(what, "sequence number");
  bytes.assign(static_cast<std::size_t>(length) + 1, '\0');
  if (length > 0) {
    ssize_t got =
        ::recv(fd, bytes.data(), bytes.size(), MSG_PEEK | MSG_DONTWAIT);
    if (got != length)
      cannot_read(what, "queued bytes");
  }
  bytes.resize(static_cast<std::size_t>(length));
  return seq;
}

void read_options(int fd, const tcp_info &ti, TcpConnection &c,
                  const std::string &what) {
  socklen_t n = sizeof c.mss;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &c.mss, &n) != 0)
    cannot_read(what, "MSS");
  c.tcp_options = ti.tcpi_options;
  if (ti.tcpi_options & TCPI_OPT_WSCALE) {
    c.snd_wscale = ti.tcpi_snd_wscale;
    c.rcv_wscale = ti.tcpi_rcv_wscale;
  }
  if (ti.tcpi_options & TCPI_OPT_TIMESTAMPS) {
    n = sizeof c.timestamp;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &c.timestamp, &n) != 0)
      cannot_read(what, "timestamp");
  }
  tcp_repair_window w{};
  n = sizeof w;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &n) == 0) {
    c.has_window = true;
    c.snd_wl1 = w.snd_wl1;
    c.snd_wnd = w.snd_wnd;
    c.max_window = w.max_window;
    c.rcv_wnd = w.rcv_wnd;
    c.rcv_wup = w.rcv_wup;
  }
}

// Sends `bytes` into the selected queue; the kernel takes a repaired
// receive queue in one piece per call, so a big one goes in halves.
void fill_queue(int fd, const std::string &bytes, const std::string &what) {
  std::size_t chunk = bytes.size();
  for (std::size_t done = 0; done < bytes.size();) {
    std::size_t len = std::min(chunk, bytes.size() - done);
    ssize_t n = ::send(fd, bytes.data() + done, len, MSG_DONTWAIT);
    if (n <= 0 && chunk > 1024) {
      chunk /= 2;
      continue;
    }
    if (n <= 0)
      cannot_set(what, "queued bytes");
    done += static_cast<std::size_t>(n);
  }
}

// A new socket's buffers must hold what the old one's held.
void make_room(int fd, int option, int force, std::size_t bytes) {
  int now = int_option(fd, SOL_SOCKET, option, 0);
  if (bytes == 0 || static_cast<std::size_t>(now) >= bytes * 2)
    return;
  int want = static_cast<int>(std::min<std::size_t>(bytes * 2, 1u << 30));
  ::setsockopt(fd, SOL_SOCKET, force, &want, sizeof want);
}

void set_repair_options(int fd, const TcpConnection &c,
                        const std::string &what) {
  std::vector<tcp_repair_opt> opts;
  if (c.tcp_options & TCPI_OPT_SACK)
    opts.push_back({TCPOPT_SACK_PERMITTED, 0});
  if (c.tcp_options & TCPI_OPT_WSCALE)
    opts.push_back(
        {TCPOPT_WINDOW, static_cast<std::uint32_t>(c.snd_wscale) |
                            static_cast<std::uint32_t>(c.rcv_wscale) << 16});
  if (c.tcp_options & TCPI_OPT_TIMESTAMPS)
    opts.push_back({TCPOPT_TIMESTAMP, 0});
  opts.push_back({TCPOPT_MAXSEG, c.mss});
  if (::setsockopt(
          fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts.data(),
          static_cast<socklen_t>(opts.size() * sizeof(tcp_repair_opt))) != 0)
    cannot_set(what, "options");
  if ((c.tcp_options & TCPI_OPT_TIMESTAMPS) &&
      ::setsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &c.timestamp,
                   sizeof c.timestamp) != 0)
    cannot_set(what, "timestamp");
}

void set_queue_seq(int fd, int queue, std::uint32_t seq,
                   const std::string &what) {
  select_queue(fd, queue);
  if (::setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, sizeof seq) != 0)
    cannot_set(what, "sequence number");
}

} // namespace

void repair_on(int fd, const std::string &what) {
  int on = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof on) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot hold the TCP connection of " +
                         what + " (TCP_REPAIR)",
                     errno);
}

void repair_off(int fd) {
  int off = TCP_REPAIR_OFF;
  ::setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof off);
}

void repair_off_quietly(int fd) {
  int off = TCP_REPAIR_OFF_NO_WP;
  ::setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof off);
}

TcpConnection read_connection(int fd, int state, const std::string &what) {
  tcp_info ti{};
  socklen_t n = sizeof ti;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &n) != 0)
    cannot_read(what, "TCP_INFO");
  TcpConnection c;
  int outq = queue_length(fd, SIOCOUTQ, what);
  int unsent = queue_length(fd, SIOCOUTQNSD, what);
  int inq = queue_length(fd, SIOCINQ, what);
  leave_out_fin(state, outq, unsent);
  c.unsent = static_cast<std::uint32_t>(unsent);
  read_options(fd, ti, c, what);
  c.recv_seq = read_queue(fd, TCP_RECV_QUEUE, inq, c.recv_queue, what);
  c.send_seq = read_queue(fd, TCP_SEND_QUEUE, outq, c.send_queue, what);
  select_queue(fd, TCP_NO_QUEUE);
  return c;
}

void restore_connection(int fd, const TcpSocket &rec, const std::string &what) {
  const TcpConnection &c = rec.connection;
  if (c.unsent > c.send_queue.size())
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile: the TCP send queue of " + what);
  sockaddr_storage sa{};
  socklen_t length = to_sockaddr(rec.local, sa);
  if (::bind(fd, reinterpret_cast<sockaddr *>(&sa), length) != 0)
    sdk::throw_errno(sdk::Code::busy,
                     "Resource busy: cannot bind " + what + " again", errno);
  // Before connect(), which sizes its segments (else by the 536 bytes of a
  // peer that never said); the kernel takes no more than 32767 here.
  int mss = static_cast<int>(std::min<std::uint32_t>(c.mss, 32767));
  if (mss >= 88)
    ::setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
  set_queue_seq(fd, TCP_RECV_QUEUE,
                recv_seq_before_fin(rec) -
                    static_cast<std::uint32_t>(c.recv_queue.size()),
                what);
  set_queue_seq(fd, TCP_SEND_QUEUE,
                send_seq_before_fin(rec) -
                    static_cast<std::uint32_t>(c.send_queue.size()),
                what);
  length = to_sockaddr(rec.peer, sa);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&sa), length) != 0)
    sdk::throw_errno(sdk::Code::busy,
                     "Resource busy: cannot connect " + what + " again", errno);
  set_repair_options(fd, c, what);
  make_room(fd, SO_RCVBUF, SO_RCVBUFFORCE, c.recv_queue.size());
  make_room(fd, SO_SNDBUF, SO_SNDBUFFORCE, c.send_queue.size());
  select_queue(fd, TCP_RECV_QUEUE);
  fill_queue(fd, c.recv_queue, what);
  select_queue(fd, TCP_SEND_QUEUE);
  fill_queue(fd, c.send_queue.substr(0, c.send_queue.size() - c.unsent), what);
  if (c.has_window) {
    tcp_repair_window w{c.snd_wl1, c.snd_wnd, c.max_window, c.rcv_wnd,
                        c.rcv_wup};
    window_before_fin(rec, w.rcv_wup, w.rcv_wnd);
    if (::setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof w) != 0)
      cannot_set(what, "window");
  }
  select_queue(fd, TCP_NO_QUEUE);
}

void send_unsent(int fd, const TcpConnection &c, const std::string &what) {
  if (c.unsent == 0)
    return;
  std::string tail = c.send_queue.substr(c.send_queue.size() - c.unsent);
  fill_queue(fd, tail, what);
}

} // namespace cpr::sockets
