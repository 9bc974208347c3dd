// Unix sockets (issue 16): socketpairs of each type with bytes and messages
// queued both ways, listeners with connections not yet accepted (a path and
// an abstract name), named datagram sockets that answer each sender, and a
// socket whose peer is gone, all checkpointed mid-run, killed, restarted and
// ending as an uninterrupted run; a checkpoint that leaves them running takes
// nothing out; a peer outside the set is refused, naming it.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/scenario.hpp"
#include "support/sets.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <cstring>
#include <thread>

using namespace cpr_test;

namespace {

// Checkpointed with -g mid-run: the set finishes as if never stopped, then
// the statefile restarts and finishes the same way again.
void checkpoint_running_then_restart(const TargetSpec &spec) {
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir, {.new_session = true});
  std::vector<pid_t> members{target.pid, wait_for_children(target.pid, 1)[0]};
  let_it_run(200ms, 600ms);
  SetIdentity before = identity_of_set(members);
  auto sf = dir / "statefile";
  CommandResult result =
      try_checkpoint_set(sf, fmt::format("{}:HID", target.pid), {"-g"});
  INFO("cpr -c -g: " << result.describe());
  REQUIRE(result.status.success());
  expect_finishes_within(target, reference, 20s);
  restart_set({sf}, before);
  expect_finishes_within(target, reference, 20s);
}

} // namespace

TEST_CASE("Unix socketpairs come back with what was queued each way",
          "[e2e][sockets][unix]") {
  CHECK(reference_output(unix_sockets("pair"))
            .starts_with("child stream: 70000 bytes then EOF"));
  TempDir dir;
  expect_tree_round_trip(unix_sockets("pair"), dir, 1);
}

TEST_CASE("Unix listeners come back with the connections waiting on them",
          "[e2e][sockets][unix]") {
  CHECK(reference_output(unix_sockets("listen"))
            .starts_with("accepted on listen.sock\n"));
  TempDir dir;
  expect_tree_round_trip(unix_sockets("listen"), dir, 1);
}

TEST_CASE("Named unix datagram sockets keep each datagram's sender",
          "[e2e][sockets][unix]") {
  TempDir dir;
  expect_tree_round_trip(unix_sockets("dgram"), dir, 1);
}

TEST_CASE("A unix socket whose peer is gone gives its bytes, then EOF",
          "[e2e][sockets][unix]") {
  CHECK(reference_output(unix_sockets("closed"))
            .ends_with("then write: -1 (Broken pipe)\n"));
  TempDir dir;
  expect_round_trip(unix_sockets("closed"), dir, 200ms, 900ms);
}

TEST_CASE("A checkpoint that leaves unix sockets' processes running takes "
          "nothing out of them",
          "[e2e][sockets][unix]") {
  checkpoint_running_then_restart(unix_sockets("pair"));
  checkpoint_running_then_restart(unix_sockets("listen"));
}

TEST_CASE("A unix socket connected to a process outside the set is refused, "
          "naming it",
          "[e2e][sockets][unix]") {
  TempDir dir;
  RunningTarget target =
      start_target(unix_sockets("pair"), dir, {.new_session = true});
  pid_t child = wait_for_children(target.pid, 1)[0];
  let_it_run(200ms, 400ms);
  CommandResult result =
      try_checkpoint_set(dir / "statefile", std::to_string(child));
  INFO(result.describe());
  CHECK_FALSE(result.status.success());
  CHECK(result.err.find(fmt::format("Checkpoint error: process {} fd",
                                    child)) != std::string::npos);
  CHECK(result.err.find(fmt::format("is connected to process {} fd",
                                    target.pid)) != std::string::npos);
  CHECK(result.err.find("--outside-sockets") != std::string::npos);
  CHECK(::kill(child, 0) == 0); // left running
  wait_exit(target.pid, 20s);
}

namespace {

// A unix stream echo server of the test's own, outside any set: every line
// a client writes comes back.
class EchoServer {
public:
  explicit EchoServer(const fs::path &path) : path_(path) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener_, 8) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    for (int fd : clients_)
      ::close(fd);
    ::close(listener_);
  }

private:
  void serve() {
    while (!stop_) {
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (int fd : clients_)
        fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 50) <= 0)
        continue;
      if (fds[0].revents & POLLIN)
        clients_.push_back(
            ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC));
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!fds[i].revents)
          continue;
        char buf[256];
        ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n > 0)
          (void)!::write(fds[i].fd, buf, static_cast<std::size_t>(n));
      }
    }
  }

  fs::path path_;
  int listener_ = -1;
  std::vector<int> clients_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace

TEST_CASE("With --outside-sockets, a client of a server outside the set "
          "connects to it again at restart",
          "[e2e][sockets][unix]") {
  TempDir server_dir;
  EchoServer server(server_dir / "echo.sock");
  auto spec = unix_sockets("client", (server_dir / "echo.sock").string());
  const std::string &reference = reference_output(spec);
  CHECK(reference.ends_with("echoed: ping 7\n"));
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run(400ms, 700ms);
  auto sf = dir / "statefile";
  CommandResult refused = try_checkpoint(sf, target.pid);
  INFO(refused.describe());
  CHECK(refused.err.find(fmt::format("is connected to process {} fd",
                                     ::getpid())) != std::string::npos);
  SetIdentity before = checkpoint_set_and_reap(
      sf, std::to_string(target.pid), {target.pid}, {"--outside-sockets"});
  restart_set({sf}, before);
  expect_finishes_within(target, reference, 15s);
}
