#include "contents.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::shm {
namespace {

std::vector<sdk::Range> data_ranges(int fd, std::uint64_t size) {
  std::vector<sdk::Range> out;
  auto end = static_cast<off_t>(size);
  for (off_t at = 0; at < end;) {
    off_t data = ::lseek(fd, at, SEEK_DATA);
    if (data < 0 || data >= end)
      break;
    off_t hole = std::min<off_t>(::lseek(fd, data, SEEK_HOLE), end);
    out.push_back(
        {static_cast<std::uint64_t>(data), static_cast<std::uint64_t>(hole)});
    at = hole;
  }
  return out;
}

// Copies `size` bytes from `in` at `in_at` to `out` at its file position.
void copy(int in, off_t in_at, int out, std::uint64_t size,
          const std::string &what) {
  while (size > 0) {
    ssize_t n = ::sendfile(out, in, &in_at, size);
    if (n < 0)
      sdk::throw_errno(what, errno);
    if (n == 0)
      throw sdk::Error(what + ": the data ends early");
    size -= static_cast<std::uint64_t>(n);
  }
}

// The data is the process's memory: on disk before the checkpoint counts
// as done, as the engine's pages are.
void make_durable(int fd, const std::string &path, const std::string &dir) {
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bool ok = ::fdatasync(fd) == 0 && dir_fd >= 0 && ::fsync(dir_fd) == 0;
  int err = errno;
  if (dir_fd >= 0)
    ::close(dir_fd);
  if (!ok)
    sdk::throw_errno("Checkpoint error: cannot write " + path, err);
}

} // namespace

Contents save_contents(int object_fd, std::uint64_t size,
                       const std::string &statefile, const std::string &name) {
  Contents c{"ipc/" + name, data_ranges(object_fd, size)};
  std::string dir = statefile + "/ipc";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    sdk::throw_errno("Checkpoint error: cannot make " + dir, errno);
  std::string path = statefile + "/" + c.file;
  sdk::UniqueFd out(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0)
    sdk::throw_errno("Checkpoint error: cannot make " + path, errno);
  for (const sdk::Range &r : c.ranges)
    copy(object_fd, static_cast<off_t>(r.start), out.get(), r.size(),
         "Checkpoint error: cannot save " + name);
  make_durable(out.get(), path, dir);
  return c;
}

void check_contents(const Contents &contents, const std::string &statefile) {
  std::string path = statefile + "/" + contents.file;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 ||
      static_cast<std::uint64_t>(st.st_size) != contents.bytes())
    throw sdk::Error(fmt::format("damaged statefile {}: {} is missing or not "
                                 "the {} bytes saved",
                                 statefile, contents.file, contents.bytes()));
}

void restore_contents(const Contents &contents, const std::string &statefile,
                      int object_fd) {
  std::string path = statefile + "/" + contents.file;
  sdk::UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0)
    sdk::throw_errno("damaged statefile: cannot open " + path, errno);
  off_t at = 0;
  for (const sdk::Range &r : contents.ranges) {
    if (::lseek(object_fd, static_cast<off_t>(r.start), SEEK_SET) < 0)
      sdk::throw_errno("cannot seek in shared memory", errno);
    copy(in.get(), at, object_fd, r.size(),
         "cannot fill shared memory from " + path);
    at += static_cast<off_t>(r.size());
  }
}

} // namespace cpr::shm
