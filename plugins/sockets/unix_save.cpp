// sockets.unix at checkpoint.
#include "records.hpp"
#include "set_sockets.hpp"
#include "unix_diag.hpp"
#include "unix_socket.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <sys/un.h>

namespace cpr::sockets {
namespace {

// What a checkpoint learns of the unix sockets once.
struct UnixScan final : sdk::Session {
  bool scanned = false;
  std::map<std::uint64_t, UnixDiag> diag;
  std::map<std::uint64_t, Holder> held;
  std::map<std::uint64_t, std::uint64_t> listener_of; // client -> listener

  void scan(const sdk::SaveContext &ctx) {
    if (scanned)
      return;
    scanned = true;
    diag = unix_sockets();
    held = sockets_held_by(ctx.processes);
    for (const auto &[inode, d] : diag)
      for (std::uint64_t w : d.waiting)
        listener_of[w] = inode;
  }

  // Another socket listens on `name`: a connected socket with that name was
  // accepted from it, and did not bind the name itself.
  bool listened_on_by_another(const std::string &name, std::uint64_t me) const {
    for (const auto &[inode, d] : diag)
      if (inode != me && d.state == TCP_LISTEN && d.name == name)
        return true;
    return false;
  }
};

struct Saving {
  const sdk::OpenFile &file;
  sdk::SaveContext &ctx;
  UnixScan &scan;
  const UnixDiag &diag;
  int fd;
  std::string what;
};

[[noreturn]] void refuse(const Saving &s, const std::string &why) {
  throw sdk::Error(sdk::Code::checkpoint_error,
                   fmt::format("Checkpoint error: {} {}", s.what, why));
}

std::string holder_words(const Saving &s, std::uint64_t inode) {
  auto who = outside_holder(inode, s.ctx.processes);
  return who ? *who + ", outside the set" : "a socket no process holds";
}

// The directory a relative name was bound in: the process's working
// directory if the file there is the socket's.
std::string directory_of(const Saving &s, const std::string &name) {
  std::string cwd = fmt::format("/proc/{}/cwd", s.file.pid);
  struct stat st {};
  if (::stat((cwd + "/" + name).c_str(), &st) != 0 ||
      st.st_ino != s.diag.file_inode)
    refuse(s, fmt::format("is bound to the relative name {}, made in a "
                          "directory that is not its working directory",
                          name));
  std::error_code ec;
  return std::filesystem::read_symlink(cwd, ec).string();
}

void save_name(const Saving &s, UnixSocket &rec) {
  rec.name = local_address(s.fd);
  if (rec.name.empty())
    return;
  if (!rec.name.abstract()) {
    rec.binds_name = s.diag.has_file;
    if (!rec.binds_name)
      return;
    const std::string &path = rec.name.bytes;
    if (path[0] != '/')
      rec.directory = directory_of(s, path);
    std::string full =
        rec.directory.empty() ? path : rec.directory + "/" + path;
    struct stat st {};
    rec.file_gone = ::stat(full.c_str(), &st) != 0 ||
                    st.st_ino != s.diag.file_inode || !S_ISSOCK(st.st_mode);
    rec.file_mode = rec.file_gone ? 0777 : st.st_mode & 07777;
    return;
  }
  rec.binds_name = !(s.diag.state == TCP_ESTABLISHED &&
                     s.scan.listened_on_by_another(s.diag.name, s.diag.inode));
}

// UNIX_DIAG_ICONS names the clients of the connections waiting on a
// listener (the waiting sockets themselves have no inode yet).
void save_waiting(const Saving &s, UnixSocket &rec) {
  for (std::uint64_t client : s.diag.waiting) {
    auto c = s.scan.diag.find(client);
    if (c != s.scan.diag.end() && c->second.backlog_or_sent > 0)
      refuse(s, fmt::format("has a connection not yet accepted with data "
                            "sent on it by {}, which cpr cannot carry",
                            client && s.scan.held.count(client)
                                ? fmt::format("socket {}", client)
                                : holder_words(s, client)));
    if (client && s.scan.held.count(client)) {
      rec.waiting.push_back(client);
      continue;
    }
    if (!s.ctx.options.flag("sockets.outside"))
      refuse(s, fmt::format("has a connection not yet accepted from {}; "
                            "checkpoint that process too, or drop such "
                            "connections with --outside-sockets",
                            holder_words(s, client)));
  }
}

void outside_peer(const Saving &s, UnixSocket &rec, std::uint64_t holder) {
  if (!s.ctx.options.flag("sockets.outside") || rec.peer_name.empty())
    refuse(s, fmt::format("is connected to {}; checkpoint that process too, "
                          "or connect it again by its address at restart "
                          "with --outside-sockets",
                          holder_words(s, holder)));
  rec.peer_kind = static_cast<std::uint8_t>(UnixPeer::reconnect);
}

void save_peer(const Saving &s, UnixSocket &rec) {
  rec.peer_name = peer_address(s.fd);
  if (!rec.peer_name.empty() && !rec.peer_name.abstract() &&
      rec.peer_name.bytes[0] != '/') {
    std::error_code ec;
    rec.peer_directory = std::filesystem::read_symlink(
                             fmt::format("/proc/{}/cwd", s.file.pid), ec)
                             .string();
  }
  const std::uint64_t peer = s.diag.peer;
  if (peer == 0 && s.diag.state != TCP_ESTABLISHED && rec.peer_name.empty())
    return; // not connected
  if (peer && s.scan.held.count(peer)) {
    rec.peer_kind = static_cast<std::uint8_t>(UnixPeer::in_set);
    rec.peer = peer;
    return;
  }
  if (auto l = s.scan.listener_of.find(s.diag.inode);
      l != s.scan.listener_of.end()) { // not accepted yet
    if (!s.scan.held.count(l->second))
      return outside_peer(s, rec, l->second);
    rec.peer_kind = static_cast<std::uint8_t>(UnixPeer::waiting);
    rec.peer = l->second;
    return;
  }
  if (rec.type == SOCK_DGRAM) { // connectionless: its peer is an address
    rec.peer_kind = static_cast<std::uint8_t>(
        rec.peer_name.empty() ? UnixPeer::gone : UnixPeer::reconnect);
    return;
  }
  if (!peer) {
    rec.peer_kind = static_cast<std::uint8_t>(UnixPeer::gone);
    return;
  }
  if (!outside_holder(peer, s.ctx.processes)) { // in flight, in the set
    rec.peer_kind = static_cast<std::uint8_t>(UnixPeer::in_set);
    rec.peer = peer;
    return;
  }
  outside_peer(s, rec, peer);
}

std::string peer_words(const UnixSocket &rec) {
  switch (static_cast<UnixPeer>(rec.peer_kind)) {
  case UnixPeer::in_set:
    return ", peer in the set";
  case UnixPeer::waiting:
    return ", waiting to be accepted";
  case UnixPeer::gone:
    return ", peer closed";
  case UnixPeer::reconnect:
    return ", connected again to " + to_string(rec.peer_name) + " at restart";
  case UnixPeer::none:
    break;
  }
  return "";
}

const char *type_words(int type) {
  return type == SOCK_STREAM  ? "stream"
         : type == SOCK_DGRAM ? "datagram"
                              : "seqpacket";
}

std::string queue_words(const UnixSocket &rec) {
  if (rec.queue.empty())
    return "";
  std::size_t files = 0;
  for (const Message &m : rec.queue)
    files += m.files.size();
  std::string in_flight =
      files ? fmt::format(", {} files in flight", files) : "";
  if (rec.type == SOCK_STREAM)
    return fmt::format(", {} bytes queued{}", total_bytes(rec.queue),
                       in_flight);
  return fmt::format(", {} messages ({} bytes) queued{}", rec.queue.size(),
                     total_bytes(rec.queue), in_flight);
}

const char *shutdown_words(std::uint8_t shutdown) {
  switch (shutdown & 3) {
  case 1:
    return ", shut down for reading";
  case 2:
    return ", shut down for writing";
  case 3:
    return ", shut down";
  }
  return "";
}

} // namespace

bool UnixHandler::claims(const sdk::OpenFile &file) const {
  return S_ISSOCK(file.st.st_mode) &&
         protocol_name(file.pid, file.fd).starts_with("UNIX");
}

sdk::Saved UnixHandler::save(const sdk::OpenFile &file,
                             sdk::SaveContext &ctx) const {
  sdk::UniqueFd fd = sdk::borrow_fd(file);
  UnixScan &scan = ctx.session<UnixScan>(*this);
  scan.scan(ctx);
  auto d = scan.diag.find(file.st.st_ino);
  std::string what = describe(file, fd.get());
  check_network_namespace(file, what);
  if (d == scan.diag.end())
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: {} is not among the "
                                 "kernel's unix sockets (sock_diag)",
                                 what));
  Saving s{file, ctx, scan, d->second, fd.get(), what};
  UnixSocket rec;
  rec.inode = file.st.st_ino;
  rec.type = d->second.type;
  rec.flags = file.flags & O_NONBLOCK;
  save_name(s, rec);
  rec.listening = d->second.state == TCP_LISTEN;
  if (rec.listening) {
    rec.backlog = d->second.backlog_or_sent;
    save_waiting(s, rec);
  } else {
    save_peer(s, rec);
    rec.queue = peek_queue(fd.get(), rec.type, what, ctx.save_file);
    if (static_cast<UnixPeer>(rec.peer_kind) == UnixPeer::reconnect &&
        rec.type != SOCK_DGRAM && !rec.queue.empty())
      refuse(s, fmt::format("holds {} unread bytes sent by a process outside "
                            "the set, which a restart could not give back",
                            total_bytes(rec.queue)));
  }
  rec.shutdown = d->second.shutdown;
  rec.owner = {file.st.st_uid, file.st.st_gid, true};
  ucred peer{};
  socklen_t length = sizeof peer;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0 &&
      peer.pid != 0)
    rec.peer_cred = {peer.uid, peer.gid, true};
  rec.options = changed_options(fd.get(), AF_UNIX, rec.type, 0);
  std::string summary = fmt::format(
      "unix {}, {}{}{}{}", type_words(rec.type),
      rec.name.empty() ? "unbound" : to_string(rec.name),
      rec.listening ? fmt::format(", listening, {} waiting", rec.waiting.size())
                    : peer_words(rec),
      shutdown_words(rec.shutdown), queue_words(rec));
  return {sdk::to_payload(rec), summary};
}

} // namespace cpr::sockets
