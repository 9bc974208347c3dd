#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <cerrno>
#include <string>
#include <sys/syscall.h>

namespace cpr::sdk {

UniqueFd borrow_fd(const OpenFile &file) {
  auto fail = [&](const char *what) {
    throw_errno(Code::checkpoint_error,
                "Checkpoint error: process " + std::to_string(file.pid) +
                    " fd " + std::to_string(file.fd) + " (" + file.path +
                    "): " + what,
                errno);
  };
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, file.pid, 0)));
  if (pidfd.get() < 0)
    fail("cannot open the process");
  UniqueFd fd(
      static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), file.fd, 0)));
  if (fd.get() < 0)
    fail("cannot borrow the fd");
  return fd;
}

} // namespace cpr::sdk
