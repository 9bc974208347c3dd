#include "rebuild.hpp"

#include "program_files.hpp"
#include "scan.hpp"
#include "unlinked_mapping.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::memory {
namespace {

constexpr std::uint64_t madv_guard_install = 102; // Linux 6.13

bool is_kernel(const std::string &name) {
  return name == "[vdso]" || name == "[vvar]" || name == "[vvar_vclock]";
}

// Unchanged, or carried by an upgrade checkpoint.
void check_file(const FileIdentity &f, pid_t pid,
                const sdk::RestoreContext &ctx) {
  file_to_map(f, pid, ctx);
}

// Unmaps everything but what the engine placed and the kernel's own pages.
void clear_address_space(sdk::Tracee &t) {
  std::vector<sdk::Range> keep = t.reserved();
  for (const sdk::Mapping &m : sdk::read_maps(t.pid()))
    if (is_kernel(m.path))
      keep.push_back(m.range);
  std::sort(keep.begin(), keep.end(),
            [](auto &a, auto &b) { return a.start < b.start; });
  std::uint64_t at = 0;
  auto unmap = [&](std::uint64_t end) {
    if (end > at)
      sdk::remote_call(t, "clear its address space", SYS_munmap, at, end - at);
  };
  for (const sdk::Range &r : keep) {
    unmap(r.start);
    at = std::max(at, r.end);
  }
  unmap(sdk::task_size);
}

std::map<std::string, sdk::Range> kernel_mappings(pid_t pid) {
  std::map<std::string, sdk::Range> out;
  for (const sdk::Mapping &m : sdk::read_maps(pid))
    if (is_kernel(m.path))
      out[m.path] = m.range;
  return out;
}

void move(sdk::Tracee &t, sdk::Range from, std::uint64_t to) {
  if (from.start == to)
    return;
  sdk::remote_call(t, "move the vDSO", SYS_mremap, from.start, from.size(),
                   from.size(), MREMAP_MAYMOVE | MREMAP_FIXED, to);
}

// The vDSO and its data pages go where the saved process had them, keeping
// their distances: the vDSO's code finds its data relative to itself.
void place_vdso(sdk::Tracee &t, const AddressSpace &as) {
  auto now = kernel_mappings(t.pid());
  std::map<std::string, sdk::Range> want;
  for (const Vma &v : as.vmas)
    if (v.kind == VmaKind::kernel)
      want[v.name] = v.range;
  for (auto &[name, r] : now)
    if (!want.count(name) || want[name].size() != r.size())
      throw sdk::Error(sdk::Code::component_unavailable,
                       fmt::format("component unavailable: the kernel's {} "
                                   "differs from process {}'s",
                                   name, as.pid));
  std::vector<sdk::Range> taken = t.reserved();
  for (auto &[n, r] : now)
    taken.push_back(r);
  for (auto &[n, r] : want)
    taken.push_back(r);
  for (const Vma &v : as.vmas)
    taken.push_back(v.range);
  std::uint64_t block = 0;
  for (auto &[n, r] : now)
    block += r.size();
  // Through a free spot first, so no move lands on a piece not yet moved.
  auto spot = sdk::find_gap(taken, block, 1 << 20);
  if (!spot)
    throw sdk::Error(EAGAIN,
                     "Resource temporarily unavailable: no room to move the "
                     "vDSO");
  std::uint64_t at = *spot;
  for (auto &[name, r] : now) {
    move(t, r, at);
    r = {at, at + r.size()};
    at += r.size();
  }
  for (auto &[name, r] : now)
    move(t, r, want[name].start);
}

int open_flags(const Vma &v) {
  bool writes_file = v.kind == VmaKind::file_shared && v.has_flag("mw");
  return (writes_file ? O_RDWR : O_RDONLY) | O_CLOEXEC;
}

// The file cpr made for a deleted file or memfd, taken into the process
// from cpr by pidfd_getfd (its real credentials are still cpr's here); in
// a new PID namespace (FORK ANY), where cpr has no PID, opened through
// cpr's /proc/PID/fd, which /proc (cpr's) still shows it.
long fd_of_remade(sdk::Tracee &t, const Vma &v, const sdk::RestoreContext &ctx,
                  std::map<std::pair<std::string, int>, int> &open_files) {
  auto key = std::make_pair(v.saved_as, -1);
  if (auto it = open_files.find(key); it != open_files.end())
    return it->second;
  int in_cpr = remade_mapped_file(v, ctx);
  std::string what = "take " + v.file.path + " from cpr";
  long pidfd = t.syscall(SYS_pidfd_open, static_cast<std::uint64_t>(::getpid()),
                         0, 0, 0, 0, 0);
  long fd = -1;
  if (pidfd == -ESRCH) {
    // cpr's fd is not the owner's to open: root's fsuid for this one open
    // (of a path cpr makes), the owner's again after it.
    long owner_fsuid = t.syscall(SYS_setfsuid, 0, 0, 0, 0, 0, 0);
    fd = sdk::remote_open(t, fmt::format("/proc/{}/fd/{}", ::getpid(), in_cpr),
                          O_RDWR | O_CLOEXEC);
    t.syscall(SYS_setfsuid, static_cast<std::uint64_t>(owner_fsuid), 0, 0, 0, 0,
              0);
  } else {
    if (pidfd < 0)
      sdk::throw_errno("cannot " + what, static_cast<int>(-pidfd));
    fd = sdk::remote_call(t, what, SYS_pidfd_getfd,
                          static_cast<std::uint64_t>(pidfd),
                          static_cast<std::uint64_t>(in_cpr), 0);
    sdk::remote_close(t, static_cast<int>(pidfd));
  }
  open_files[key] = static_cast<int>(fd);
  return fd;
}

void map_vmas(sdk::Tracee &t, const AddressSpace &as,
              const sdk::RestoreContext &ctx) {
  std::map<std::pair<std::string, int>, int> open_files;
  for (const Vma &v : as.vmas) {
    if (v.kind == VmaKind::kernel)
      continue;
    bool file =
        v.kind == VmaKind::file_private || v.kind == VmaKind::file_shared;
    bool shared =
        v.kind == VmaKind::anon_shared || v.kind == VmaKind::file_shared;
    std::uint64_t flags = MAP_FIXED | (shared ? MAP_SHARED : MAP_PRIVATE) |
                          (file ? 0 : MAP_ANONYMOUS) |
                          (v.has_flag("gd") ? MAP_GROWSDOWN : 0) |
                          (v.has_flag("nr") ? MAP_NORESERVE : 0);
    std::uint64_t prot = v.prot | (v.pages.empty() ? 0 : PROT_WRITE);
    long fd = -1;
    if (v.shared_with) {
      // The holder was built first: map the very same object.
      std::string object = fmt::format(
          "/proc/{}/map_files/{:x}-{:x}", ctx.live_pid(v.shared_with),
          v.shared_range.start, v.shared_range.end);
      fd = sdk::remote_open(t, object, O_RDWR | O_CLOEXEC);
      flags &= ~static_cast<std::uint64_t>(MAP_ANONYMOUS);
      sdk::remote_call(t,
                       fmt::format("map {:#x}-{:#x} shared with process {}",
                                   v.range.start, v.range.end, v.shared_with),
                       SYS_mmap, v.range.start, v.range.size(), prot, flags,
                       static_cast<std::uint64_t>(fd), v.shared_offset);
      sdk::remote_close(t, static_cast<int>(fd));
      continue;
    }
    if (!v.saved_as.empty()) {
      fd = fd_of_remade(t, v, ctx, open_files);
    } else if (file) {
      auto key = std::make_pair(v.name, open_flags(v));
      auto it = open_files.find(key);
      if (it == open_files.end()) {
        // Code and libraries changed since an upgrade checkpoint: its copy.
        // Looked at once per file, not once per mapping of it.
        std::string path = v.kind == VmaKind::file_private
                               ? file_to_map(v.file, as.pid, ctx)
                               : v.name;
        it = open_files.emplace(key, sdk::remote_open(t, path, key.second))
                 .first;
      }
      fd = it->second;
    }
    sdk::remote_call(
        t,
        fmt::format("map {:#x}-{:#x} {}", v.range.start, v.range.end, v.name),
        SYS_mmap, v.range.start, v.range.size(), prot, flags,
        static_cast<std::uint64_t>(fd), file ? v.offset : 0);
  }
  for (auto &[key, fd] : open_files)
    sdk::remote_close(t, fd);
}

void finish_vmas(sdk::Tracee &t, const AddressSpace &as) {
  static const std::pair<const char *, int> advice[] = {
      {"dd", MADV_DONTDUMP}, {"dc", MADV_DONTFORK},   {"wf", MADV_WIPEONFORK},
      {"hg", MADV_HUGEPAGE}, {"nh", MADV_NOHUGEPAGE}, {"mg", MADV_MERGEABLE}};
  for (const Vma &v : as.vmas) {
    if (v.kind == VmaKind::kernel)
      continue;
    if (!v.pages.empty() && !(v.prot & PROT_WRITE))
      sdk::remote_call(t, "protect memory", SYS_mprotect, v.range.start,
                       v.range.size(), v.prot);
    for (auto [flag, adv] : advice)
      if (v.has_flag(flag))
        sdk::remote_call(t, "advise memory", SYS_madvise, v.range.start,
                         v.range.size(), static_cast<std::uint64_t>(adv));
    if (v.has_flag("lo"))
      sdk::remote_call(t, "lock memory", SYS_mlock2, v.range.start,
                       v.range.size(), v.has_flag("lf") ? MLOCK_ONFAULT : 0);
    for (const sdk::Range &g : v.guards)
      sdk::remote_call(t, "install a guard region", SYS_madvise, g.start,
                       g.size(), madv_guard_install);
  }
  if (as.lock_future)
    sdk::remote_call(t, "lock its memory to come", SYS_mlockall,
                     as.lock_future);
  if (as.thp_disable & 1)
    sdk::remote_call(t, "disable transparent huge pages", SYS_prctl,
                     PR_SET_THP_DISABLE, 1,
                     static_cast<std::uint64_t>(as.thp_disable >> 1));
}

// struct prctl_mm_map of <linux/prctl.h>.
struct PrctlMmMap {
  std::uint64_t start_code, end_code, start_data, end_data, start_brk, brk,
      start_stack, arg_start, arg_end, env_start, env_end;
  std::uint64_t auxv;
  std::uint32_t auxv_size, exe_fd;
};

void set_mm_fields(sdk::Tracee &t, const AddressSpace &as,
                   const sdk::RestoreContext &ctx) {
  const MmFields &m = as.mm;
  int exe = sdk::remote_open(t, file_to_map(as.exe, as.pid, ctx),
                             O_RDONLY | O_CLOEXEC);
  PrctlMmMap map{m.start_code,
                 m.end_code,
                 m.start_data,
                 m.end_data,
                 m.start_brk,
                 m.brk,
                 m.start_stack,
                 m.arg_start,
                 m.arg_end,
                 m.env_start,
                 m.env_end,
                 0,
                 static_cast<std::uint32_t>(as.auxv.size()),
                 static_cast<std::uint32_t>(exe)};
  std::uint64_t buf = t.scratch(sizeof map + as.auxv.size());
  map.auxv = buf + sizeof map;
  t.write(buf, &map, sizeof map);
  t.write(map.auxv, as.auxv.data(), as.auxv.size());
  sdk::remote_call(t, "set its mm fields (PR_SET_MM_MAP)", SYS_prctl, PR_SET_MM,
                   PR_SET_MM_MAP, buf, sizeof map);
  sdk::remote_close(t, exe);
}

} // namespace

