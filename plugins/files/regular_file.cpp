#include "regular_file.hpp"

#include "file_records.hpp"
#include "open_flags.hpp"
#include "saved_copy.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::files {
namespace {

constexpr std::pair<Disposition, const char *> words[] = {
    {Disposition::merge, "MERGE"},
    {Disposition::ignore, "IGNORE"},
    {Disposition::append, "APPEND"},
    {Disposition::replace, "REPLACE"},
    {Disposition::substitute, "SUBSTITUTE"}};

const char *name_of(Disposition d) {
  for (auto [value, word] : words)
    if (value == d)
      return word;
  return "?";
}

// What the attribute file says of it: MERGE unless it says otherwise.
Disposition disposition_for(const std::string &path,
                            const sdk::SaveContext &ctx) {
  std::string said = ctx.policy("FILE", path);
  for (auto [value, word] : words)
    if (said == word)
      return value;
  return Disposition::merge;
}

Disposition disposition_of(const RegularFile &rec) {
  if (rec.disposition > static_cast<std::uint8_t>(Disposition::substitute))
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile: open file {} has an "
                                 "unknown disposition {}",
                                 rec.path, rec.disposition));
  return static_cast<Disposition>(rec.disposition);
}

bool saves_copy(Disposition d) {
  return d == Disposition::replace || d == Disposition::substitute;
}

bool writable(std::uint32_t flags) {
  return (flags & O_ACCMODE) == O_WRONLY || (flags & O_ACCMODE) == O_RDWR;
}

// The saved path named a regular file, not a link: a link, FIFO or device
// put in its place is refused (and a FIFO does not block the open).
int open_or_throw(const std::string &path, int flags) {
  int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: cannot reopen " + path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || (!S_ISREG(st.st_mode) && !(flags & O_PATH))) {
    ::close(fd);
    throw sdk::Error(sdk::Code::component_unavailable,
                     "component unavailable: cannot reopen " + path +
                         ": it is no longer a regular file");
  }
  if (!(flags & (O_NONBLOCK | O_PATH)))
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

void seek_or_throw(int fd, off_t offset, int whence, const std::string &path) {
  if (::lseek(fd, offset, whence) < 0) {
    int err = errno;
    ::close(fd);
    sdk::throw_errno("cannot seek in " + path, err);
  }
}

// SUBSTITUTE: an unlinked file with the saved contents, so that what the
// program writes changes neither the original nor the statefile.
int open_substitute(const RegularFile &rec, const std::string &copy) {
  std::string dir = copy.substr(0, copy.rfind('/'));
  int scratch = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (scratch < 0)
    sdk::throw_errno("cannot make a substitute for " + rec.path + " in " + dir,
                     errno);
  std::string self = fmt::format("/proc/self/fd/{}", scratch);
  try {
    copy_into(copy, scratch, rec.path);
  } catch (...) {
    ::close(scratch);
    throw;
  }
  // Reopened for the saved access mode and flags.
  int fd = ::open(self.c_str(), reopen_flags(rec.flags));
  int err = errno;
  ::close(scratch);
  if (fd < 0)
    sdk::throw_errno("cannot open the substitute for " + rec.path, err);
  return fd;
}

} // namespace

bool RegularFileHandler::claims(const sdk::OpenFile &file) const {
  const std::string deleted = " (deleted)";
  bool is_deleted = file.path.size() > deleted.size() &&
                    file.path.compare(file.path.size() - deleted.size(),
                                      deleted.size(), deleted) == 0;
  return S_ISREG(file.st.st_mode) && !file.path.empty() &&
         file.path[0] == '/' && !is_deleted;
}

sdk::Saved RegularFileHandler::save(const sdk::OpenFile &file,
                                    sdk::SaveContext &ctx) const {
  Disposition d = disposition_for(file.path, ctx);
  RegularFile rec{file.path,       file.flags,
                  file.pos,        static_cast<std::uint8_t>(d),
                  file.st.st_mode, {}};
  rec.atime_sec = file.st.st_atim.tv_sec;
  rec.atime_nsec = file.st.st_atim.tv_nsec;
  rec.mtime_sec = file.st.st_mtim.tv_sec;
  rec.mtime_nsec = file.st.st_mtim.tv_nsec;
  if (d != Disposition::substitute) // the others open the path again
    try_reopen(file.pid, file.fd, file.path,
               reopen_flags(file.flags) | O_NOFOLLOW, S_IFREG);
  if (saves_copy(d))
    rec.copy = save_copy(file, ctx);
  return {sdk::to_payload(rec),
          fmt::format("{} (offset {}, {}, {})", file.path, file.pos,
                      describe_flags(file.flags), name_of(d))};
}

void RegularFileHandler::check(const sdk::Record &record,
                               const sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<RegularFile>(record.payload);
  Disposition d = disposition_of(rec);
  struct stat st {};
  if (saves_copy(d) &&
      ::stat(copy_path(rec.copy, ctx.statefile).c_str(), &st) != 0)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile: the saved copy {} of "
                                 "{} is missing",
                                 copy_path(rec.copy, ctx.statefile), rec.path));
  // REPLACE makes the file again; SUBSTITUTE does without it.
  if (!saves_copy(d) && ::stat(rec.path.c_str(), &st) != 0)
    throw sdk::Error(sdk::Code::component_unavailable,
                     fmt::format("component unavailable: open file {} is "
                                 "gone",
                                 rec.path));
}

int RegularFileHandler::open(const sdk::Record &record,
                             sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<RegularFile>(record.payload);
  int flags = reopen_flags(rec.flags);
  switch (disposition_of(rec)) {
  case Disposition::ignore:
    return open_or_throw(rec.path, flags | (writable(rec.flags) ? O_TRUNC : 0));
  case Disposition::append: {
    int fd = open_or_throw(rec.path, flags);
    seek_or_throw(fd, 0, SEEK_END, rec.path);
    return fd;
  }
  case Disposition::substitute: {
    int fd = open_substitute(rec, copy_path(rec.copy, ctx.statefile));
    seek_or_throw(fd, rec.pos, SEEK_SET, rec.path);
    return fd;
  }
  case Disposition::replace: {
    // As the file was: its contents and its times (0: not saved).
    const timespec times[2] = {{rec.atime_sec, rec.atime_nsec},
                               {rec.mtime_sec, rec.mtime_nsec}};
    bool saved_times = rec.mtime_sec != 0 || rec.mtime_nsec != 0;
    put_back(copy_path(rec.copy, ctx.statefile), rec.path, rec.mode,
             saved_times ? times : nullptr);
    [[fallthrough]];
  }
  case Disposition::merge:
    break;
  }
  int fd = open_or_throw(rec.path, flags);
  if (!(rec.flags & O_PATH))
    seek_or_throw(fd, rec.pos, SEEK_SET, rec.path);
  return fd;
}

} // namespace cpr::files
