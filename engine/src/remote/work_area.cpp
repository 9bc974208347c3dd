// cpr's work area in a tracee: its code (remote_code.S) and the frames
// that make every moment kill-safe, mapped, used and unmapped; and the work
// areas a cpr that died left behind.
#include "remote/remote.hpp"

#include "freeze/ptrace.hpp"
#include "remote/remote_code.hpp"
#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

namespace cpr::engine {

namespace {
void write_code(RemoteProcess &t, sdk::Range area) {
  if (code_size() > size_word_at)
    throw sdk::Error("internal error: cpr's remote code outgrew its page");
  std::vector<unsigned char> code(size_word_at + sizeof(std::uint64_t));
  std::memcpy(code.data(), cpr_remote_code, code_size());
  std::uint64_t size = area.size();
  std::memcpy(code.data() + size_word_at, &size, sizeof size);
  t.write(area.start, code.data(), code.size());
}
} // namespace

std::uint64_t RemoteProcess::clone_gadget() const {
  return work_area_.start + offset_of(cpr_clone_gadget);
}

long RemoteProcess::fork_snapshot(std::uint64_t flags) {
  if (!frame_)
    throw sdk::Error("internal error: a snapshot taken without a work area");
  const std::uint64_t args[6] = {flags, 0, 0, 0, 0, 0};
  user_regs_struct regs = call_registers(
      work_area_.start + offset_of(cpr_snapshot_gadget), SYS_clone, args);
  if (stop_signal_)
    return static_cast<long>(run_to_stop(regs).rbx);
  return static_cast<long>(run_to_syscall_exit(regs, ~0ULL).rax);
}

void RemoteProcess::use_work_area(sdk::Range area) {
  work_area_ = area;
  insn_ = area.start;
  scratch_ = {area.start + 2 * page, area.start + work_area_pages * page};
}

// Everything but the call that maps the area is done through /proc/PID/mem
// (which writes read-only pages) and the area's own code.
sdk::Range RemoteProcess::map_safe_work_area(std::size_t frame_pages,
                                             const FrameMaker &frame_of,
                                             int stop_signal,
                                             std::uint64_t own_mask) {
  std::uint64_t size = (work_area_pages + frame_pages) * page;
  sdk::Range area{free_spot({}, size), 0};
  area.end = area.start + size;
  stop_signal_ = stop_signal;
  work_area_ = area;
  use_frame(frame_of(area), stop_signal);
  const std::uint64_t args[6] = {area.start,
                                 size,
                                 PROT_READ | PROT_EXEC,
                                 MAP_PRIVATE | MAP_ANONYMOUS |
                                     MAP_FIXED_NOREPLACE,
                                 static_cast<std::uint64_t>(-1),
                                 0};
  std::uint64_t mask = stop_signal_ ? ~(1ULL << (stop_signal_ - 1)) : ~0ULL;
  long got = returns_through_stack()
                 ? call_through_stack_frame(SYS_mmap, args, mask)
                 : first_call(SYS_mmap, args);
  masked_ = true;
  kill_point("work-area-mapped");
  if (got != static_cast<long>(area.start)) {
    back_to_event_stop();
    ptrace::set_sigmask(pid_, own_mask);
    ptrace::set_regs(pid_, base_);
    masked_ = false;
    stop_signal_ = 0;
    work_area_ = {};
    frame_ = 0;
    sdk::throw_errno(fmt::format("cannot map a work area in process {}", pid_),
                     got < 0 ? static_cast<int>(-got) : EEXIST);
  }
  write_code(*this, area);
  if (!returns_through_stack())
    write(frame_, frame_bytes_.data(), frame_bytes_.size());
  reserved_.push_back(area);
  use_work_area(area);
  user_regs_struct rest = base_;
  rest.rip = area.start + offset_of(cpr_trailer);
  rest.rsp = frame_ + 8;
  rest.rax = 0;
  rest.orig_rax = ~0ULL;
  ptrace::set_regs(pid_, rest);
  sdk::remote_call(*this, "make cpr's table and scratch writable", SYS_mprotect,
                   area.start + page, (work_area_pages - 1) * page,
                   PROT_READ | PROT_WRITE);
  return area;
}

void RemoteProcess::unmap_and_restore(sdk::Range area,
                                      const user_regs_struct &regs,
                                      std::uint64_t sigmask) {
  const std::uint64_t args[6] = {area.start, area.size()};
  long result = 0;
  if (returns_through_stack()) {
    result = call_through_stack_frame(SYS_munmap, args, ~0ULL);
  } else {
    // Unsafe from the call until restore(): the next instruction is gone.
    user_regs_struct call = call_registers(work_area_.start, SYS_munmap, args);
    result = static_cast<long>(run_to_syscall_exit(call, ~0ULL).rax);
  }
  kill_point("work-area-unmapped");
  restore(regs, sigmask);
  work_area_ = scratch_ = {};
  std::erase_if(reserved_, [&](const sdk::Range &r) {
    return r.start == area.start && r.end == area.end;
  });
  if (result < 0)
    sdk::throw_errno(
        fmt::format("cannot unmap cpr's work area in process {}", pid_),
        static_cast<int>(-result));
}

sdk::Range install_work_area(RemoteProcess &t,
                             const std::vector<sdk::Range> &avoid) {
  sdk::Range area = t.map_private_area(avoid, work_area_pages);
  write_code(t, area);
  sdk::remote_call(t, "protect cpr's code", SYS_mprotect, area.start, page,
                   PROT_READ | PROT_EXEC);
  t.use_work_area(area);
  return area;
}

std::vector<sdk::Range>
stale_work_areas(pid_t pid, const std::vector<sdk::Mapping> &maps) {
  static_assert(size_word_at + sizeof(std::uint64_t) <= page);
  std::vector<sdk::Range> found;
  std::vector<unsigned char> head(size_word_at + sizeof(std::uint64_t));
  for (const sdk::Mapping &m : maps) {
    if (m.perms != "r-xp" || !m.path.empty())
      continue;
    iovec local{head.data(), head.size()};
    iovec remote{reinterpret_cast<void *>(m.range.start), head.size()};
    if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) !=
            static_cast<ssize_t>(head.size()) ||
        std::memcmp(head.data(), cpr_remote_code, code_size()) != 0)
      continue;
    std::uint64_t size = 0;
    std::memcpy(&size, head.data() + size_word_at, sizeof size);
    if (size >= work_area_pages * page && size % page == 0 &&
        size >= m.range.size())
      found.push_back({m.range.start, m.range.start + size});
  }
  return found;
}

} // namespace cpr::engine