// A file mapped shared is the process's data, changed as it runs (and by
// others: MERGE): it need only still be there, as long as it was.
void check_shared_file(const Vma &v, pid_t pid) {
  FileIdentity now;
  try {
    now = identify(v.file.path, v.file.path);
  } catch (const sdk::Error &) {
    throw sdk::Error(sdk::Code::component_unavailable,
                     fmt::format("component unavailable: {} (mapped shared "
                                 "by process {}) is gone",
                                 v.file.path, pid));
  }
  if (now.size < std::min(v.file.size, v.offset + v.range.size()))
    throw sdk::Error(sdk::Code::component_unavailable,
                     fmt::format("component unavailable: {} (mapped shared "
                                 "by process {}) is shorter than it was",
                                 v.file.path, pid));
}

void check_restorable(const AddressSpace &as, const sdk::RestoreContext &ctx) {
  check_file(as.exe, as.pid, ctx);
  for (const Vma &v : as.vmas)
    if (!v.saved_as.empty())
      remade_mapped_file(v, ctx);
    else if (v.kind == VmaKind::file_private)
      check_file(v.file, as.pid, ctx);
    else if (v.kind == VmaKind::file_shared)
      check_shared_file(v, as.pid);
  auto [crc, size] = own_vdso();
  if (crc != as.vdso_crc || size != as.vdso_size)
    throw sdk::Error(sdk::Code::component_unavailable,
                     fmt::format("component unavailable: the kernel's vDSO "
                                 "differs from the one process {} used (the "
                                 "kernel changed since the checkpoint)",
                                 as.pid));
}

void rebuild_address_space(sdk::Tracee &t, const AddressSpace &as,
                           sdk::RestoreContext &ctx) {
  clear_address_space(t);
  place_vdso(t, as);
  map_vmas(t, as, ctx);
  for (const Vma &v : as.vmas)
    if (!v.pages.empty())
      ctx.pages.restore(t.pid(), v.pages_offset, v.pages);
  finish_vmas(t, as);
  set_mm_fields(t, as, ctx);
}

} // namespace cpr::memory
