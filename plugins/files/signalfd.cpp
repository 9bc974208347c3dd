#include "signalfd.hpp"

#include "fd_object_records.hpp"
#include "fdinfo.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::files {

bool SignalFdHandler::claims(const sdk::OpenFile &file) const {
  return file.path == "anon_inode:[signalfd]";
}

sdk::Saved SignalFdHandler::save(const sdk::OpenFile &file,
                                 sdk::SaveContext &) const {
  check_flags(file, O_RDWR, O_NONBLOCK);
  SignalFd rec;
  rec.mask = FdInfo(file).number("sigmask:", 16);
  rec.flags = file.flags;
  return {sdk::to_payload(rec),
          fmt::format("signalfd, signals {:016x}{}", rec.mask,
                      rec.flags & O_NONBLOCK ? ", nonblocking" : "")};
}

int SignalFdHandler::open(const sdk::Record &record,
                          sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<SignalFd>(record.payload);
  int flags = SFD_CLOEXEC | (rec.flags & O_NONBLOCK ? SFD_NONBLOCK : 0);
  // The raw call takes the kernel's mask as it was saved; glibc's sigaddset
  // would refuse the signals it keeps for itself (32, 33).
  int fd = static_cast<int>(
      ::syscall(SYS_signalfd4, -1, &rec.mask, sizeof rec.mask, flags));
  if (fd < 0)
    sdk::throw_errno(
        fmt::format("cannot create a signalfd for signals {:016x}", rec.mask),
        errno);
  return fd;
}

} // namespace cpr::files
