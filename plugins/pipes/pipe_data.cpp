#include "pipe_data.hpp"

#include <cpr/sdk/error.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::pipes {

std::string describe(const sdk::OpenFile &file) {
  return fmt::format("process {} fd {} ({})", file.pid, file.fd, file.path);
}

std::string peek_all(int reader, const std::string &what) {
  int queued = 0;
  if (::ioctl(reader, FIONREAD, &queued) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot measure " + what, errno);
  if (queued == 0)
    return {};
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot copy " + what, errno);
  Fd copy_r(ends[0]), copy_w(ends[1]);
  // tee() copies buffers, not bytes: the copy needs as many as the pipe has.
  int capacity = ::fcntl(reader, F_GETPIPE_SZ);
  if (capacity <= 0 || ::fcntl(copy_w.get(), F_SETPIPE_SZ, capacity) < 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot copy " + what, errno);
  ssize_t got = ::tee(reader, copy_w.get(), static_cast<size_t>(queued),
                      SPLICE_F_NONBLOCK);
  if (got != queued)
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: copied {} of the {} "
                                 "bytes in {}",
                                 got, queued, what));
  std::string data(static_cast<size_t>(queued), '\0');
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::read(copy_r.get(), data.data() + done, data.size() - done);
    if (n <= 0)
      sdk::throw_errno(sdk::Code::checkpoint_error,
                       "Checkpoint error: cannot copy " + what, errno);
    done += static_cast<size_t>(n);
  }
  return data;
}

void set_capacity(int fd, std::uint32_t capacity, const std::string &what) {
  if (capacity && ::fcntl(fd, F_GETPIPE_SZ) != static_cast<int>(capacity) &&
      ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(capacity)) < 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     fmt::format("component unavailable: cannot make {} "
                                 "hold {} bytes (see fs.pipe-max-size)",
                                 what, capacity),
                     errno);
}

void put_data(int writer, const std::string &data, const std::string &what) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(writer, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      sdk::throw_errno("cannot put its bytes back into " + what, errno);
    done += static_cast<size_t>(n);
  }
}

} // namespace cpr::pipes
