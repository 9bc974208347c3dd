#include "open_flags.hpp"

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace cpr::files {

std::string describe_flags(std::uint32_t flags) {
  std::vector<std::string> names;
  switch (flags & O_ACCMODE) {
  case O_RDONLY:
    names.push_back("O_RDONLY");
    break;
  case O_WRONLY:
    names.push_back("O_WRONLY");
    break;
  default:
    names.push_back("O_RDWR");
  }
  if (flags & O_APPEND)
    names.push_back("O_APPEND");
  if (flags & O_NONBLOCK)
    names.push_back("O_NONBLOCK");
  if (flags & O_SYNC)
    names.push_back("O_SYNC");
  if (flags & O_DIRECT)
    names.push_back("O_DIRECT");
  return fmt::format("{}", fmt::join(names, "|"));
}

int reopen_flags(std::uint32_t flags) {
  // O_NOFOLLOW too: a reopen through /proc/self/fd/N, a magic link, would
  // fail with it (ELOOP); where cpr opens a path, it adds it itself.
  return static_cast<int>(
             flags & ~static_cast<std::uint32_t>(O_CREAT | O_EXCL | O_TRUNC |
                                                 O_NOCTTY | O_NOFOLLOW)) |
         O_CLOEXEC;
}

void try_reopen(pid_t pid, int fd, const std::string &path, int flags,
                unsigned type) {
  auto fail = [&](const std::string &why) {
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: process {} fd {} ({}) "
                                 "could not be reopened at restart: {}",
                                 pid, fd, path, why));
  };
  // Not blocking on a FIFO put in its place, nor taking a terminal.
  int trial = ::open(path.c_str(), flags | O_NONBLOCK | O_NOCTTY);
  if (trial < 0)
    fail(std::strerror(errno));
  struct stat st {};
  bool same_kind = ::fstat(trial, &st) == 0 && (st.st_mode & S_IFMT) == type;
  ::close(trial);
  if (!same_kind)
    fail("it is another kind of file now");
}

} // namespace cpr::files
