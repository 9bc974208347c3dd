#include "net_lock.hpp"

#include "raw_packet.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace cpr::sockets {
namespace {} // namespace

// cpr runs with privilege: nft is found where Debian puts it, not on PATH.
const char *nft_program() {
  for (const char *p : {"/usr/sbin/nft", "/sbin/nft"})
    if (::access(p, X_OK) == 0)
      return p;
  return nullptr;
}

namespace {

struct NftResult {
  bool ok = false;
  std::string errors;
};

// `nft -f -` with `script` on its stdin, in an empty environment.
NftResult run_nft(const std::string &script) {
  const char *program = nft_program();
  if (!program)
    return {false, "nft (Debian's nftables) is not installed"};
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    return {false, std::strerror(errno)};
  sdk::UniqueFd in_r(in[0]), in_w(in[1]), err_r(err[0]), err_w(err[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  char *argv[] = {const_cast<char *>("nft"), const_cast<char *>("-f"),
                  const_cast<char *>("-"), nullptr};
  char *envp[] = {nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, program, &actions, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return {false, std::strerror(rc)};
  in_r = sdk::UniqueFd();
  err_w = sdk::UniqueFd();
  (void)!::write(in_w.get(), script.data(), script.size());
  in_w = sdk::UniqueFd();
  NftResult result;
  char buf[512];
  for (ssize_t n; (n = ::read(err_r.get(), buf, sizeof buf)) > 0;)
    result.errors.append(buf, static_cast<std::size_t>(n));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (auto nl = result.errors.find('\n'); nl != std::string::npos)
    result.errors.resize(nl);
  return result;
}

// The table, made once; "add" leaves an existing one as it is, and the
// rules are added only where the table was new (nft -f is one transaction).
const char *table_script = R"(add table inet cpr_hold
add set inet cpr_hold held4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; flags timeout; }
add set inet cpr_hold held6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; flags timeout; }
add chain inet cpr_hold input { type filter hook input priority filter - 10; policy accept; }
add chain inet cpr_hold output { type filter hook output priority filter - 10; policy accept; }
add rule inet cpr_hold input ip saddr . tcp sport . ip daddr . tcp dport @held4 drop
add rule inet cpr_hold input ip6 saddr . tcp sport . ip6 daddr . tcp dport @held6 drop
add rule inet cpr_hold output ip daddr . tcp dport . ip saddr . tcp sport @held4 drop
add rule inet cpr_hold output ip6 daddr . tcp dport . ip6 saddr . tcp sport @held6 drop
)";

// A connection is held a day at most: a peer that kept sending has given
// up long before, and no statefile deleted unrestarted leaves its element
// for ever.
const char *hold_for = "1d";

bool table_exists() { return run_nft("list table inet cpr_hold\n").ok; }

std::string ip_text(const Address &a) {
  char text[INET6_ADDRSTRLEN] = "";
  ::inet_ntop(a.family, a.bytes.data(), text, sizeof text);
  return text;
}

std::string element_script(const char *verb, const Connection &c,
                           const char *timeout = nullptr) {
  Address local = as_sent(c.local), peer = as_sent(c.peer);
  return fmt::format("{} element inet cpr_hold {} {{ {} . {} . {} . {}{} }}\n",
                     verb, local.family == AF_INET ? "held4" : "held6",
                     ip_text(peer), peer.port, ip_text(local), local.port,
                     timeout ? fmt::format(" timeout {}", timeout) : "");
}

} // namespace

void hold_connections(const std::vector<Connection> &connections) {
  if (connections.empty())
    return;
  std::string script = table_exists() ? "" : table_script;
  for (const Connection &c : connections)
    script += element_script("add", c, hold_for);
  NftResult r = run_nft(script);
  if (!r.ok)
    throw sdk::Error(
        sdk::Code::checkpoint_error,
        fmt::format("Checkpoint error: cannot hold the TCP connection {} -> "
                    "{} still while its process is away (nft: {})",
                    to_string(connections.front().local),
                    to_string(connections.front().peer), r.errors));
}

std::string let_go_script(const std::vector<Connection> &connections) {
  std::string script;
  for (const Connection &c : connections)
    script += element_script("delete", c);
  return script;
}

void let_go_connections(const std::vector<Connection> &connections) {
  if (connections.empty())
    return;
  if (run_nft(let_go_script(connections)).ok)
    return;
  for (const Connection &c : connections) // one by one: some were gone
    run_nft(element_script("delete", c));
}

} // namespace cpr::sockets
