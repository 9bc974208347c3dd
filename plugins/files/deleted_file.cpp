#include "deleted_file.hpp"

#include "file_records.hpp"
#include "open_flags.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/unique_fd.hpp>
#include <cpr/sdk/unlinked.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace cpr::files {
namespace {

const std::string deleted_suffix = " (deleted)";

using Fd = sdk::UniqueFd;

// Saves the contents once per inode; a second open file of the same
// deleted file (or a mapping of it) finds the copy made.
std::string save_contents(const sdk::OpenFile &file,
                          const sdk::SaveContext &ctx) {
  std::string name = sdk::unlinked_copy_name("deleted", file.st);
  std::string what = "deleted file " + file.path;
  Fd in(::open(fmt::format("/proc/{}/fd/{}", file.pid, file.fd).c_str(),
               O_RDONLY | O_CLOEXEC));
  if (in.get() < 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot read " + what, errno);
  sdk::save_unlinked(in.get(), static_cast<std::uint64_t>(file.st.st_size),
                     ctx.statefile, name, what);
  return name;
}

} // namespace

bool DeletedFileHandler::claims(const sdk::OpenFile &file) const {
  // memfd_create and memfd_secret files look deleted, but never had a name.
  return S_ISREG(file.st.st_mode) && file.st.st_nlink == 0 &&
         file.path.starts_with("/") && file.path.ends_with(deleted_suffix) &&
         !file.path.starts_with("/memfd:") &&
         !file.path.starts_with("/secretmem");
}

sdk::Saved DeletedFileHandler::save(const sdk::OpenFile &file,
                                    sdk::SaveContext &ctx) const {
  DeletedFile rec;
  rec.path = file.path.substr(0, file.path.size() - deleted_suffix.size());
  rec.flags = file.flags;
  rec.pos = file.pos;
  // Reopened as the restart reopens the file it makes again.
  try_reopen(file.pid, file.fd,
             fmt::format("/proc/{}/fd/{}", file.pid, file.fd),
             reopen_flags(file.flags), S_IFREG);
  rec.copy = save_contents(file, ctx);
  rec.size = static_cast<std::uint64_t>(file.st.st_size);
  rec.mode = file.st.st_mode & 07777;
  rec.uid = file.st.st_uid;
  rec.gid = file.st.st_gid;
  return {sdk::to_payload(rec),
          fmt::format("deleted file {} (offset {}, {}, {} bytes saved)",
                      rec.path, rec.pos, describe_flags(rec.flags), rec.size)};
}

void DeletedFileHandler::check(const sdk::Record &record,
                               const sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<DeletedFile>(record.payload);
  remade(ctx, rec);
}

int DeletedFileHandler::remade(const sdk::RestoreContext &ctx,
                               const DeletedFile &rec) const {
  const std::string &statefile = ctx.statefile;
  return sdk::remade_file(ctx, statefile + "/" + rec.copy, [&] {
    std::string what = "deleted file " + rec.path;
    Fd file(sdk::unlinked_file_near(rec.path, what));
    sdk::fill_unlinked(file.get(), statefile, rec.copy, rec.size, rec.mode,
                       rec.uid, rec.gid, what);
    return file.release();
  });
}

int DeletedFileHandler::open(const sdk::Record &record,
                             sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<DeletedFile>(record.payload);
  int inode = remade(ctx, rec);
  int fd = ::open(fmt::format("/proc/self/fd/{}", inode).c_str(),
                  reopen_flags(rec.flags));
  if (fd < 0)
    sdk::throw_errno("cannot reopen deleted file " + rec.path, errno);
  if (off_t at = ::lseek(fd, rec.pos, SEEK_SET); at != rec.pos) {
    int err = at < 0 ? errno : EINVAL;
    ::close(fd);
    sdk::throw_errno("cannot seek in deleted file " + rec.path, err);
  }
  return fd;
}

} // namespace cpr::files
