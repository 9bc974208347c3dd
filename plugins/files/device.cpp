#include "device.hpp"

#include "device_records.hpp"
#include "open_flags.hpp"
#include "terminal.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace cpr::files {
namespace {

const char *device_path(dev_t rdev) {
  if (rdev == makedev(5, 0))
    return "/dev/tty";
  if (rdev == makedev(5, 1))
    return "/dev/console";
  if (major(rdev) != 1)
    return nullptr;
  switch (minor(rdev)) {
  case 3:
    return "/dev/null";
  case 5:
    return "/dev/zero";
  case 7:
    return "/dev/full";
  case 8:
    return "/dev/random";
  case 9:
    return "/dev/urandom";
  }
  return nullptr;
}

} // namespace

bool DeviceHandler::claims(const sdk::OpenFile &file) const {
  return S_ISCHR(file.st.st_mode) && device_path(file.st.st_rdev);
}

sdk::Saved DeviceHandler::save(const sdk::OpenFile &file,
                               sdk::SaveContext &) const {
  Device rec{device_path(file.st.st_rdev), file.flags, file.st.st_rdev, {}};
  if (rec.rdev == makedev(5, 0))
    rec.controlling = controlling_terminal(file.pid);
  return {sdk::to_payload(rec),
          fmt::format("{} ({})", rec.path, describe_flags(rec.flags))};
}

int DeviceHandler::open(const sdk::Record &record,
                        sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<Device>(record.payload);
  // Reopening a terminal must not make it the controlling terminal of a
  // session leader that has none.
  int fd = ::open(rec.path.c_str(), reopen_flags(rec.flags) | O_NOCTTY);
  // Restarted without a controlling terminal (without cpr -j): the
  // terminal /dev/tty was, on the terms of any other terminal fd.
  if (fd < 0 && errno == ENXIO && rec.rdev == makedev(5, 0))
    return reopen_terminal(rec.controlling, rec.flags, ctx);
  if (fd < 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: cannot open " + rec.path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_rdev != rec.rdev) {
    ::close(fd);
    throw sdk::Error(sdk::Code::component_unavailable,
                     "component unavailable: " + rec.path +
                         " is not the device it was");
  }
  return fd;
}

} // namespace cpr::files
