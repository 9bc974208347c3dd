#include "attach.hpp"

#include "ipc_space.hpp"

#include "records.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>

namespace cpr::shm {
namespace {

constexpr std::uint64_t page = 4096;

bool has_flag(const std::string &vmflags, const char *flag) {
  std::istringstream in(vmflags);
  for (std::string f; in >> f;)
    if (f == flag)
      return true;
  return false;
}

std::uint32_t prot_of(const std::string &perms) {
  return (perms[0] == 'r' ? PROT_READ : 0) |
         (perms[1] == 'w' ? PROT_WRITE : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
}

// Segments live in an IPC namespace: cpr reads them in the set's.
void check_same_ipc_namespace(pid_t pid) {
  struct stat mine {
  }, theirs{};
  std::string path = fmt::format("/proc/{}/ns/ipc", pid);
  if (::stat("/proc/self/ns/ipc", &mine) == 0 &&
      ::stat(path.c_str(), &theirs) == 0 && mine.st_ino != theirs.st_ino)
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: process {} attaches "
                                 "System V shared memory of another IPC "
                                 "namespace than cpr's",
                                 pid));
}

std::uint64_t segment_size(int id, pid_t pid) {
  shmid_ds ds{};
  if (::shmctl(id, IPC_STAT, &ds) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot read System V "
                                 "shared memory id {} (attached by process "
                                 "{})",
                                 id, pid),
                     errno);
  return (ds.shm_segsz + page - 1) / page * page;
}

Attachment attachment_of(const sdk::Mapping &m, pid_t pid) {
  if (has_flag(m.vmflags, "ht"))
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: process {} attaches "
                                 "System V shared memory id {} in huge "
                                 "pages, which this cpr does not carry",
                                 pid, m.inode));
  Attachment a;
  a.id = static_cast<std::int32_t>(m.inode); // the inode is the shmid
  a.range = m.range;
  a.offset = m.offset;
  a.segment_size = segment_size(a.id, pid);
  a.prot = prot_of(m.perms);
  a.read_only = !has_flag(m.vmflags, "mw");
  a.exec = has_flag(m.vmflags, "me");
  return a;
}

std::uint64_t shmat_flags(const Attachment &a) {
  return (a.read_only ? SHM_RDONLY : 0) | (a.exec ? SHM_EXEC : 0);
}

std::uint32_t attached_prot(const Attachment &a) {
  return PROT_READ | (a.read_only ? 0 : PROT_WRITE) | (a.exec ? PROT_EXEC : 0);
}

// A piece of a segment: attached whole somewhere free, the piece moved to
// its place, the rest let go.
void attach_piece(sdk::Tracee &t, const Attachment &a,
                  const std::string &what) {
  auto at = static_cast<std::uint64_t>(sdk::remote_call(
      t, what, SYS_shmat, static_cast<std::uint64_t>(a.id), 0, shmat_flags(a)));
  sdk::remote_call(t, what, SYS_mremap, at + a.offset, a.range.size(),
                   a.range.size(), MREMAP_MAYMOVE | MREMAP_FIXED,
                   a.range.start);
  if (a.offset > 0)
    sdk::remote_call(t, what, SYS_munmap, at, a.offset);
  std::uint64_t rest = a.offset + a.range.size();
  if (rest < a.segment_size)
    sdk::remote_call(t, what, SYS_munmap, at + rest, a.segment_size - rest);
}

void attach(sdk::Tracee &t, const Attachment &a) {
  std::string what = fmt::format("attach System V shared memory id {} at "
                                 "{:#x}",
                                 a.id, a.range.start);
  if (a.offset == 0 && a.range.size() == a.segment_size) {
    auto at = static_cast<std::uint64_t>(
        sdk::remote_call(t, what, SYS_shmat, static_cast<std::uint64_t>(a.id),
                         a.range.start, shmat_flags(a)));
    if (at != a.range.start)
      throw sdk::Error(fmt::format("cannot {}: it came at {:#x}", what, at));
  } else {
    attach_piece(t, a, what);
  }
  if (a.prot != attached_prot(a))
    sdk::remote_call(t, what, SYS_mprotect, a.range.start, a.range.size(),
                     a.prot);
}

} // namespace

sdk::Saved AttachHandler::save(sdk::Tracee &process,
                               sdk::SaveContext &ctx) const {
  ipc_space(ctx.sessions).enter_set_namespace(ctx);
  Attachments out;
  auto is_segment = [](const sdk::Mapping &m) {
    return m.path.rfind("/SYSV", 0) == 0;
  };
  // smaps (for the flags saying how it was attached) walks every page
  // table in the freeze window: only for a process that has a segment.
  auto maps = sdk::read_maps(process.pid());
  if (std::none_of(maps.begin(), maps.end(), is_segment))
    return {sdk::to_payload(out), ""};
  check_same_ipc_namespace(process.pid());
  for (const sdk::Mapping &m : sdk::read_smaps(process.pid()))
    if (is_segment(m))
      out.all.push_back(attachment_of(m, process.pid()));
  std::string summary;
  for (const Attachment &a : out.all)
    summary +=
        fmt::format("{}id {} at {:#x}{}", summary.empty() ? "" : ", ", a.id,
                    a.range.start, a.read_only ? " (read-only)" : "");
  return {sdk::to_payload(out), summary};
}

void AttachHandler::restore(sdk::Tracee &process, const sdk::Record &record,
                            sdk::RestoreContext &) const {
  for (const Attachment &a : sdk::from_payload<Attachments>(record.payload).all)
    attach(process, a);
}

} // namespace cpr::shm
