#include "scan.hpp"

#include "page_scan.hpp"
#include "unlinked_mapping.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <boost/crc.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

namespace cpr::memory {
namespace {

bool is_kernel_mapping(const std::string &name) {
  return name == "[vdso]" || name == "[vvar]" || name == "[vvar_vclock]";
}

bool is_sysv_segment(const std::string &name) {
  return name.rfind("/SYSV", 0) == 0;
}

bool ends_with(const std::string &s, const std::string &tail) {
  return s.size() >= tail.size() &&
         s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

[[noreturn]] void refuse(pid_t pid, const sdk::Mapping &m,
                         const std::string &why) {
  throw sdk::Error(sdk::Code::checkpoint_error,
                   fmt::format("Checkpoint error: process {} maps {} at "
                               "{:#x}-{:#x}: {}",
                               pid, m.path.empty() ? "memory" : m.path,
                               m.range.start, m.range.end, why));
}

VmaKind classify(pid_t pid, const sdk::Mapping &m) {
  bool shared = m.perms.size() > 3 && m.perms[3] == 's';
  if (is_kernel_mapping(m.path))
    return VmaKind::kernel;
  std::istringstream flags(m.vmflags);
  for (std::string f; flags >> f;)
    if (f == "io" || f == "pf")
      refuse(pid, m, "a device mapping, which cpr cannot carry");
  if (shared && m.path.rfind("/dev/zero", 0) == 0)
    return VmaKind::anon_shared;
  if (ends_with(m.path, " (deleted)") && shared &&
      m.path.rfind("/dev/shm/", 0) == 0)
    return VmaKind::anon_shared; // shm_unlink'ed: memory without a name
  if (maps_unlinked_file(m.path, shared))
    return shared ? VmaKind::file_shared : VmaKind::file_private;
  if (m.path.empty() || m.path == "[heap]" || m.path == "[stack]" ||
      m.path.rfind("[anon:", 0) == 0)
    return shared ? VmaKind::anon_shared : VmaKind::anon_private;
  if (m.path[0] != '/')
    refuse(pid, m, "a special mapping cpr does not know");
  return shared ? VmaKind::file_shared : VmaKind::file_private;
}

std::uint32_t prot_of(const std::string &perms) {
  return (perms[0] == 'r' ? PROT_READ : 0) |
         (perms[1] == 'w' ? PROT_WRITE : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
}

MmFields read_mm_fields(sdk::Tracee &t) {
  std::string text = sdk::read_file(fmt::format("/proc/{}/stat", t.pid()));
  std::istringstream in(text.substr(text.rfind(')') + 2));
  std::vector<std::uint64_t> f{0, 0, 0}; // fields 1-3 (pid, comm, state)
  std::string word;
  in >> word; // field 3, state
  while (in >> word)
    f.push_back(std::stoull(word));
  auto field = [&](size_t n) { return f.at(n - 1); };
  MmFields mm;
  mm.start_code = field(26);
  mm.end_code = field(27);
  mm.start_stack = field(28);
  mm.start_data = field(45);
  mm.end_data = field(46);
  mm.start_brk = field(47);
  mm.arg_start = field(48);
  mm.arg_end = field(49);
  mm.env_start = field(50);
  mm.env_end = field(51);
  mm.brk = static_cast<std::uint64_t>(
      sdk::remote_call(t, "read its brk", SYS_brk, 0));
  return mm;
}

std::uint32_t crc_of(const void *data, std::size_t size) {
  boost::crc_32_type crc;
  crc.process_bytes(data, size);
  return crc.checksum();
}

std::pair<std::uint32_t, std::uint64_t> vdso_of(pid_t pid) {
  for (const sdk::Mapping &m : sdk::read_maps(pid))
    if (m.path == "[vdso]") {
      std::vector<char> bytes(m.range.size());
      iovec local{bytes.data(), bytes.size()};
      iovec remote{reinterpret_cast<void *>(m.range.start), bytes.size()};
      if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) !=
          static_cast<ssize_t>(bytes.size()))
        sdk::throw_errno(fmt::format("cannot read the vDSO of process {}", pid),
                         errno);
      return {crc_of(bytes.data(), bytes.size()), bytes.size()};
    }
  return {0, 0};
}

} // namespace

std::pair<std::uint32_t, std::uint64_t> own_vdso() {
  return vdso_of(static_cast<pid_t>(::syscall(SYS_getpid)));
}

bool Vma::has_flag(const char *flag) const {
  std::istringstream in(vmflags);
  for (std::string f; in >> f;)
    if (f == flag)
      return true;
  return false;
}

FileIdentity identify(const std::string &path, const std::string &stat_path) {
  struct stat st {};
  if (::stat(stat_path.c_str(), &st) != 0 && ::stat(path.c_str(), &st) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot stat " + path, errno);
  FileIdentity f;
  f.path = path;
  f.size = static_cast<std::uint64_t>(st.st_size);
  f.mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  return f;
}

// What the process wrote into a file it maps shared is in the page cache:
// on disk before the checkpoint counts as done.
void write_back(pid_t pid, const Vma &v) {
  std::string path = fmt::format("/proc/{}/map_files/{:x}-{:x}", pid,
                                 v.range.start, v.range.end);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  int err = fd < 0 ? errno : ::fdatasync(fd) != 0 ? errno : 0;
  if (fd >= 0)
    ::close(fd);
  if (err)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot write back {} "
                                 "(mapped shared by process {})",
                                 v.file.path, pid),
                     err);
}

