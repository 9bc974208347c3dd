// Real programs nobody here wrote, holding sockets (issue 16): redis-server
// with a client that keeps its one connection across the checkpoint, keys
// and all, and across one that leaves it running (-g); python3 -m http.server
// checkpointed idle and in the middle of a large download, which curl completes
// with the right bytes; Python multiprocessing pools (pipes, a forkserver's
// unix socket, semaphores) finishing with the uninterrupted result.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/scenario.hpp"
#include "support/sets.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

using namespace cpr_test;

namespace {

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof a;
  ::bind(s, reinterpret_cast<sockaddr *>(&a), length);
  ::getsockname(s, reinterpret_cast<sockaddr *>(&a), &length);
  ::close(s);
  return ntohs(a.sin_port);
}

// A connection to 127.0.0.1:port, once something listens there.
int connect_when_up(int port) {
  for (int i = 0; i < 100; ++i) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(s, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0)
      return s;
    ::close(s);
    std::this_thread::sleep_for(50ms);
  }
  FAIL("nothing listens on port " << port);
  return -1;
}

// One RESP reply: "+OK", ":200", "$3 v42" read whole, as one line.
std::string redis_reply(int fd) {
  std::string got;
  char c;
  while (!got.ends_with("\r\n") && ::read(fd, &c, 1) == 1)
    got += c;
  if (got.starts_with("$") && got != "$-1\r\n") {
    std::string body(static_cast<std::size_t>(std::stoi(got.substr(1))) + 2,
                     '\0');
    for (std::size_t done = 0; done < body.size();) {
      ssize_t n = ::read(fd, body.data() + done, body.size() - done);
      REQUIRE(n > 0);
      done += static_cast<std::size_t>(n);
    }
    got += body;
  }
  return got;
}

void redis_send(int fd, const std::vector<std::string> &args) {
  std::string out = fmt::format("*{}\r\n", args.size());
  for (const std::string &a : args)
    out += fmt::format("${}\r\n{}\r\n", a.size(), a);
  REQUIRE(::write(fd, out.data(), out.size()) ==
          static_cast<ssize_t>(out.size()));
}

std::string redis(int fd, const std::vector<std::string> &args) {
  redis_send(fd, args);
  return redis_reply(fd);
}

std::size_t threads_of(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(fmt::format("/proc/{}/task", pid), ec);
       !ec && it != fs::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

// `pid` and every process under it, parents first.
std::vector<pid_t> tree_of(pid_t pid) {
  std::vector<pid_t> tree{pid};
  for (std::size_t i = 0; i < tree.size(); ++i)
    for (pid_t child : children_of(tree[i]))
      tree.push_back(child);
  return tree;
}

std::string sha256_of(const fs::path &file) {
  CommandResult r = run_command({"/usr/bin/sha256sum", file.string()});
  REQUIRE(r.status.success());
  return r.out.substr(0, 64);
}

} // namespace

