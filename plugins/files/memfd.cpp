#include "memfd.hpp"

#include "fd_object_records.hpp"
#include "fdinfo.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/sparse_copy.hpp>
#include <cpr/sdk/unlinked.hpp>

#include <algorithm>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <vector>

#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

namespace cpr::files {
namespace {

const std::string prefix = "/memfd:";
const std::string deleted = " (deleted)";
constexpr unsigned known_seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
                                 F_SEAL_WRITE | F_SEAL_FUTURE_WRITE |
                                 F_SEAL_EXEC;
std::string name_of(const std::string &path) {
  return path.substr(prefix.size(),
                     path.size() - prefix.size() - deleted.size());
}

std::string describe_seals(std::uint32_t seals) {
  std::vector<std::string> names;
  const std::pair<unsigned, const char *> all[] = {
      {F_SEAL_SEAL, "seal"},
      {F_SEAL_SHRINK, "shrink"},
      {F_SEAL_GROW, "grow"},
      {F_SEAL_WRITE, "write"},
      {F_SEAL_FUTURE_WRITE, "future-write"},
      {F_SEAL_EXEC, "exec"}};
  for (auto [bit, name] : all)
    if (seals & bit)
      names.push_back(name);
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ","));
}

void write_all(int fd, const std::string &bytes, const std::string &name) {
  for (std::uint64_t at = 0; at < bytes.size();) {
    ssize_t n = ::pwrite(fd, bytes.data() + at, bytes.size() - at,
                         static_cast<off_t>(at));
    if (n <= 0)
      sdk::throw_errno("cannot fill memfd " + name, errno);
    at += static_cast<std::uint64_t>(n);
  }
}

void fill(int fd, const MemFd &rec, const sdk::RestoreContext &ctx) {
  if (rec.contents_file.empty()) {
    if (::ftruncate(fd, static_cast<off_t>(rec.size)) != 0)
      sdk::throw_errno("cannot size memfd " + rec.name, errno);
    write_all(fd, rec.contents, rec.name);
    return;
  }
  std::string path = ctx.statefile + "/" + rec.contents_file;
  UniqueFd saved(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (saved.get() < 0)
    sdk::throw_errno(sdk::Code::damaged_statefile,
                     "damaged statefile: cannot open " + path, errno);
  sdk::copy_sparse(saved.get(), fd, static_cast<off_t>(rec.size),
                   "memfd " + rec.name);
}

// The mode, owner and seals it had; then its flags and offset.
void finish(UniqueFd &fd, const MemFd &rec, bool sealable) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 ||
      ((st.st_mode & 07777) != rec.mode && ::fchmod(fd.get(), rec.mode) != 0) ||
      ::fchown(fd.get(), rec.uid, rec.gid) != 0)
    sdk::throw_errno("cannot give memfd " + rec.name + " its mode and owner",
                     errno);
  if (sealable && rec.seals != 0 &&
      ::fcntl(fd.get(), F_ADD_SEALS, rec.seals) != 0)
    sdk::throw_errno("cannot seal memfd " + rec.name, errno);
  if ((rec.flags & O_ACCMODE) != O_RDWR) {
    std::string self = fmt::format("/proc/self/fd/{}", fd.get());
    UniqueFd reopened(::open(
        self.c_str(), static_cast<int>(rec.flags & O_ACCMODE) | O_CLOEXEC));
    if (reopened.get() < 0)
      sdk::throw_errno("cannot reopen memfd " + rec.name, errno);
    fd = std::move(reopened);
  }
  int status = static_cast<int>(rec.flags & (O_APPEND | O_NONBLOCK));
  if ((status != 0 && ::fcntl(fd.get(), F_SETFL, status) != 0) ||
      ::lseek(fd.get(), rec.pos, SEEK_SET) < 0)
    sdk::throw_errno("cannot give memfd " + rec.name + " its flags and offset",
                     errno);
}

// Sealed against writes to come (F_SEAL_FUTURE_WRITE) while mapped writable
// by the set: sealed so (and then F_SEAL_SEAL) once the restart has mapped
// it again everywhere, in cpr, which keeps the memfd for the restart.
class SealLater final : public sdk::Session {
public:
  void add(int fd, std::uint32_t seals) { memfds_.emplace_back(fd, seals); }
  void restart_over(bool succeeded) override {
    for (auto [fd, seals] : memfds_)
      if (succeeded)
        ::fcntl(fd, F_ADD_SEALS, seals);
  }

private:
  std::vector<std::pair<int, std::uint32_t>> memfds_;
};

