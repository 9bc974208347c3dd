#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace cpr::sdk {

std::optional<std::string> try_read_file(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ESRCH)
      return std::nullopt;
    throw_errno("cannot read " + path, errno);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      if (err == ESRCH)
        return std::nullopt;
      throw_errno("cannot read " + path, err);
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string read_file(const std::string &path) {
  auto text = try_read_file(path);
  if (!text)
    throw Error(ENOENT, "cannot read " + path + ": No such file or directory");
  return *text;
}

namespace {

bool parse_mapping_line(const std::string &line, Mapping &m) {
  unsigned long long start, end, offset, inode;
  char perms[8];
  unsigned dev_major, dev_minor;
  int consumed = 0;
  if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu %n", &start,
                  &end, perms, &offset, &dev_major, &dev_minor, &inode,
                  &consumed) < 7)
    return false;
  m = Mapping{};
  m.range = {start, end};
  m.perms = perms;
  m.offset = offset;
  m.inode = inode;
  m.path = line.substr(static_cast<size_t>(consumed));
  return true;
}

std::vector<Mapping> parse_maps(const std::string &text) {
  std::vector<Mapping> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    if (parse_mapping_line(line, m))
      out.push_back(std::move(m));
    else if (line.rfind("VmFlags:", 0) == 0 && !out.empty())
      out.back().vmflags = line.substr(line.find(':') + 2);
  }
  return out;
}

} // namespace

std::vector<Mapping> read_maps(pid_t pid) {
  return parse_maps(read_file("/proc/" + std::to_string(pid) + "/maps"));
}

std::vector<Mapping> read_smaps(pid_t pid) {
  return parse_maps(read_file("/proc/" + std::to_string(pid) + "/smaps"));
}

std::optional<std::string> mapped_file_name(pid_t pid, const Mapping &m) {
  static const std::string deleted = " (deleted)";
  if (m.path.size() <= deleted.size() ||
      m.path.compare(m.path.size() - deleted.size(), deleted.size(), deleted) !=
          0)
    return m.path;
  struct stat st {};
  char object[96];
  std::snprintf(object, sizeof object,
                "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m.range.start,
                m.range.end);
  if (::stat(object, &st) != 0 || st.st_nlink == 0)
    return std::nullopt;
  std::filesystem::path dir =
      std::filesystem::path(m.path.substr(0, m.path.size() - deleted.size()))
          .parent_path();
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) {
    struct stat other {};
    if (::lstat(entry.path().c_str(), &other) == 0 &&
        other.st_ino == st.st_ino && other.st_dev == st.st_dev)
      return entry.path().string();
  }
  return std::nullopt;
}

std::optional<std::uint64_t> find_gap(const std::vector<Range> &taken,
                                      std::uint64_t size, std::uint64_t pad,
                                      bool highest) {
  std::vector<Range> sorted = taken;
  std::sort(sorted.begin(), sorted.end(),
            [](const Range &a, const Range &b) { return a.start < b.start; });
  // Candidates: just above each taken range, and a low default.
  std::vector<std::uint64_t> candidates{0x10000000ULL};
  for (const Range &r : sorted)
    candidates.push_back(r.end + pad);
  if (highest)
    std::reverse(candidates.begin() + 1, candidates.end());
  if (highest)
    std::rotate(candidates.begin(), candidates.begin() + 1, candidates.end());
  for (std::uint64_t a : candidates) {
    Range want{a - std::min(a, pad), a + size + pad};
    if (want.end > task_size)
      continue;
    bool free = std::none_of(sorted.begin(), sorted.end(),
                             [&](const Range &r) { return r.overlaps(want); });
    if (free)
      return a;
  }
  return std::nullopt;
}

std::vector<int> fds_of(pid_t pid) {
  std::vector<int> fds;
  for (const auto &e : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid) + "/fd"))
    fds.push_back(std::stoi(e.path().filename().string()));
  std::sort(fds.begin(), fds.end());
  return fds;
}

namespace {
constexpr unsigned pty_slave_major = 136; // 136 to 143
} // namespace

int pty_slave_index(dev_t rdev) {
  unsigned m = major(rdev);
  return m >= pty_slave_major && m < pty_slave_major + 8
             ? static_cast<int>((m - pty_slave_major) * 256 + minor(rdev))
             : -1;
}

dev_t pty_slave_device(int index) {
  return makedev(pty_slave_major + static_cast<unsigned>(index) / 256,
                 static_cast<unsigned>(index) % 256);
}

int pty_master_index(pid_t pid, int fd) {
  std::string where = std::to_string(pid) + "/fd";
  std::string link = "/proc/" + where + "/" + std::to_string(fd);
  char target[64];
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  std::string path(target, n > 0 ? static_cast<size_t>(n) : 0);
  if (path.size() < 4 || path.compare(path.size() - 4, 4, "ptmx") != 0)
    return -1;
  auto info = try_read_file("/proc/" + std::to_string(pid) + "/fdinfo/" +
                            std::to_string(fd));
  auto at = info ? info->find("tty-index:") : std::string::npos;
  return at == std::string::npos ? -1 : std::stoi(info->substr(at + 10));
}

} // namespace cpr::sdk