TEST_CASE("redis-server restarts with its keys, and its client's connection "
          "goes on",
          "[e2e][sockets][programs]") {
  const int port = free_port();
  TempDir dir;
  TargetSpec spec{"redis-server",
                  {"/usr/bin/redis-server", "--port", std::to_string(port),
                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", dir.path().string()}};
  RunningTarget server = start_target(spec, dir, {.new_session = true});
  int client = connect_when_up(port);
  for (int i = 0; i < 100; ++i)
    REQUIRE(redis(client, {"SET", fmt::format("k{}", i), fmt::format("v{}", i)})
                .starts_with("+OK"));
  auto sf = dir / "statefile";
  // -g: a checkpoint that leaves it running leaves the connection working.
  CommandResult going_on = try_checkpoint(sf, server.pid, {"-g"});
  INFO(going_on.describe());
  REQUIRE(going_on.status.success());
  CHECK(redis(client, {"GET", "k9"}) == "$2\r\nv9\r\n");
  SetIdentity before = checkpoint_set_and_reap(sf, std::to_string(server.pid),
                                               {server.pid}, {"-f"});
  redis_send(client, {"GET", "k42"}); // while the server is away
  std::this_thread::sleep_for(300ms);
  restart_set({sf}, before);
  CHECK(redis_reply(client) == "$3\r\nv42\r\n");
  for (int i = 100; i < 200; ++i)
    redis(client, {"SET", fmt::format("k{}", i), fmt::format("v{}", i)});
  CHECK(redis(client, {"DBSIZE"}) == ":200\r\n");
  CHECK(redis(client, {"GET", "k7"}) == "$2\r\nv7\r\n");
  int second = connect_when_up(port); // and it still takes new clients
  CHECK(redis(second, {"PING"}) == "+PONG\r\n");
  redis_send(client, {"SHUTDOWN", "NOSAVE"});
  CHECK(wait_exit(server.pid, 10s).success());
  ::close(second);
  ::close(client);
}

namespace {

struct HttpServer {
  TempDir dir;
  int port = free_port();
  RunningTarget target;
  fs::path big = dir / "big.bin";

  HttpServer() {
    std::ofstream out(big, std::ios::binary);
    std::string block(1 << 20, '\0');
    for (int i = 0; i < 30; ++i) {
      for (std::size_t j = 0; j < block.size(); ++j)
        block[j] = static_cast<char>((j * 131 + i * 7 + (j >> 9)) & 0xff);
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
    out.close();
    TargetSpec spec{"http.server",
                    {"/usr/bin/python3", "-m", "http.server",
                     std::to_string(port), "--bind", "127.0.0.1"}};
    target = start_target(spec, dir, {.new_session = true});
    ::close(connect_when_up(port));
    // One request served whole: the thread that served it (and the probe's)
    // is gone before any checkpoint.
    REQUIRE(run_command({"/usr/bin/curl", "-sS", "-o", "/dev/null", url("")})
                .status.success());
    REQUIRE(wait_until([&] { return threads_of(target.pid) == 1; }, 5s));
  }
  ~HttpServer() {
    ::kill(target.pid, SIGKILL);
    wait_exit(target.pid, 10s);
  }
  std::string url(const std::string &name) const {
    return fmt::format("http://127.0.0.1:{}/{}", port, name);
  }
};

} // namespace

TEST_CASE("python3 -m http.server checkpointed idle serves after restart",
          "[e2e][sockets][programs]") {
  HttpServer http;
  TempDir mine;
  auto sf = mine / "statefile";
  SetIdentity before = checkpoint_set_and_reap(
      sf, std::to_string(http.target.pid), {http.target.pid});
  restart_set({sf}, before);
  CommandResult got =
      run_command({"/usr/bin/curl", "-sS", "-o", (mine / "got.bin").string(),
                   http.url("big.bin")});
  INFO(got.describe());
  REQUIRE(got.status.success());
  CHECK(sha256_of(mine / "got.bin") == sha256_of(http.big));
}

TEST_CASE("python3 -m http.server checkpointed mid-download: curl completes "
          "with the right bytes",
          "[e2e][sockets][programs]") {
  HttpServer http;
  TempDir mine;
  auto got = mine / "got.bin";
  SpawnOptions quiet;
  quiet.stderr_path = mine / "curl.err";
  Spawned curl = spawn({"/usr/bin/curl", "-sS", "--limit-rate", "10M", "-o",
                        got.string(), http.url("big.bin")},
                       quiet);
  std::this_thread::sleep_for(800ms);
  auto sf = mine / "statefile";
  SetIdentity before = checkpoint_set_and_reap(
      sf, std::to_string(http.target.pid), {http.target.pid});
  std::string info = run_cpr({"-i", sf.string()}).out;
  INFO(info);
  CHECK(info.find("peer outside (held)") != std::string::npos);
  std::this_thread::sleep_for(500ms);
  restart_set({sf}, before);
  ExitStatus status = wait_exit(curl.pid, 60s);
  INFO("curl " << status.describe() << ": " << read_file(mine / "curl.err"));
  CHECK(status.success());
  CHECK(sha256_of(got) == sha256_of(http.big));
}

TEST_CASE("Python multiprocessing pools finish with the uninterrupted result",
          "[e2e][sockets][programs]") {
  // fork: the main process and 3 workers; forkserver: the main process,
  // its resource tracker and the fork server, the workers' parent.
  for (auto [context, workers_parent] :
       {std::pair{"fork", 0}, std::pair{"forkserver", 1}}) {
    INFO(context);
    auto spec = pool_py(context);
    const std::string &reference = reference_output(spec);
    TempDir dir;
    RunningTarget target = start_target(spec, dir);
    REQUIRE(wait_until(
        [&] {
          return file_size_or_zero(target.out) > 0 &&
                 read_file(target.out).starts_with("progress 0");
        },
        10s));
    let_it_run(300ms, 800ms);
    std::vector<pid_t> tree = tree_of(target.pid);
    REQUIRE(tree.size() == (workers_parent ? 6u : 4u));
    auto sf = dir / "statefile";
    SetIdentity before =
        checkpoint_set_and_reap(sf, fmt::format("{}:HID", target.pid), tree);
    restart_set({sf}, before);
    expect_finishes_within(target, reference, 20s);
  }
}
