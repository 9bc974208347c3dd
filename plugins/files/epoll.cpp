#include "epoll.hpp"

#include "fd_object_records.hpp"
#include "fdinfo.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <linux/kcmp.h>
#include <map>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::files {
namespace {

constexpr std::uint32_t known_events =
    EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM |
    EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP |
    EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET;

// Whether `fd` of the process is the file the epoll `file` watches as its
// `nth` watch under number `tfd`.
bool is_watched_file(const sdk::OpenFile &file, int fd, int tfd, int nth) {
  kcmp_epoll_slot slot{static_cast<__u32>(file.fd), static_cast<__u32>(tfd),
                       static_cast<__u32>(nth)};
  long same =
      ::syscall(SYS_kcmp, file.pid, file.pid, KCMP_EPOLL_TFD, fd, &slot);
  if (same < 0 && errno != EBADF)
    sdk::throw_errno(fd_error(file, fmt::format("cannot compare the file "
                                                "epoll watches as fd {}",
                                                tfd)),
                     errno);
  return same == 0;
}

// The kernel keeps a watch while its file lives, even once the fd number it
// was added under is closed (or reused for another file): the fd the file
// lives on under, -1 if that number still holds it.
int watched_file_fd(const sdk::OpenFile &file, int tfd, int nth) {
  if (is_watched_file(file, tfd, tfd, nth))
    return -1;
  for (int fd : sdk::fds_of(file.pid))
    if (fd != tfd && is_watched_file(file, fd, tfd, nth))
      return fd;
  throw sdk::Error(fd_error(
      file, fmt::format("epoll watches a file added as fd {}, which the "
                        "process no longer holds under any fd",
                        tfd)));
}

// Adds the watch under its old number, which `via` is put at for the call,
// then given back to what held it (or closed).
void add_under_old_number(int epoll, const EpollTarget &target,
                          epoll_event &event) {
  int held = ::fcntl(target.fd, F_DUPFD_CLOEXEC, 0);
  int held_flags = held >= 0 ? ::fcntl(target.fd, F_GETFD) : 0;
  bool added = ::dup2(target.via, target.fd) == target.fd &&
               ::epoll_ctl(epoll, EPOLL_CTL_ADD, target.fd, &event) == 0;
  int err = errno;
  if (held >= 0) {
    ::dup3(held, target.fd, held_flags & FD_CLOEXEC ? O_CLOEXEC : 0);
    ::close(held);
  } else {
    ::close(target.fd);
  }
  if (!added)
    sdk::throw_errno(fmt::format("cannot watch fd {} (the file of fd {}) with "
                                 "epoll fd {}",
                                 target.fd, target.via, epoll),
                     err);
}

} // namespace

bool EpollHandler::claims(const sdk::OpenFile &file) const {
  return file.path == "anon_inode:[eventpoll]";
}

sdk::Saved EpollHandler::save(const sdk::OpenFile &file,
                              sdk::SaveContext &) const {
  check_flags(file, O_RDWR, O_NONBLOCK);
  Epoll rec{file.pid, file.flags, {}};
  std::map<int, int> seen; // fd number -> watches under it so far
  std::vector<int> fds;
  for (const std::string &line : FdInfo(file).lines_starting("tfd:")) {
    FieldLine fields(file, line);
    EpollTarget target;
    target.fd = static_cast<std::int32_t>(fields.number("tfd:", 10));
    target.events = static_cast<std::uint32_t>(fields.number("events:", 16));
    target.data = fields.number("data:", 16);
    if (target.events & ~known_events)
      throw sdk::Error(fd_error(
          file, fmt::format("epoll watches fd {} for events {:#x}, not "
                            "understood",
                            target.fd, target.events)));
    target.via = watched_file_fd(file, target.fd, seen[target.fd]++);
    rec.targets.push_back(target);
    fds.push_back(target.fd);
  }
  std::sort(fds.begin(), fds.end());
  return {sdk::to_payload(rec),
          fmt::format("epoll, watching fds [{}]{}", fmt::join(fds, ", "),
                      rec.flags & O_NONBLOCK ? ", nonblocking" : "")};
}

int EpollHandler::open(const sdk::Record &record, sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<Epoll>(record.payload);
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0)
    sdk::throw_errno("cannot create an epoll instance", errno);
  if ((rec.flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
    int err = errno;
    ::close(fd);
    sdk::throw_errno("cannot make an epoll instance nonblocking", err);
  }
  return fd;
}

// The watched fds are numbers in the fd table of the process it was saved
// from; another process sharing the instance finds the watches made there.
void EpollHandler::connect(const sdk::Record &record, int fd,
                           sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<Epoll>(record.payload);
  if (::syscall(SYS_getpid) != rec.owner)
    return;
  for (const EpollTarget &target : rec.targets) {
    epoll_event event{};
    event.events = target.events;
    event.data.u64 = target.data;
    if (target.via >= 0) {
      add_under_old_number(fd, target, event);
      continue;
    }
    if (::epoll_ctl(fd, EPOLL_CTL_ADD, target.fd, &event) != 0)
      sdk::throw_errno(fmt::format("cannot watch fd {} with epoll fd {} of "
                                   "process {}",
                                   target.fd, fd, rec.owner),
                       errno);
  }
}

} // namespace cpr::files