// The pages of a shared memory object that hold data, wherever they are
// mapped: a page only the other process touched is not in this one's page
// table, but it is in the object.
std::vector<sdk::Range> shared_data_pages(pid_t pid, const Vma &v,
                                          PageScanner &scanner) {
  std::string path = fmt::format("/proc/{}/map_files/{:x}-{:x}", pid,
                                 v.range.start, v.range.end);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return scanner.data_pages(v.range, false);
  std::vector<sdk::Range> out;
  off_t end = static_cast<off_t>(v.offset + v.range.size());
  for (off_t at = static_cast<off_t>(v.offset); at < end;) {
    off_t data = ::lseek(fd, at, SEEK_DATA);
    if (data < 0 || data >= end)
      break;
    // The end of the file is a hole, where it may end mid-page (a POSIX
    // semaphore is 32 bytes): whole pages are saved.
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    const off_t page = static_cast<off_t>(::sysconf(_SC_PAGESIZE));
    data -= data % page;
    hole = std::min<off_t>((hole + page - 1) / page * page, end);
    out.push_back(
        {v.range.start + (data - v.offset), v.range.start + (hole - v.offset)});
    at = hole;
  }
  ::close(fd);
  return out;
}

namespace {

// A file removed under the name it was mapped by but linked under another
// is mapped by that name.
sdk::Mapping as_named_now(pid_t pid, sdk::Mapping m) {
  if (ends_with(m.path, " (deleted)"))
    if (auto now = sdk::mapped_file_name(pid, m))
      m.path = *now;
  return m;
}

// Whether `v` lies in a part of a shared object that is saved already; if
// so, it is to be mapped from there. Else it becomes a part of its own.
bool share_saved_part(pid_t pid, std::uint64_t inode, Vma &v,
                      SharedMemorySeen &seen) {
  auto &parts = seen.holders[inode];
  std::uint64_t begin = v.offset, end = v.offset + v.range.size();
  for (const SharedMemorySeen::Holder &h : parts) {
    std::uint64_t h_end = h.offset + h.range.size();
    if (begin >= h.offset && end <= h_end) {
      v.shared_with = h.pid;
      v.shared_range = h.range;
      v.shared_offset = begin - h.offset;
      return true;
    }
    if (begin < h_end && h.offset < end)
      throw sdk::Error(
          sdk::Code::checkpoint_error,
          fmt::format(
              "Checkpoint error: process {} maps shared memory {:#x}-{:#x} "
              "across parts of it that process {} maps apart; cpr cannot make "
              "them one object again",
              pid, v.range.start, v.range.end, h.pid));
  }
  parts.push_back({pid, v.range, v.offset});
  return false;
}

// Each mapping's pages, from `offset` on in the process's pages.
void hand_out(std::vector<Vma> &vmas, std::uint64_t offset) {
  for (Vma &v : vmas) {
    v.pages_offset = offset;
    for (const sdk::Range &r : v.pages)
      offset += r.size();
  }
}

// Memory registered with a userfaultfd: a fork of the process would wait
// for the process's own monitor, frozen with it.
bool under_userfaultfd(const Vma &v) {
  return v.has_flag("um") || v.has_flag("uw") || v.has_flag("ui");
}

// The pages of every mapping, as the engine is to save them.
std::vector<sdk::PagesToSave> pages_to_save(const std::vector<Vma> &vmas) {
  bool forkable = std::none_of(vmas.begin(), vmas.end(), under_userfaultfd);
  std::vector<sdk::PagesToSave> out;
  for (const Vma &v : vmas) {
    bool private_copy =
        forkable && !v.has_flag("dc") &&
        (v.kind == VmaKind::anon_private || v.kind == VmaKind::file_private);
    // Private anonymous pages of zeros need not be saved: such memory comes
    // back zero (a calloc'ed or memset table, a hash table being reset).
    for (const sdk::Range &r : v.pages)
      out.push_back({r, private_copy, v.kind == VmaKind::anon_private});
  }
  return out;
}

// mlockall's MCL_FUTURE (and MCL_ONFAULT) as a new mapping shows them.
std::uint32_t future_locking(const std::string &vmflags) {
  Vma area;
  area.vmflags = vmflags;
  if (!area.has_flag("lo"))
    return 0;
  return MCL_FUTURE | (area.has_flag("lf") ? MCL_ONFAULT : 0);
}

} // namespace

