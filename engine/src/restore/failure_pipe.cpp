// The error pipe of a restart's process tree (see failure_pipe.hpp).
#include "restore/failure_pipe.hpp"

#include <cstdio>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

namespace cpr::engine {

void send_failure(int fd, const std::exception &e) {
  sdk::Error error = sdk::as_error(e);
  std::string msg = fmt::format("{} {}\n{}", static_cast<int>(error.code()),
                                error.system_errno(), error.what());
  [[maybe_unused]] ssize_t w = ::write(fd, msg.data(), msg.size());
}

FailurePipe::~FailurePipe() {
  ::close(read_);
  ::close(write_);
}

void FailurePipe::open() {
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0)
    sdk::throw_errno("cannot create a pipe", errno);
  read_ = err[0];
  write_ = err[1];
}

sdk::Error FailurePipe::read(const std::string &otherwise) const {
  std::string msg;
  char buf[1024];
  ssize_t n;
  int flags = ::fcntl(read_, F_GETFL);
  ::fcntl(read_, F_SETFL, flags | O_NONBLOCK);
  while ((n = ::read(read_, buf, sizeof buf)) > 0)
    msg.append(buf, static_cast<size_t>(n));
  int code = 0, err = 0, at = 0;
  if (msg.empty() ||
      std::sscanf(msg.c_str(), "%d %d\n%n", &code, &err, &at) != 2)
    return sdk::Error(msg.empty() ? otherwise : msg);
  sdk::Error e(static_cast<sdk::Code>(code),
               msg.substr(static_cast<size_t>(at)));
  return err ? sdk::Error(err, e.what()) : e;
}

} // namespace cpr::engine
