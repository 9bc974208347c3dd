#include "tcp_half_close.hpp"

#include "raw_packet.hpp"

#include <cpr/sdk/error.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstring>

namespace cpr::sockets {
namespace {

constexpr unsigned bit(int state) { return 1u << state; }

// Our FIN is in the send queue, first (before the peer's came) or second.
constexpr unsigned send_fin_first =
    bit(TCP_FIN_WAIT1) | bit(TCP_FIN_WAIT2) | bit(TCP_CLOSING);
constexpr unsigned send_fin_second = bit(TCP_LAST_ACK);
constexpr unsigned send_fin_acked = bit(TCP_FIN_WAIT2);
// The peer's FIN is in the receive queue, first or second.
constexpr unsigned recv_fin_first = bit(TCP_CLOSE_WAIT) | bit(TCP_LAST_ACK);
constexpr unsigned recv_fin_second = bit(TCP_CLOSING);

bool in(unsigned set, int state) { return (set & bit(state)) != 0; }

bool has_send_fin(int state) {
  return in(send_fin_first | send_fin_second, state);
}
bool has_recv_fin(int state) {
  return in(recv_fin_first | recv_fin_second, state);
}

void queue_our_fin(int fd, bool acked, const std::string &what) {
  int queue = TCP_SEND_QUEUE, none = TCP_NO_QUEUE;
  // In the send queue, the FIN counts as sent.
  if (acked)
    ::setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof queue);
  int rc = ::shutdown(fd, SHUT_WR);
  int err = errno;
  if (acked)
    ::setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &none, sizeof none);
  if (rc != 0)
    sdk::throw_errno(
        "cannot close the TCP connection of " + what + " half again", err);
}

// A segment from the peer to the socket: its FIN, or its ACK of ours.
void from_peer(const TcpSocket &rec, std::uint32_t seq, std::uint32_t ack,
               bool fin, const std::string &what) {
  Address from = as_sent(rec.peer), to = as_sent(rec.local);
  tcphdr h{};
  h.source = htons(from.port);
  h.dest = htons(to.port);
  h.seq = htonl(seq);
  h.ack_seq = htonl(ack);
  h.doff = sizeof h / 4;
  h.ack = 1;
  h.fin = fin ? 1 : 0;
  const TcpConnection &c = rec.connection;
  h.window = htons(static_cast<std::uint16_t>(
      std::min<std::uint32_t>(c.snd_wnd >> c.snd_wscale, 0xffff)));
  send_raw_packet(from, to, IPPROTO_TCP,
                  std::string(reinterpret_cast<const char *>(&h), sizeof h),
                  offsetof(tcphdr, check), what);
}

} // namespace

bool carried_state(int state) {
  return state == TCP_ESTABLISHED || has_send_fin(state) || has_recv_fin(state);
}

void leave_out_fin(int state, int &outq, int &unsent) {
  if (!has_send_fin(state))
    return;
  if (outq > 0)
    --outq;
  if (unsent > 0)
    --unsent;
}

std::uint32_t recv_seq_before_fin(const TcpSocket &rec) {
  return rec.connection.recv_seq - (has_recv_fin(rec.state) ? 1 : 0);
}

std::uint32_t send_seq_before_fin(const TcpSocket &rec) {
  return rec.connection.send_seq - (has_send_fin(rec.state) ? 1 : 0);
}

void window_before_fin(const TcpSocket &rec, std::uint32_t &rcv_wup,
                       std::uint32_t &rcv_wnd) {
  if (has_recv_fin(rec.state)) {
    --rcv_wup;
    ++rcv_wnd;
  }
}

void put_fins_back(int fd, const TcpSocket &rec, const std::string &what) {
  const int state = rec.state;
  const std::uint32_t una =
      send_seq_before_fin(rec) -
      static_cast<std::uint32_t>(rec.connection.send_queue.size());
  if (in(send_fin_first, state))
    queue_our_fin(fd, in(send_fin_acked, state), what);
  if (has_recv_fin(state))
    from_peer(rec, recv_seq_before_fin(rec), una, true, what);
  if (in(send_fin_second, state))
    queue_our_fin(fd, false, what);
  if (in(send_fin_acked, state))
    from_peer(rec, rec.connection.recv_seq, una + 1, false, what);
}

} // namespace cpr::sockets
