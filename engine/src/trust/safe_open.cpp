#include "trust/safe_open.hpp"

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::engine {

sdk::UniqueFd open_beneath(int dir_fd, const std::string &rel, int flags) {
  open_how how{};
  // O_NONBLOCK: opening a FIFO put in a file's place must not wait.
  how.flags = static_cast<std::uint64_t>(flags | O_NOFOLLOW | O_NONBLOCK |
                                         O_CLOEXEC | O_NOCTTY);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd;
  do
    fd = static_cast<int>(
        ::syscall(SYS_openat2, dir_fd, rel.c_str(), &how, sizeof how));
  while (fd < 0 && errno == EAGAIN);
  sdk::UniqueFd file(fd);
  if (fd < 0)
    return file;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    errno = EINVAL;
    return sdk::UniqueFd();
  }
  return file;
}

sdk::UniqueFd open_statefile_dir(const std::string &path) {
  sdk::UniqueFd dir(
      ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK));
  if (dir.get() < 0) {
    if (errno == ENOTDIR)
      throw sdk::Error(ENOTDIR,
                       "cannot open statefile " + path + ": Not a directory");
    sdk::throw_errno("cannot open statefile " + path, errno);
  }
  return dir;
}

std::string read_bounded(int fd, std::uint64_t limit, const std::string &name,
                         const std::string &part) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    sdk::throw_errno(fmt::format("cannot read {} of statefile {}", part, name),
                     errno);
  if (static_cast<std::uint64_t>(st.st_size) > limit)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile {}: {} is too large ({} "
                                 "bytes)",
                                 name, part, st.st_size));
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done,
                        static_cast<off_t>(done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      sdk::throw_errno(
          fmt::format("cannot read {} of statefile {}", part, name), errno);
    if (n == 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

} // namespace cpr::engine
