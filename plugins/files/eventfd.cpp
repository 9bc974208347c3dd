#include "eventfd.hpp"

#include "fd_object_records.hpp"
#include "fdinfo.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace cpr::files {

bool EventFdHandler::claims(const sdk::OpenFile &file) const {
  return file.path == "anon_inode:[eventfd]";
}

sdk::Saved EventFdHandler::save(const sdk::OpenFile &file,
                                sdk::SaveContext &) const {
  check_flags(file, O_RDWR, O_NONBLOCK);
  FdInfo info(file);
  EventFd rec;
  rec.count = info.number("eventfd-count:", 16);
  // Older kernels do not print it, and it is not in f_flags: without it the
  // checkpoint fails rather than guess.
  rec.semaphore = info.number("eventfd-semaphore:", 10) != 0;
  rec.flags = file.flags;
  return {sdk::to_payload(rec),
          fmt::format("eventfd, count {}{}{}", rec.count,
                      rec.semaphore ? ", semaphore" : "",
                      rec.flags & O_NONBLOCK ? ", nonblocking" : "")};
}

int EventFdHandler::open(const sdk::Record &record,
                         sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<EventFd>(record.payload);
  int flags = EFD_CLOEXEC | (rec.semaphore ? EFD_SEMAPHORE : 0) |
              (rec.flags & O_NONBLOCK ? EFD_NONBLOCK : 0);
  // eventfd() takes an unsigned int; a write() adds the whole 64-bit count.
  int fd = ::eventfd(0, flags);
  if (fd < 0)
    sdk::throw_errno("cannot create an eventfd", errno);
  if (rec.count != 0 &&
      ::write(fd, &rec.count, sizeof rec.count) != sizeof rec.count) {
    int err = errno;
    ::close(fd);
    sdk::throw_errno(fmt::format("cannot set an eventfd to {}", rec.count),
                     err);
  }
  return fd;
}

} // namespace cpr::files
