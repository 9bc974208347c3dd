// FailurePipe: how a process of the tree being restored (a helper, a
// stand-in, the namespace's init) tells cpr why it failed, its error's code
// and errno with the message.
#pragma once

#include <cpr/sdk/error.hpp>

#include <exception>
#include <string>

namespace cpr::engine {

// Sends a failure of a process of the tree up the error pipe `fd` (the
// write end, or a copy of it), its code with it.
void send_failure(int fd, const std::exception &e);

class FailurePipe {
public:
  FailurePipe() = default;
  ~FailurePipe();
  FailurePipe(const FailurePipe &) = delete;
  FailurePipe &operator=(const FailurePipe &) = delete;

  void open();
  // What the tree's processes send_failure() to.
  int write_end() const { return write_; }
  // A failure a process sent: its code, its errno and its message, or
  // `otherwise` if it sent none.
  sdk::Error read(const std::string &otherwise) const;

private:
  int read_ = -1, write_ = -1;
};

} // namespace cpr::engine
