#include "contents.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::shm {
namespace {

constexpr std::uint64_t page = 4096;
constexpr std::uint64_t chunk = 64 << 20; // pinned at once by O_DIRECT

std::uint64_t whole_pages(std::uint64_t size) {
  return (size + page - 1) / page * page;
}

// Whole pages: the tail of the last one, past the object's end, reads as
// zeros, and whole pages can be written with O_DIRECT.
std::vector<sdk::Range> data_ranges(int fd, std::uint64_t size) {
  std::vector<sdk::Range> out;
  auto end = static_cast<off_t>(size);
  for (off_t at = 0; at < end;) {
    off_t data = ::lseek(fd, at, SEEK_DATA);
    if (data < 0 || data >= end)
      break;
    off_t hole = std::min<off_t>(::lseek(fd, data, SEEK_HOLE), end);
    out.push_back({static_cast<std::uint64_t>(data),
                   whole_pages(static_cast<std::uint64_t>(hole))});
    at = static_cast<off_t>(out.back().end);
  }
  return out;
}

// The object mapped into cpr: the data goes between it and the statefile
// with no copy in between.
class ObjectView {
public:
  ObjectView(int fd, std::uint64_t size, int prot, const std::string &name)
      : size_(size) {
    void *at = ::mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
    if (at == MAP_FAILED)
      sdk::throw_errno("cannot map " + name, errno);
    at_ = static_cast<char *>(at);
  }
  ObjectView(const ObjectView &) = delete;
  ObjectView &operator=(const ObjectView &) = delete;
  ~ObjectView() { ::munmap(at_, size_); }
  char *at(std::uint64_t offset) const { return at_ + offset; }

private:
  char *at_ = nullptr;
  std::uint64_t size_;
};

// Page cache is slow to fill in this VM and would be flushed at once
// anyway: the data goes straight between disk and memory, as the engine's
// pages do, where the file system takes O_DIRECT.
sdk::UniqueFd open_direct(const std::string &path, int flags, mode_t mode) {
  sdk::UniqueFd fd(::open(path.c_str(), flags | O_DIRECT | O_CLOEXEC, mode));
  if (fd.get() < 0 && errno == EINVAL)
    fd = sdk::UniqueFd(::open(path.c_str(), flags | O_CLOEXEC, mode));
  return fd;
}

void write_all(int fd, const char *from, std::uint64_t size, std::uint64_t at,
               const std::string &path) {
  while (size > 0) {
    ssize_t n =
        ::pwrite(fd, from, std::min(size, chunk), static_cast<off_t>(at));
    if (n <= 0)
      sdk::throw_errno(sdk::Code::checkpoint_error,
                       "Checkpoint error: cannot write " + path,
                       n < 0 ? errno : EIO);
    from += n;
    at += static_cast<std::uint64_t>(n);
    size -= static_cast<std::uint64_t>(n);
  }
}

void read_all(int fd, char *to, std::uint64_t size, std::uint64_t at,
              const std::string &path) {
  while (size > 0) {
    ssize_t n = ::pread(fd, to, std::min(size, chunk), static_cast<off_t>(at));
    if (n < 0)
      sdk::throw_errno("cannot fill shared memory from " + path, errno);
    if (n == 0)
      throw sdk::Error(sdk::Code::damaged_statefile,
                       "damaged statefile: " + path + " ends early");
    to += n;
    at += static_cast<std::uint64_t>(n);
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
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot write " + path, err);
}

} // namespace

Contents save_contents(int object_fd, std::uint64_t size,
                       const std::string &statefile, const std::string &name) {
  Contents c{"ipc/" + name, data_ranges(object_fd, size)};
  std::string dir = statefile + "/ipc";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot make " + dir, errno);
  std::string path = statefile + "/" + c.file;
  sdk::UniqueFd out = open_direct(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (out.get() < 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot make " + path, errno);
  if (!c.ranges.empty()) {
    ObjectView view(object_fd, c.ranges.back().end, PROT_READ, name);
    std::uint64_t at = 0;
    for (const sdk::Range &r : c.ranges) {
      write_all(out.get(), view.at(r.start), r.size(), at, path);
      at += r.size();
    }
  }
  make_durable(out.get(), path, dir);
  return c;
}

void check_contents(const Contents &contents, const std::string &statefile) {
  std::string path = statefile + "/" + contents.file;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 ||
      static_cast<std::uint64_t>(st.st_size) != contents.bytes())
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile {}: {} is missing or not "
                                 "the {} bytes saved",
                                 statefile, contents.file, contents.bytes()));
}

void restore_contents(const Contents &contents, const std::string &statefile,
                      int object_fd, std::uint64_t object_size) {
  std::string path = statefile + "/" + contents.file;
  if (contents.ranges.empty())
    return;
  if (contents.ranges.back().end > whole_pages(object_size))
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile: " + path +
                         " holds data past the object's end");
  sdk::UniqueFd in = open_direct(path, O_RDONLY, 0);
  if (in.get() < 0)
    sdk::throw_errno(sdk::Code::damaged_statefile,
                     "damaged statefile: cannot open " + path, errno);
  ObjectView view(object_fd, whole_pages(object_size), PROT_READ | PROT_WRITE,
                  path);
  std::uint64_t at = 0;
  for (const sdk::Range &r : contents.ranges) {
    read_all(in.get(), view.at(r.start), r.size(), at, path);
    at += r.size();
  }
}

} // namespace cpr::shm
