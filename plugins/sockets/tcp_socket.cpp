#include "tcp_socket.hpp"

#include "inet_checks.hpp"
#include "keeper.hpp"
#include "net_lock.hpp"
#include "records.hpp"
#include "set_sockets.hpp"
#include "tcp_half_close.hpp"
#include "tcp_repair.hpp"
#include "tcp_restore.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <set>
#include <sstream>

namespace cpr::sockets {
namespace {

const char *state_name(int state) {
  switch (state) {
  case TCP_SYN_SENT:
    return "connecting (SYN_SENT), connects again at restart";
  case TCP_SYN_RECV:
    return "being accepted (SYN_RECV)";
  case TCP_FIN_WAIT1:
    return "half-closed by it (FIN_WAIT1)";
  case TCP_FIN_WAIT2:
    return "half-closed by it (FIN_WAIT2)";
  case TCP_CLOSE_WAIT:
    return "half-closed by its peer (CLOSE_WAIT)";
  case TCP_LAST_ACK:
    return "closing (LAST_ACK)";
  case TCP_CLOSING:
    return "closing (CLOSING)";
  case TCP_TIME_WAIT:
    return "closed (TIME_WAIT)";
  default:
    return "in an unknown state";
  }
}

// Tests kill cpr at exact moments: root's own cpr (not setuid) with
// CPR_TEST_KILL_AT=NAME sends itself SIGKILL at the moment called NAME.
void test_kill_point(const char *name) {
  const char *chosen = ::getauxval(AT_SECURE) || ::getuid() != 0
                           ? nullptr
                           : std::getenv("CPR_TEST_KILL_AT");
  if (chosen && std::string(chosen) == name)
    ::kill(::getpid(), SIGKILL);
}

std::string key(const Address &a, const Address &b) {
  return to_string(a) + ">" + to_string(b);
}

// The set's TCP connections, found once: which have both ends in the set;
// the packets of all are held from before any is read until the restart.
struct TcpCheckpoint final : sdk::Session {
  bool scanned = false;
  std::set<std::string> in_set; // "local>peer" of every connection
  std::vector<Connection> held;
  std::vector<sdk::UniqueFd> repaired; // borrowed, in repair mode
  bool processes_go_on = false;        // WILL CONT
  Keeper keeper;                       // puts them back if cpr dies first

  void scan(const sdk::SaveContext &ctx) {
    if (scanned)
      return;
    scanned = true;
    processes_go_on =
        ctx.options.get("will") == std::optional<std::string>("cont");
    std::vector<Connection> all;
    for (const auto &[inode, holder] : sockets_held_by(ctx.processes)) {
      std::string name = protocol_name(holder.pid, holder.fd);
      if (name != "TCP" && name != "TCPv6")
        continue;
      sdk::OpenFile f;
      f.pid = holder.pid;
      f.fd = holder.fd;
      sdk::UniqueFd fd = sdk::borrow_fd(f);
      if (int_option(fd.get(), SOL_SOCKET, SO_PROTOCOL) != IPPROTO_TCP)
        continue;
      Connection c{local_address(fd.get()), peer_address(fd.get())};
      tcp_info ti{};
      socklen_t n = sizeof ti;
      if (c.peer.empty() || c.peer.port == 0 ||
          ::getsockopt(fd.get(), IPPROTO_TCP, TCP_INFO, &ti, &n) != 0 ||
          !carried_state(ti.tcpi_state)) // not repaired, not held
        continue;
      in_set.insert(key(c.local, c.peer));
      all.push_back(c);
    }
    // Every connection is held, also one between two processes of the set:
    // the kernel would otherwise go on acknowledging between the two ends
    // while one is read and not the other, and the two records would not
    // agree (a window one has and the other not).
    held = all;
    if (!held.empty())
      keeper.keep_held(held);
    hold_connections(held);
  }

  // Into repair mode, the keeper told first. Only while it is read: a cpr
  // killed lets the processes run at once, before its keeper can take the
  // socket out of repair mode, where it fails their reads (EPERM).
  int repair(sdk::UniqueFd fd, const std::string &what) {
    keeper.keep_socket(fd.get());
    repair_on(fd.get(), what);
    repaired.push_back(std::move(fd));
    test_kill_point("sockets-repaired");
    return repaired.back().get();
  }

  bool peer_in_set(const Address &local, const Address &peer) const {
    return in_set.count(key(peer, local)) != 0;
  }

  void checkpoint_over(bool succeeded) override {
    if (!succeeded || processes_go_on) {
      for (sdk::UniqueFd &fd : repaired)
        repair_off(fd.get());
      let_go_connections(held);
    } else { // killed in repair mode: no reset, no FIN; held until restart
      for (sdk::UniqueFd &fd : repaired) {
        try {
          repair_on(fd.get(), "a socket of the set");
        } catch (const sdk::Error &) { // the others still go into it
        }
      }
    }
    keeper.done();
  }
};

// Where a socket still connecting goes: getpeername() will not say before
// it is connected, /proc/net/tcp does ("0100007F:1F90" is 127.0.0.1:8080).
Address connecting_to(std::uint64_t inode, int family) {
  std::string table = sdk::try_read_file(family == AF_INET6 ? "/proc/net/tcp6"
                                                            : "/proc/net/tcp")
                          .value_or("");
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line); // the heading
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid,
        timeout, node;
    in >> slot >> local >> remote >> state >> queues >> timer >> retransmits >>
        uid >> timeout >> node;
    if (node != std::to_string(inode))
      continue;
    auto colon = remote.find(':');
    if (colon == std::string::npos)
      return {};
    Address a;
    a.family = static_cast<std::uint16_t>(family);
    // The address is in 32-bit words of the kernel's byte order, in hex.
    for (std::size_t i = 0; i + 8 <= colon; i += 8) {
      std::uint32_t word = static_cast<std::uint32_t>(
          std::stoul(remote.substr(i, 8), nullptr, 16));
      a.bytes.append(reinterpret_cast<const char *>(&word), 4);
    }
    a.port = static_cast<std::uint16_t>(
        std::stoul(remote.substr(colon + 1), nullptr, 16));
    return a;
  }
  return {};
}

} // namespace

