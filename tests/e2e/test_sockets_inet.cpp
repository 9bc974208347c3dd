// TCP and UDP sockets (issue 16): a listener and a connection inside the set
// with bytes queued and unacknowledged both ways, over IPv4 and IPv6; one
// half-closed with its bytes and FIN unread; UDP
// datagrams queued with their sources; a client of a TCP server outside the
// set whose very connection goes on after restart, the server never seeing
// it end; a checkpoint that leaves them running; an address taken at
// restart refused before anything runs.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/echo_server.hpp"
#include "support/scenario.hpp"
#include "support/sets.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

using namespace cpr_test;

TEST_CASE("A TCP connection inside the set comes back with its queues",
          "[e2e][sockets][tcp]") {
  CHECK(reference_output(inet_sockets("tcp", 4))
            .ends_with("parent: read 200000 bytes, 0 wrong\n"
                       "child exit 0, listener still listening 1\n"));
  for (int family : {4, 6}) {
    TempDir dir;
    expect_tree_round_trip(inet_sockets("tcp", family), dir, 1);
  }
}

TEST_CASE("A TCP connection half-closed (FIN_WAIT2 / CLOSE_WAIT) comes back "
          "half-closed",
          "[e2e][sockets][tcp]") {
  CHECK(reference_output(inet_sockets("half", 4))
            .starts_with("child heard: bye after 50000 (eof 0), then EOF\n"));
  for (int family : {4, 6}) {
    TempDir dir;
    expect_tree_round_trip(inet_sockets("half", family), dir, 1);
  }
}

TEST_CASE("UDP sockets come back with their datagrams and who sent them",
          "[e2e][sockets][udp]") {
  for (int family : {4, 6}) {
    TempDir dir;
    expect_tree_round_trip(inet_sockets("udp", family), dir, 1);
  }
}

TEST_CASE("A checkpoint that leaves TCP connections running leaves them "
          "working",
          "[e2e][sockets][tcp]") {
  checkpoint_running_then_restart(inet_sockets("tcp", 4), 1);
  checkpoint_running_then_restart(inet_sockets("udp", 4), 1);
}

TEST_CASE("A TCP connection to a server outside the set goes on after "
          "restart, the server never seeing it end",
          "[e2e][sockets][tcp]") {
  EchoServer server;
  auto spec = inet_sockets("client", server.port());
  const std::string &reference = reference_output(spec);
  CHECK(reference.ends_with("echoed: ping 7\n"));
  const int before_run = server.accepted();
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run(500ms, 900ms);
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, std::to_string(target.pid), {target.pid});
  std::this_thread::sleep_for(300ms); // the server writes into the void
  restart_set({sf}, before);
  expect_finishes_within(target, reference, 15s);
  CHECK(server.accepted() == before_run + 1); // one connection, never redone
}

TEST_CASE("A TCP connection still being made (SYN_SENT) is made again",
          "[e2e][sockets][tcp]") {
  // A listener whose queue is full: SYNs to it go unanswered until the
  // test accepts.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof a;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr *>(&a), length) == 0);
  REQUIRE(::listen(listener, 0) == 0);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr *>(&a), &length) ==
          0);
  int blocker = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(::connect(blocker, reinterpret_cast<sockaddr *>(&a), length) == 0);
  TempDir dir;
  RunningTarget target =
      start_target(inet_sockets("connecting", ntohs(a.sin_port)), dir);
  let_it_run(300ms, 500ms);
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);
  CHECK(run_cpr({"-i", sf.string()}).out.find("connecting (SYN_SENT)") !=
        std::string::npos);
  restart(sf, before);
  for (int i = 0; i < 2; ++i) { // the blocker, then the target
    int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(c >= 0);
    if (i == 1) {
      char buf[2];
      REQUIRE(::read(c, buf, 2) == 2);
      REQUIRE(::write(c, buf, 2) == 2);
    }
    ::close(c);
  }
  expect_finishes_with(target, "connected and echoed: hi\n");
  ::close(blocker);
  ::close(listener);
}

TEST_CASE("cpr killed while it holds a TCP connection leaves it working",
          "[e2e][sockets][tcp][kill_safety]") {
  EchoServer server;
  auto spec = inet_sockets("client", server.port());
  const std::string &reference = reference_output(spec);
  for (const char *will : {"-g", "-k"}) {
    INFO(will);
    TempDir dir;
    RunningTarget target = start_target(spec, dir);
    let_it_run(400ms, 700ms);
    // Killed with the connection in repair mode and its packets held.
    CommandResult killed = run_cpr(
        {"-c", (dir / "sf").string(), "-p", std::to_string(target.pid), will},
        {}, {"CPR_TEST_KILL_AT=sockets-repaired"});
    INFO(killed.describe());
    CHECK(killed.status.killed_by(SIGKILL));
    expect_finishes_within(target, reference, 15s);
  }
  CommandResult held = run_command(
      {"/usr/sbin/nft", "list", "set", "inet", "cpr_hold", "held4"});
  // None left for its connection (a failed restart elsewhere keeps its own).
  CHECK(held.out.find(fmt::format("127.0.0.1 . {} . ", server.port())) ==
        std::string::npos);
}

TEST_CASE("A UDP port shared with SO_REUSEPORT is shared again at restart",
          "[e2e][sockets][udp]") {
  int other = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
  REQUIRE(::setsockopt(other, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof a;
  REQUIRE(::bind(other, reinterpret_cast<sockaddr *>(&a), length) == 0);
  REQUIRE(::getsockname(other, reinterpret_cast<sockaddr *>(&a), &length) == 0);
  auto spec = inet_sockets("reuseport", ntohs(a.sin_port));
  CHECK(reference_output(spec) == "bound, reuseport 1\n");
  TempDir dir;
  expect_round_trip(spec, dir, 300ms, 800ms);
  ::close(other);
}

TEST_CASE("A restart whose TCP port is taken fails before anything runs, "
          "naming the address",
          "[e2e][sockets][tcp]") {
  auto spec = inet_sockets("tcp", 4);
  TempDir dir;
  RunningTarget target = start_target(spec, dir, {.new_session = true});
  std::vector<pid_t> members{target.pid, wait_for_children(target.pid, 1)[0]};
  let_it_run(200ms, 500ms);
  auto sf = dir / "statefile";
  checkpoint_set_and_reap(sf, fmt::format("{}:HID", target.pid), members);
  CommandResult info = run_cpr({"-i", sf.string()});
  std::smatch m;
  REQUIRE(std::regex_search(info.out, m,
                            std::regex(R"(listener 127\.0\.0\.1:(\d+))")));
  int taker = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(m[1])));
  REQUIRE(::bind(taker, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
  REQUIRE(::listen(taker, 1) == 0);
  CommandResult result = run_cpr({"-r", sf.string()});
  ::close(taker);
  expect_cpr_error(
      result, fmt::format("Resource busy: 127.0.0.1:{} is in use", m[1].str()));
  expect_no_process_left(target.pid);
}
