// A file descriptor of this process, closed at the end of its scope, and
// the open file of a frozen process borrowed into this one.
#pragma once

#include <cpr/sdk/handler.hpp>

#include <unistd.h>

namespace cpr::sdk {

class UniqueFd {
public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) {}
  UniqueFd(const UniqueFd &) = delete;
  UniqueFd &operator=(const UniqueFd &) = delete;
  UniqueFd &operator=(UniqueFd &&other) noexcept {
    if (this != &other) {
      if (fd_ >= 0)
        ::close(fd_);
      fd_ = other.release();
    }
    return *this;
  }
  ~UniqueFd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

private:
  int fd_;
};

// The open file description of `file`, duplicated into this process
// (pidfd_getfd): to ask its object what fdinfo does not say. Throws a
// Checkpoint error naming the process and fd.
UniqueFd borrow_fd(const OpenFile &file);

} // namespace cpr::sdk
