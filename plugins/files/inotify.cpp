#include "inotify.hpp"

#include "fd_object_records.hpp"
#include "fdinfo.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>

#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <optional>
#include <sstream>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef INOTIFY_IOC_SETNEXTWD
#define INOTIFY_IOC_SETNEXTWD _IOW('I', 0, std::int32_t)
#endif

namespace cpr::files {
namespace {

constexpr std::uint32_t known_mask =
    IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;

// fdinfo prints the kernel's dev_t: 12 bits of major above 20 of minor.
dev_t user_dev(std::uint64_t kernel_dev) {
  return makedev(static_cast<unsigned>(kernel_dev >> 20),
                 static_cast<unsigned>(kernel_dev & 0xfffff));
}

// mountinfo writes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string &field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

// Where the file systems of device `dev` are mounted, as cpr sees them.
std::vector<std::string> mount_points(dev_t dev) {
  std::vector<std::string> out;
  std::istringstream in(sdk::read_file("/proc/self/mountinfo"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, major_minor, root, point;
    fields >> id >> parent >> major_minor >> root >> point;
    if (major_minor == fmt::format("{}:{}", major(dev), minor(dev)))
      out.push_back(unescape(point));
  }
  return out;
}

std::vector<unsigned char> file_handle_of(const sdk::OpenFile &file,
                                          const FieldLine &watch) {
  auto bytes = static_cast<unsigned>(watch.number("fhandle-bytes:", 16));
  std::string hex = watch.text("f_handle:");
  if (hex.size() != 2 * bytes)
    throw sdk::Error(fd_error(file, "fdinfo f_handle: has the wrong length"));
  std::vector<unsigned char> buffer(sizeof(file_handle) + bytes);
  auto *handle = reinterpret_cast<file_handle *>(buffer.data());
  handle->handle_bytes = bytes;
  handle->handle_type = static_cast<int>(watch.number("fhandle-type:", 16));
  for (unsigned i = 0; i < bytes; ++i)
    handle->f_handle[i] = static_cast<unsigned char>(
        parse_number(file, hex.substr(2 * i, 2), 16, "f_handle:"));
  return buffer;
}

// The path of the watched inode: its file handle opened on a mount of its
// file system, then the path /proc gives that fd. Checked by stat, since a
// handle may come back as a dentry cut off from its directory.
std::optional<std::string> path_by_handle(std::vector<unsigned char> &handle,
                                          dev_t dev, ino_t ino) {
  for (const std::string &point : mount_points(dev)) {
    UniqueFd mount(::open(point.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (mount.get() < 0)
      continue;
    UniqueFd watched(::open_by_handle_at(
        mount.get(), reinterpret_cast<file_handle *>(handle.data()),
        O_PATH | O_CLOEXEC));
    if (watched.get() < 0)
      continue;
    std::error_code ec;
    auto path = std::filesystem::read_symlink(
        fmt::format("/proc/self/fd/{}", watched.get()), ec);
    struct stat st {};
    if (!ec && ::lstat(path.c_str(), &st) == 0 && st.st_dev == dev &&
        st.st_ino == ino)
      return path.string();
  }
  return std::nullopt;
}

InotifyWatch watch_of(const sdk::OpenFile &file, const std::string &line) {
  FieldLine fields(file, line);
  InotifyWatch watch;
  watch.wd = static_cast<std::int32_t>(fields.number("wd:", 16));
  watch.mask = static_cast<std::uint32_t>(fields.number("mask:", 16));
  if (watch.mask & ~known_mask)
    throw sdk::Error(fd_error(
        file, fmt::format("inotify watch {} has mask {:#x}, not understood",
                          watch.wd, watch.mask)));
  dev_t dev = user_dev(fields.number("sdev:", 16));
  auto ino = static_cast<ino_t>(fields.number("ino:", 16));
  auto handle = file_handle_of(file, fields);
  auto path = path_by_handle(handle, dev, ino);
  if (!path)
    throw sdk::Error(fd_error(
        file, fmt::format("inotify watch {} is on inode {} of device {}:{}, "
                          "whose path cannot be found",
                          watch.wd, ino, major(dev), minor(dev))));
  watch.path = *path;
  return watch;
}

// Queued events cannot be put back into a new inotify instance.
void refuse_unread_events(const sdk::OpenFile &file) {
  UniqueFd inotify = borrow_fd(file);
  int queued = 0;
  if (::ioctl(inotify.get(), FIONREAD, &queued) != 0)
    sdk::throw_errno(fd_error(file, "cannot count its events"), errno);
  if (queued > 0)
    throw sdk::Error(fd_error(
        file, fmt::format("{} bytes of inotify events are not read yet, and "
                          "could not be put back",
                          queued)));
}

void add_watch(int fd, const InotifyWatch &watch) {
  if (::ioctl(fd, INOTIFY_IOC_SETNEXTWD, watch.wd) != 0)
    sdk::throw_errno(fmt::format("cannot number inotify watch {}", watch.wd),
                     errno);
  int wd =
      ::inotify_add_watch(fd, watch.path.c_str(), watch.mask | IN_DONT_FOLLOW);
  if (wd < 0 && errno == ENOENT)
    throw sdk::Error(
        sdk::Code::component_unavailable,
        fmt::format("component unavailable: {}, watched by inotify, is gone",
                    watch.path));
  if (wd < 0)
    sdk::throw_errno("cannot watch " + watch.path, errno);
  if (wd != watch.wd)
    throw sdk::Error(fmt::format("cannot give the inotify watch of {} its "
                                 "number {} (got {})",
                                 watch.path, watch.wd, wd));
}

} // namespace

bool InotifyHandler::claims(const sdk::OpenFile &file) const {
  return file.path == "anon_inode:inotify";
}

sdk::Saved InotifyHandler::save(const sdk::OpenFile &file,
                                sdk::SaveContext &) const {
  check_flags(file, O_RDONLY, O_NONBLOCK);
  refuse_unread_events(file);
  Inotify rec;
  rec.flags = file.flags;
  std::vector<std::string> watches;
  for (const std::string &line : FdInfo(file).lines_starting("inotify ")) {
    rec.watches.push_back(watch_of(file, line));
    watches.push_back(fmt::format("watch {} on {}", rec.watches.back().wd,
                                  rec.watches.back().path));
  }
  return {sdk::to_payload(rec),
          fmt::format("inotify, {}{}",
                      watches.empty()
                          ? "no watches"
                          : fmt::format("{}", fmt::join(watches, ", ")),
                      rec.flags & O_NONBLOCK ? ", nonblocking" : "")};
}

void InotifyHandler::check(const sdk::Record &record,
                           const sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<Inotify>(record.payload);
  for (const InotifyWatch &watch : rec.watches) {
    struct stat st {};
    if (::lstat(watch.path.c_str(), &st) != 0)
      throw sdk::Error(
          sdk::Code::component_unavailable,
          fmt::format("component unavailable: {}, watched by inotify, is gone",
                      watch.path));
  }
}

int InotifyHandler::open(const sdk::Record &record,
                         sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<Inotify>(record.payload);
  int fd =
      ::inotify_init1(IN_CLOEXEC | (rec.flags & O_NONBLOCK ? IN_NONBLOCK : 0));
  if (fd < 0)
    sdk::throw_errno("cannot create an inotify instance", errno);
  try {
    for (const InotifyWatch &watch : rec.watches)
      add_watch(fd, watch);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return fd;
}

} // namespace cpr::files