AddressSpace scan_address_space(sdk::Tracee &t, sdk::PageSink &sink,
                                SharedMemorySeen &seen,
                                const std::string &statefile) {
  AddressSpace as;
  as.pid = t.pid();
  PageScanner scanner(t.pid());
  const auto reserved = t.reserved();
  for (const sdk::Mapping &mapped : sdk::read_smaps(t.pid())) {
    sdk::Mapping m = as_named_now(t.pid(), mapped);
    if (std::any_of(reserved.begin(), reserved.end(),
                    [&](const sdk::Range &r) { return r.overlaps(m.range); })) {
      // Mapped by the engine just now: locked if mlockall(MCL_FUTURE) is on.
      as.lock_future = future_locking(m.vmflags);
      continue;
    }
    // System V segments are plugins/shm's: attached again after the rest.
    if (m.path == "[vsyscall]" || is_sysv_segment(m.path))
      continue;
    Vma v;
    v.range = m.range;
    v.prot = prot_of(m.perms);
    v.kind = classify(t.pid(), m);
    v.name = m.path;
    v.offset = m.offset;
    v.vmflags = m.vmflags;
    bool file =
        v.kind == VmaKind::file_private || v.kind == VmaKind::file_shared;
    if (file && maps_unlinked_file(m.path, v.kind == VmaKind::file_shared))
      save_unlinked_mapping(t.pid(), v, statefile);
    else if (file)
      v.file =
          identify(m.path, fmt::format("/proc/{}/map_files/{:x}-{:x}", t.pid(),
                                       m.range.start, m.range.end));
    if (v.kind == VmaKind::file_shared && v.has_flag("mw") &&
        v.saved_as.empty())
      write_back(t.pid(), v);
    if (v.kind == VmaKind::anon_shared) {
      if (!share_saved_part(t.pid(), m.inode, v, seen))
        v.pages = shared_data_pages(t.pid(), v, scanner);
    } else if (v.kind != VmaKind::kernel && v.kind != VmaKind::file_shared) {
      // Anonymous memory holds no file's pages: telling them apart costs
      // the scan most of its time, and the set is frozen meanwhile.
      v.pages = scanner.data_pages(v.range, v.kind != VmaKind::anon_private,
                                   &v.guards);
      // A restart is a fork of the saved process: what the process asked
      // to have wiped in a child (a random generator's state), or allowed
      // the kernel to drop, comes back zero.
      if (v.has_flag("wf") || v.has_flag("dp"))
        v.pages.clear();
    }
    as.vmas.push_back(std::move(v));
  }
  hand_out(as.vmas, sink.save(t.pid(), pages_to_save(as.vmas)));
  as.mm = read_mm_fields(t);
  std::string auxv = sdk::read_file(fmt::format("/proc/{}/auxv", t.pid()));
  as.auxv.assign(auxv.begin(), auxv.end());
  std::string exe = fmt::format("/proc/{}/exe", t.pid());
  char target[4096];
  ssize_t n = ::readlink(exe.c_str(), target, sizeof target - 1);
  as.exe =
      identify(n > 0 ? std::string(target, static_cast<size_t>(n)) : "", exe);
  std::tie(as.vdso_crc, as.vdso_size) = vdso_of(t.pid());
  as.thp_disable = sdk::remote_call(t, "read its THP setting", SYS_prctl,
                                    PR_GET_THP_DISABLE);
  return as;
}

} // namespace cpr::memory
