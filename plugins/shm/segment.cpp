#include "segment.hpp"

#include "contents.hpp"

#include "ipc_space.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/magic.h>
#include <set>
#include <sys/shm.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace cpr::shm {
namespace {

constexpr std::uint64_t page = 4096;

std::uint64_t whole_pages(std::uint64_t size) {
  return (size + page - 1) / page * page;
}

// The segment's memory object, opened through an attachment of cpr's own
// (the kernel offers no other way to its file).
sdk::UniqueFd open_segment(int id, std::uint64_t size, bool write) {
  void *at = ::shmat(id, nullptr, write ? 0 : SHM_RDONLY);
  if (at == reinterpret_cast<void *>(-1))
    sdk::throw_errno(
        sdk::Code::checkpoint_error,
        fmt::format("Checkpoint error: cannot attach System V shared memory "
                    "id {}",
                    id),
        errno);
  auto start = reinterpret_cast<std::uint64_t>(at);
  std::string path = fmt::format("/proc/self/map_files/{:x}-{:x}", start,
                                 start + whole_pages(size));
  sdk::UniqueFd fd(
      ::open(path.c_str(), (write ? O_RDWR : O_RDONLY) | O_CLOEXEC));
  int err = errno;
  ::shmdt(at);
  if (fd.get() < 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot open System V "
                                 "shared memory id {}",
                                 id),
                     err);
  struct statfs fs {};
  if (::fstatfs(fd.get(), &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC)
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: System V shared memory "
                                 "id {} is in huge pages (SHM_HUGETLB), "
                                 "which this cpr does not carry",
                                 id));
  return fd;
}

shmid_ds stat_segment(int id) {
  shmid_ds ds{};
  if (::shmctl(id, IPC_STAT, &ds) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot read System V "
                                 "shared memory id {}",
                                 id),
                     errno);
  return ds;
}

// The segments the set attaches, and with IPC ALL those of its owner that
// nothing attaches (a running program's are its own business).
std::set<int> segments_of(const sdk::SaveContext &ctx) {
  std::set<int> ids;
  for (pid_t pid : ctx.processes)
    for (const sdk::Mapping &m : sdk::read_maps(pid))
      if (m.path.rfind("/SYSV", 0) == 0)
        ids.insert(static_cast<int>(m.inode)); // the inode is the shmid
  if (ctx.options.flag("shm.all_of_owner"))
    for (int id : list_ids(IpcKind::shm)) {
      shmid_ds ds{};
      if (::shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_perm.uid == ctx.owner &&
          ds.shm_nattch == 0)
        ids.insert(id);
    }
  return ids;
}

sdk::Saved save_segment(int id, const sdk::SaveContext &ctx) {
  shmid_ds ds = stat_segment(id);
  sdk::UniqueFd fd = open_segment(id, ds.shm_segsz, false);
  Segment s{perm_of(id, ds.shm_perm), ds.shm_segsz,
            save_contents(fd.get(), ds.shm_segsz, ctx.statefile,
                          fmt::format("shm-{}", id))};
  std::string summary = fmt::format(
      "{}, {} bytes, {} KiB saved{}", describe(IpcKind::shm, s.perm), s.size,
      s.contents.bytes() / 1024,
      s.perm.mode & SHM_DEST ? ", marked for removal" : "");
  return {sdk::to_payload(s), summary};
}

// The segment at the saved id, if it is the one the set left behind and
// nothing attaches it: the restart takes it over. Any other object there
// fails the restart.
bool left_behind(const Segment &s) {
  shmid_ds now{};
  if (::shmctl(s.perm.id, IPC_STAT, &now) != 0)
    return false;
  if (!same_owner_and_key(s.perm, now.shm_perm) || now.shm_segsz != s.size ||
      (now.shm_perm.mode & SHM_DEST))
    id_taken(IpcKind::shm, s.perm,
             fmt::format("another segment (key {:#010x}, {} bytes)",
                         static_cast<std::uint32_t>(now.shm_perm.__key),
                         now.shm_segsz));
  if (now.shm_nattch > 0)
    id_taken(IpcKind::shm, s.perm,
             fmt::format("the segment the set left behind, which {} "
                         "process(es) outside the set attach",
                         now.shm_nattch));
  return true;
}

} // namespace

std::vector<sdk::Saved> SegmentHandler::save(sdk::SaveContext &ctx) const {
  ipc_space(ctx.sessions).enter_set_namespace(ctx);
  std::vector<sdk::Saved> out;
  for (int id : segments_of(ctx))
    out.push_back(save_segment(id, ctx));
  return out;
}

void SegmentHandler::check(const sdk::Record &record,
                           const sdk::RestoreContext &ctx) const {
  check_contents(sdk::from_payload<Segment>(record.payload).contents,
                 ctx.statefile);
}

void SegmentHandler::restore(const sdk::Record &record,
                             sdk::RestoreContext &ctx) const {
  ipc_space(ctx.sessions).make(*this, record, ctx, [&] { make(record, ctx); });
}

void SegmentHandler::make(const sdk::Record &record,
                          sdk::RestoreContext &ctx) const {
  auto s = sdk::from_payload<Segment>(record.payload);
  auto &made = ctx.session<MadeObjects<IpcKind::shm>>(*this);
  bool taken_over = left_behind(s);
  if (!taken_over) {
    made.ids.push_back(make_with_id(IpcKind::shm, s.perm, [&] {
      return ::shmget(s.perm.key, s.size,
                      IPC_CREAT | IPC_EXCL |
                          static_cast<int>(s.perm.mode & 0777));
    }));
    set_owner(IpcKind::shm, s.perm, [&](ipc_perm &p) {
      shmid_ds ds{};
      ds.shm_perm = p;
      return ::shmctl(s.perm.id, IPC_SET, &ds);
    });
  }
  sdk::UniqueFd fd = open_segment(s.perm.id, s.size, true);
  // What the segment holds now gives way to what it held.
  if (taken_over &&
      ::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                  static_cast<off_t>(whole_pages(s.size))) != 0)
    sdk::throw_errno("cannot clear " + describe(IpcKind::shm, s.perm), errno);
  restore_contents(s.contents, ctx.statefile, fd.get(), s.size);
  if ((s.perm.mode & SHM_LOCKED) && ::shmctl(s.perm.id, SHM_LOCK, nullptr) != 0)
    sdk::throw_errno("cannot lock " + describe(IpcKind::shm, s.perm), errno);
  if (s.perm.mode & SHM_DEST)
    made.to_mark.push_back(s.perm.id);
}

} // namespace cpr::shm
