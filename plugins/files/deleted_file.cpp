#include "deleted_file.hpp"

#include "more_records.hpp"
#include "records.hpp"
#include "sparse_copy.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/unique_fd.hpp>

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

std::string directory_of(const std::string &path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

void sync_or_throw(int fd, const std::string &what) {
  if (::fsync(fd) != 0)
    sdk::throw_errno("Checkpoint error: cannot save " + what, errno);
}

// Saves the contents once per inode; a second open file of the same
// deleted file finds the copy made.
std::string save_contents(const sdk::OpenFile &file,
                          const sdk::SaveContext &ctx) {
  std::string dir = ctx.statefile + "/files";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    sdk::throw_errno("Checkpoint error: cannot create " + dir, errno);
  std::string name = fmt::format("files/deleted-{:x}-{:x}",
                                 static_cast<std::uint64_t>(file.st.st_dev),
                                 static_cast<std::uint64_t>(file.st.st_ino));
  std::string copy = ctx.statefile + "/" + name;
  Fd out(::open(copy.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0 && errno == EEXIST)
    return name;
  std::string what = "deleted file " + file.path;
  if (out.get() < 0)
    sdk::throw_errno("Checkpoint error: cannot save " + what, errno);
  Fd in(::open(fmt::format("/proc/{}/fd/{}", file.pid, file.fd).c_str(),
               O_RDONLY | O_CLOEXEC));
  if (in.get() < 0)
    sdk::throw_errno("Checkpoint error: cannot read " + what, errno);
  copy_sparse(in.get(), out.get(), file.st.st_size, what);
  sync_or_throw(out.get(), what);
  Fd parent(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  sync_or_throw(parent.get(), what);
  return name;
}

// An unlinked file in `dir`: O_TMPFILE, or where the filesystem has none,
// a new name unlinked at once.
int unlinked_file_in(const std::string &dir, const std::string &what) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
    std::string name = dir + "/.cpr-deleted-XXXXXX";
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0)
      ::unlink(name.c_str());
  }
  if (fd < 0)
    sdk::throw_errno("component unavailable: cannot make " + what +
                         " again in " + dir,
                     errno);
  return fd;
}

} // namespace

DeletedFileHandler::~DeletedFileHandler() {
  for (auto &[copy, fd] : remade_)
    ::close(fd);
}

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
  std::string dir = directory_of(rec.path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw sdk::Error(fmt::format("component unavailable: the directory {} "
                                 "of deleted file {} is gone",
                                 dir, rec.path));
  remade(ctx.statefile + "/" + rec.copy, rec);
}

int DeletedFileHandler::remade(const std::string &copy,
                               const DeletedFile &rec) const {
  if (auto found = remade_.find(copy); found != remade_.end())
    return found->second;
  std::string what = "deleted file " + rec.path;
  Fd in(::open(copy.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0)
    sdk::throw_errno("damaged statefile: the saved contents of " + what, errno);
  Fd file(unlinked_file_in(directory_of(rec.path), what));
  copy_sparse(in.get(), file.get(), static_cast<off_t>(rec.size), what);
  if (::geteuid() == 0 && ::fchown(file.get(), rec.uid, rec.gid) != 0)
    sdk::throw_errno("cannot give " + what + " its owner", errno);
  if (::fchmod(file.get(), rec.mode) != 0)
    sdk::throw_errno("cannot give " + what + " its mode", errno);
  return remade_[copy] = file.release();
}

int DeletedFileHandler::open(const sdk::Record &record,
                             sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<DeletedFile>(record.payload);
  int inode = remade(ctx.statefile + "/" + rec.copy, rec);
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
