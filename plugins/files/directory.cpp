#include "directory.hpp"

#include "file_records.hpp"
#include "open_flags.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::files {

bool DirectoryHandler::claims(const sdk::OpenFile &file) const {
  return S_ISDIR(file.st.st_mode) && file.path.starts_with("/");
}

sdk::Saved DirectoryHandler::save(const sdk::OpenFile &file,
                                  sdk::SaveContext &) const {
  Directory rec{file.path, file.flags, file.pos};
  try_reopen(file.pid, file.fd, file.path,
             reopen_flags(file.flags) | O_DIRECTORY, S_IFDIR);
  std::string where = (file.flags & O_PATH)
                          ? "O_PATH"
                          : fmt::format("readdir position {}, {}", file.pos,
                                        describe_flags(file.flags));
  return {sdk::to_payload(rec),
          fmt::format("directory {} ({})", file.path, where)};
}

void DirectoryHandler::check(const sdk::Record &record,
                             const sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<Directory>(record.payload);
  struct stat st {};
  if (::stat(rec.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw sdk::Error(sdk::Code::component_unavailable,
                     fmt::format("component unavailable: open directory {} "
                                 "is gone",
                                 rec.path));
}

int DirectoryHandler::open(const sdk::Record &record,
                           sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<Directory>(record.payload);
  int fd = ::open(rec.path.c_str(), reopen_flags(rec.flags) | O_DIRECTORY);
  if (fd < 0)
    sdk::throw_errno(
        sdk::Code::component_unavailable,
        "component unavailable: cannot reopen directory " + rec.path, errno);
  // The position is the filesystem's own cookie (a name hash on ext4, an
  // entry index on tmpfs); SEEK_SET takes it back as it was given.
  if (rec.flags & O_PATH)
    return fd;
  if (off_t at = ::lseek(fd, rec.pos, SEEK_SET); at != rec.pos) {
    int err = at < 0 ? errno : EINVAL;
    ::close(fd);
    sdk::throw_errno(fmt::format("cannot return to position {} in directory "
                                 "{}",
                                 rec.pos, rec.path),
                     err);
  }
  return fd;
}

} // namespace cpr::files