std::string words(const TcpSocket &rec) {
  const char *ip = rec.family == AF_INET6 ? "ipv6" : "ipv4";
  if (rec.state == TCP_LISTEN)
    return fmt::format("tcp {} listener {}", ip, to_string(rec.local));
  if (carried_state(rec.state) || rec.state == TCP_SYN_SENT)
    return fmt::format("tcp {} connection {} -> {}{}", ip, to_string(rec.local),
                       to_string(rec.peer),
                       rec.state == TCP_ESTABLISHED
                           ? ""
                           : fmt::format(" ({})", state_name(rec.state)));
  return fmt::format("tcp {} socket {}", ip,
                     rec.local.port ? to_string(rec.local) : "unbound");
}

bool TcpHandler::claims(const sdk::OpenFile &file) const {
  if (!S_ISSOCK(file.st.st_mode))
    return false;
  std::string name = protocol_name(file.pid, file.fd);
  return name == "TCP" || name == "TCPv6";
}

sdk::Saved TcpHandler::save(const sdk::OpenFile &file,
                            sdk::SaveContext &ctx) const {
  sdk::UniqueFd fd = sdk::borrow_fd(file);
  const std::string what = describe(file, fd.get());
  check_network_namespace(file, what);
  TcpCheckpoint &session = ctx.session<TcpCheckpoint>(*this);
  session.scan(ctx);
  tcp_info ti{};
  socklen_t n = sizeof ti;
  if (::getsockopt(fd.get(), IPPROTO_TCP, TCP_INFO, &ti, &n) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot read " + what, errno);
  TcpSocket rec;
  rec.inode = file.st.st_ino;
  rec.family =
      static_cast<std::uint16_t>(int_option(fd.get(), SOL_SOCKET, SO_DOMAIN));
  rec.flags = file.flags & O_NONBLOCK;
  rec.state = ti.tcpi_state;
  rec.local = local_address(fd.get());
  rec.options = changed_options(fd.get(), rec.family, SOCK_STREAM, IPPROTO_TCP);
  if (rec.state == TCP_LISTEN) {
    rec.backlog = ti.tcpi_sacked; // a listener's sk_max_ack_backlog
    if (ti.tcpi_unacked > 0)      // its accept queue
      throw sdk::Error(sdk::Code::checkpoint_error,
                       fmt::format("Checkpoint error: {} has {} connections "
                                   "not yet accepted, which cpr cannot carry",
                                   what, ti.tcpi_unacked));
  } else if (carried_state(rec.state)) {
    rec.peer = peer_address(fd.get());
    rec.peer_in_set = session.peer_in_set(rec.local, rec.peer);
    rec.held = true;
    int repaired = session.repair(std::move(fd), what);
    rec.connection = read_connection(repaired, rec.state, what);
    repair_off_quietly(repaired);
  } else if (rec.state == TCP_SYN_SENT) {
    rec.peer = connecting_to(rec.inode, rec.family); // connected again
    if (rec.peer.empty())
      throw sdk::Error(sdk::Code::checkpoint_error,
                       "Checkpoint error: cannot tell where " + what +
                           " is connecting to");
  } else if (rec.state != TCP_CLOSE) {
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: {} is {}, which cpr "
                                 "cannot carry yet",
                                 what, state_name(rec.state)));
  }
  std::string summary = words(rec);
  if (carried_state(rec.state))
    summary += fmt::format(
        "{}, {} bytes unread, {} unacknowledged",
        rec.peer_in_set ? ", peer in the set" : ", peer outside (held)",
        rec.connection.recv_queue.size(), rec.connection.send_queue.size());
  return {sdk::to_payload(rec), summary};
}

void TcpHandler::check(const sdk::Record &record,
                       const sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<TcpSocket>(record.payload);
  if (rec.family != AF_INET && rec.family != AF_INET6)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile: a TCP socket of family " +
                         std::to_string(rec.family));
  if (rec.state == TCP_LISTEN || (rec.state == TCP_CLOSE && rec.local.port))
    check_bindable(rec.local, SOCK_STREAM, IPPROTO_TCP, true, rec.options,
                   words(rec));
  else if (carried_state(rec.state) || rec.state == TCP_SYN_SENT)
    check_bindable(rec.local, SOCK_STREAM, IPPROTO_TCP, false, rec.options,
                   words(rec));
  else if (rec.state != TCP_CLOSE)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile: " + words(rec) + " in state " +
                         std::to_string(rec.state));
  if (rec.state == TCP_LISTEN)
    ctx.session<TcpRestart>(*this).listeners[ctx.statefile][rec.inode] = rec;
}

} // namespace cpr::sockets