// Made in cpr, once for all its open files and mappings (sdk/unlinked.hpp):
// a mapping made first leaves sealing possible, so the seals go on here.
int remade(const MemFd &rec, const sdk::RestoreContext &ctx,
           SealLater &seal_later) {
  const std::string &statefile = ctx.statefile;
  std::string what = "memfd " + rec.name;
  int fd = sdk::remade_file(ctx, statefile + "/" + rec.inode_copy, [&] {
    UniqueFd made(
        ::memfd_create(rec.name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (made.get() < 0)
      sdk::throw_errno("cannot create " + what, errno);
    sdk::fill_unlinked(made.get(), statefile, rec.inode_copy, rec.size,
                       rec.mode, rec.uid, rec.gid, what);
    return made.release();
  });
  std::uint32_t now = rec.seals & F_SEAL_FUTURE_WRITE
                          ? rec.seals & ~(F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)
                          : rec.seals;
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals >= 0 && static_cast<std::uint32_t>(seals) != now) {
    if (::fcntl(fd, F_ADD_SEALS, now) != 0)
      sdk::throw_errno("cannot seal " + what, errno);
    if (now != rec.seals)
      seal_later.add(fd, rec.seals);
  }
  return fd;
}

// An open file of its own on the memfd, with the saved flags and offset.
int reopened(int memfd, const MemFd &rec) {
  std::string self = fmt::format("/proc/self/fd/{}", memfd);
  UniqueFd fd(::open(self.c_str(),
                     static_cast<int>(rec.flags & O_ACCMODE) | O_CLOEXEC));
  if (fd.get() < 0)
    sdk::throw_errno("cannot reopen memfd " + rec.name, errno);
  int status = static_cast<int>(rec.flags & (O_APPEND | O_NONBLOCK));
  if ((status != 0 && ::fcntl(fd.get(), F_SETFL, status) != 0) ||
      ::lseek(fd.get(), rec.pos, SEEK_SET) < 0)
    sdk::throw_errno("cannot give memfd " + rec.name + " its flags and offset",
                     errno);
  return fd.release();
}

} // namespace

bool MemFdHandler::claims(const sdk::OpenFile &file) const {
  const std::string &path = file.path;
  if (!S_ISREG(file.st.st_mode) || file.st.st_nlink != 0 ||
      path.size() < prefix.size() + deleted.size() ||
      path.compare(0, prefix.size(), prefix) != 0 ||
      path.compare(path.size() - deleted.size(), deleted.size(), deleted) != 0)
    return false;
  struct statfs fs {};
  std::string link = fmt::format("/proc/{}/fd/{}", file.pid, file.fd);
  return ::statfs(link.c_str(), &fs) == 0 &&
         (fs.f_type == TMPFS_MAGIC || fs.f_type == HUGETLBFS_MAGIC);
}

sdk::Saved MemFdHandler::save(const sdk::OpenFile &file,
                              sdk::SaveContext &ctx) const {
  check_flags(file, file.flags & O_ACCMODE,
              O_APPEND | O_NONBLOCK | kernel_o_largefile);
  std::string link = fmt::format("/proc/{}/fd/{}", file.pid, file.fd);
  struct statfs fs {};
  if (::statfs(link.c_str(), &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC)
    throw sdk::Error(fd_error(file, "a hugetlb memfd cannot be saved"));
  UniqueFd memfd(::open(link.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (memfd.get() < 0 || ::fstat(memfd.get(), &st) != 0)
    sdk::throw_errno(fd_error(file, "cannot open the memfd"), errno);
  int seals = ::fcntl(memfd.get(), F_GET_SEALS);
  if (seals < 0 || (static_cast<unsigned>(seals) & ~known_seals))
    throw sdk::Error(
        fd_error(file, fmt::format("seals {:#x} not understood", seals)));
  MemFd rec{name_of(file.path),
            file.flags,
            file.pos,
            st.st_mode & 07777u,
            st.st_uid,
            st.st_gid,
            static_cast<std::uint32_t>(seals),
            static_cast<std::uint64_t>(st.st_size),
            {},
            {},
            {}};
  rec.inode_copy = sdk::unlinked_copy_name("memfd", st);
  sdk::save_unlinked(memfd.get(), rec.size, ctx.statefile, rec.inode_copy,
                     "memfd " + rec.name);
  return {sdk::to_payload(rec),
          fmt::format("memfd {}, {} bytes, seals {} (offset {})", rec.name,
                      rec.size, describe_seals(rec.seals), rec.pos)};
}

void MemFdHandler::check(const sdk::Record &record,
                         const sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<MemFd>(record.payload);
  if (!rec.inode_copy.empty()) {
    remade(rec, ctx, ctx.session<SealLater>(*this));
    return;
  }
  if (rec.contents_file.empty())
    return;
  struct stat st {};
  std::string path = ctx.statefile + "/" + rec.contents_file;
  if (::stat(path.c_str(), &st) != 0 ||
      static_cast<std::uint64_t>(st.st_size) != rec.size)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile {}: the contents of "
                                 "memfd {} are missing or cut short ({})",
                                 ctx.statefile, rec.name, path));
}

// Sealing stays possible unless it was never allowed (seals are then
// exactly F_SEAL_SEAL, as when it was sealed with only that: same thing).
int MemFdHandler::open(const sdk::Record &record,
                       sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<MemFd>(record.payload);
  if (!rec.inode_copy.empty())
    return reopened(remade(rec, ctx, ctx.session<SealLater>(*this)), rec);
  bool sealable = rec.seals != F_SEAL_SEAL;
  UniqueFd fd(::memfd_create(rec.name.c_str(),
                             MFD_CLOEXEC | (sealable ? MFD_ALLOW_SEALING : 0)));
  if (fd.get() < 0)
    sdk::throw_errno("cannot create memfd " + rec.name, errno);
  fill(fd.get(), rec, ctx);
  finish(fd, rec, sealable);
  return fd.release();
}

} // namespace cpr::files
