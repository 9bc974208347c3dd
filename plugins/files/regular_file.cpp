#include "regular_file.hpp"

#include "records.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::files {

bool RegularFileHandler::claims(const sdk::OpenFile &file) const {
  const std::string deleted = " (deleted)";
  bool is_deleted = file.path.size() > deleted.size() &&
                    file.path.compare(file.path.size() - deleted.size(),
                                      deleted.size(), deleted) == 0;
  return S_ISREG(file.st.st_mode) && !file.path.empty() &&
         file.path[0] == '/' && !is_deleted;
}

sdk::Saved RegularFileHandler::save(const sdk::OpenFile &file,
                                    sdk::SaveContext &) const {
  RegularFile rec{file.path, file.flags, file.pos};
  return {sdk::to_payload(rec),
          fmt::format("{} (offset {}, {})", file.path, file.pos,
                      describe_flags(file.flags))};
}

void RegularFileHandler::check(const sdk::Record &record,
                               const sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<RegularFile>(record.payload);
  struct stat st {};
  if (::stat(rec.path.c_str(), &st) != 0)
    throw sdk::Error(fmt::format("component unavailable: open file {} is "
                                 "gone",
                                 rec.path));
}

int RegularFileHandler::open(const sdk::Record &record,
                             sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<RegularFile>(record.payload);
  int fd = ::open(rec.path.c_str(), reopen_flags(rec.flags));
  if (fd < 0)
    sdk::throw_errno("component unavailable: cannot reopen " + rec.path,
                     errno);
  if (!(rec.flags & O_PATH) && ::lseek(fd, rec.pos, SEEK_SET) < 0) {
    int err = errno;
    ::close(fd);
    sdk::throw_errno("cannot seek in " + rec.path, err);
  }
  return fd;
}

} // namespace cpr::files
