// An echo server of the test's own, outside any set checkpointed: whatever
// a client writes comes back. On a unix socket path or a loopback TCP port.
#pragma once

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

namespace cpr_test {

class EchoServer {
public:
  // A unix stream socket at `path`.
  explicit EchoServer(const std::filesystem::path &path);
  // A TCP socket on 127.0.0.1, at a port the kernel picks.
  EchoServer();
  ~EchoServer();
  EchoServer(const EchoServer &) = delete;
  EchoServer &operator=(const EchoServer &) = delete;

  int port() const { return port_; }
  // Connections it has accepted so far.
  int accepted() const { return accepted_; }

private:
  void start();
  void serve();

  int listener_ = -1;
  int port_ = 0;
  std::vector<int> clients_;
  std::atomic<int> accepted_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace cpr_test
