#include "echo_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace cpr_test {

EchoServer::EchoServer(const std::filesystem::path &path) {
  listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::bind(listener_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
    throw std::runtime_error("echo server: cannot bind " + path.string());
  start();
}

EchoServer::EchoServer() {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof a;
  if (::bind(listener_, reinterpret_cast<sockaddr *>(&a), length) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr *>(&a), &length) != 0)
    throw std::runtime_error("echo server: cannot bind a TCP port");
  port_ = ntohs(a.sin_port);
  start();
}

void EchoServer::start() {
  if (::listen(listener_, 16) != 0)
    throw std::runtime_error("echo server: cannot listen");
  thread_ = std::thread([this] { serve(); });
}

EchoServer::~EchoServer() {
  stop_ = true;
  thread_.join();
  for (int fd : clients_)
    ::close(fd);
  ::close(listener_);
}

void EchoServer::serve() {
  while (!stop_) {
    std::vector<pollfd> fds{{listener_, POLLIN, 0}};
    for (int fd : clients_)
      fds.push_back({fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 50) <= 0)
      continue;
    if (fds[0].revents & POLLIN) {
      int c = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        clients_.push_back(c);
        ++accepted_;
      }
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (!fds[i].revents)
        continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0)
        (void)!::write(fds[i].fd, buf, static_cast<std::size_t>(n));
    }
  }
}

} // namespace cpr_test
