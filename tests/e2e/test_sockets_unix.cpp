// Unix sockets (issue 16): socketpairs of each type with bytes and messages
// queued both ways, listeners with connections not yet accepted (a path and
// an abstract name), named datagram sockets that answer each sender, and a
// socket whose peer is gone, all checkpointed mid-run, killed, restarted and
// ending as an uninterrupted run; a checkpoint that leaves them running takes
// nothing out; a peer outside the set is refused, naming it.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/echo_server.hpp"
#include "support/scenario.hpp"
#include "support/sets.hpp"

using namespace cpr_test;

TEST_CASE("Unix socketpairs come back with what was queued each way",
          "[e2e][sockets][unix]") {
  CHECK(reference_output(unix_sockets("pair"))
            .starts_with("child stream: 70000 bytes then EOF"));
  TempDir dir;
  expect_tree_round_trip(unix_sockets("pair"), dir, 1);
}

TEST_CASE("A user's unix socket peers are still of that user, never root",
          "[e2e][sockets][unix]") {
  auto spec = unix_sockets("pair");
  CHECK(reference_output(spec).ends_with("peer is of my user: 1\n"));
  TempDir dir;
  dir.give_to(nobody);
  RunningTarget target =
      start_target(spec, dir, {.as = nobody, .new_session = true});
  std::vector<pid_t> members{target.pid, wait_for_children(target.pid, 1)[0]};
  let_it_run(200ms, 600ms);
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, fmt::format("{}:HID", target.pid), members);
  restart_set({sf}, before);
  expect_finishes_within(target, reference_output(spec), 15s);
}

TEST_CASE("Files in flight in a unix socket (SCM_RIGHTS) arrive after "
          "restart",
          "[e2e][sockets][unix]") {
  CHECK(reference_output(unix_sockets("rights")) ==
        "child got a file: file content 123\n"
        "child got a pipe: pipe data\n"
        "child got a socket: queued in flight\n"
        "parent got back: reply\n"
        "child exit 0\n");
  TempDir dir;
  expect_tree_round_trip(unix_sockets("rights"), dir, 1);
}

TEST_CASE("A netlink socket comes back on its port, in its groups",
          "[e2e][sockets][netlink]") {
  CHECK(reference_output(netlink_holder())
            .ends_with("port is my pid: 1, link group: 1\n"));
  TempDir dir;
  expect_round_trip(netlink_holder(), dir);
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
  checkpoint_running_then_restart(unix_sockets("pair"), 1);
  checkpoint_running_then_restart(unix_sockets("listen"), 1);
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
