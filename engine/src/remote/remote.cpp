#include "remote/remote.hpp"

#include "trust/privilege.hpp"
#include "freeze/ptrace.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

extern "C" const unsigned char cpr_remote_code[], cpr_trailer[],
    cpr_clone_gadget[], cpr_batch_loop[], cpr_remote_code_end[];

namespace cpr::engine {

namespace {
constexpr std::uint64_t syscall_insn_size = 2; // 0f 05
std::size_t code_size() {
  return static_cast<std::size_t>(cpr_remote_code_end - cpr_remote_code);
}
// After the code, the area's size: a cpr that meets the area after the
// one that mapped it died knows what to unmap.
constexpr std::size_t size_word_at = 512;
constexpr std::uint64_t page = 4096;
// A fault of the instruction itself (unmapped, not executable) would come
// back on every try; a signal sent by someone is kept for later instead.
bool faulted_on_insn(const std::vector<std::uint8_t> &raw) {
  siginfo_t info{};
  std::memcpy(&info, raw.data(), std::min(raw.size(), sizeof info));
  bool fault = info.si_signo == SIGSEGV || info.si_signo == SIGBUS ||
               info.si_signo == SIGILL;
  return fault && info.si_code > 0 && info.si_code < SI_KERNEL;
}
std::uint64_t offset_of(const unsigned char *code) {
  return static_cast<std::uint64_t>(code - cpr_remote_code);
}
constexpr int syscall_stop = SIGTRAP | 0x80; // PTRACE_O_TRACESYSGOOD
// Inside a system call the stop interrupted: the kernel restarts it when
// the thread leaves a signal-delivery or event stop, not a syscall stop.
bool interrupted_call(const user_regs_struct &r) {
  auto rax = static_cast<long>(r.rax);
  return static_cast<long>(r.orig_rax) >= 0 && rax <= -512 && rax >= -516;
}

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

RemoteProcess::RemoteProcess(pid_t pid, std::uint64_t insn,
                             const user_regs_struct &base)
    : pid_(pid), insn_(insn), base_(base) {}

RemoteProcess::~RemoteProcess() {
  if (mem_fd_ >= 0)
    ::close(mem_fd_);
}

user_regs_struct
RemoteProcess::call_registers(std::uint64_t rip, long nr,
                              const std::uint64_t (&args)[6]) const {
  user_regs_struct regs = base_;
  regs.rip = rip;
  regs.rax = static_cast<std::uint64_t>(nr);
  // orig_rax = -1 keeps the kernel from "restarting" a syscall the thread
  // was stopped in, on top of ours.
  regs.orig_rax = ~0ULL;
  regs.rdi = args[0];
  regs.rsi = args[1];
  regs.rdx = args[2];
  regs.r10 = args[3];
  regs.r8 = args[4];
  regs.r9 = args[5];
  // The batch loop ends in the stop with a signal, else on int3.
  regs.r14 = frame_ ? static_cast<std::uint64_t>(stop_signal_) : 0;
  if (frame_)
    regs.rsp = frame_ + 8; // rt_sigreturn reads the frame at %rsp - 8
  return regs;
}

long RemoteProcess::syscall(long nr, std::uint64_t a1, std::uint64_t a2,
                            std::uint64_t a3, std::uint64_t a4,
                            std::uint64_t a5, std::uint64_t a6) {
  const std::uint64_t args[6] = {a1, a2, a3, a4, a5, a6};
  if (!frame_)
    return single_step_call(call_registers(insn_, nr, args));
  user_regs_struct regs = call_registers(work_area_.start, nr, args);
  if (stop_signal_)
    return static_cast<long>(run_to_stop(regs).rbx);
  return static_cast<long>(run_to_syscall_exit(regs, ~0ULL).rax);
}

long RemoteProcess::single_step_call(user_regs_struct regs) {
  for (;;) {
    ptrace::set_regs(pid_, regs);
    ptrace::single_step(pid_);
    int status = ptrace::wait_stop(pid_);
    user_regs_struct after = ptrace::get_regs(pid_);
    if (after.rip == insn_ + syscall_insn_size)
      return static_cast<long>(after.rax);
    // Stopped before the instruction ran: a signal arrived (keep it for
    // later) or a job-control trap. Either way, try again.
    bool signal_stop = (status >> 16) == 0 && WSTOPSIG(status) != SIGTRAP;
    if (signal_stop)
      hold_back(status, "its syscall instruction");
  }
}

// Keeps a signal that came meanwhile for later; fails on a fault of cpr's
// own instructions, which would come back on every try.
void RemoteProcess::hold_back(int status, const char *where) {
  std::vector<std::uint8_t> info = ptrace::get_siginfo(pid_);
  if (faulted_on_insn(info))
    throw sdk::Error(fmt::format("cannot run a system call in process {}: "
                                 "{} at {}",
                                 pid_, ::strsignal(WSTOPSIG(status)), where));
  deferred_.push_back(std::move(info));
}

// Until the stop signal the thread sends itself, just before the trailer.
user_regs_struct RemoteProcess::run_to_stop(user_regs_struct regs) {
  ptrace::set_regs(pid_, regs);
  if (!masked_) // after the registers: a thread let go runs the trailer
    ptrace::set_sigmask(pid_, ~(1ULL << (stop_signal_ - 1)));
  masked_ = true;
  const std::uint64_t trailer = work_area_.start + offset_of(cpr_trailer);
  for (;;) {
    ptrace::cont(pid_, 0);
    int status = ptrace::wait_stop(pid_);
    if ((status >> 16) != 0)
      continue; // a job-control stop: go on
    if (WSTOPSIG(status) == stop_signal_) {
      siginfo_t si{};
      std::vector<std::uint8_t> raw = ptrace::get_siginfo(pid_);
      std::memcpy(&si, raw.data(), std::min(raw.size(), sizeof si));
      user_regs_struct after = ptrace::get_regs(pid_);
      if (after.rip == trailer && si.si_code == SI_TKILL &&
          static_cast<std::uint64_t>(si.si_pid) == after.rdi) {
        at_syscall_exit_ = false;
        return after;
      }
    }
    hold_back(status, "cpr's code");
  }
}

// Through the entry and exit stops of the call (at the exit stop, the
// thread rests before the trailer).
user_regs_struct
RemoteProcess::run_to_syscall_exit(const user_regs_struct &regs,
                                   std::uint64_t mask) {
  user_regs_struct call = regs;
  call.r14 = 0; // no stop signal: tgkill(..., 0) checks and sends nothing
  ptrace::set_regs(pid_, call);
  kill_point("call-registers-set");
  ptrace::set_sigmask(pid_, mask);
  for (int stops = 0;;) {
    ptrace::syscall(pid_);
    int status = ptrace::wait_stop(pid_);
    if ((status >> 16) != 0)
      continue;
    if (WSTOPSIG(status) != syscall_stop)
      hold_back(status, "cpr's code");
    else if (++stops == 2) {
      at_syscall_exit_ = true;
      return ptrace::get_regs(pid_);
    }
  }
}

// At the syscall instruction: a thread let go before the call has returned
// runs on with cpr's registers.
long RemoteProcess::first_call(long nr, const std::uint64_t (&args)[6]) {
  std::uint64_t mask = stop_signal_ ? ~(1ULL << (stop_signal_ - 1)) : ~0ULL;
  user_regs_struct regs = call_registers(insn_, nr, args);
  regs.rsp = base_.rsp;
  return static_cast<long>(run_to_syscall_exit(regs, mask).rax);
}

long RemoteProcess::syscall_all_blocked(long nr, std::uint64_t a1,
                                        std::uint64_t a2, std::uint64_t a3,
                                        std::uint64_t a4) {
  const std::uint64_t args[6] = {a1, a2, a3, a4, 0, 0};
  user_regs_struct regs = call_registers(work_area_.start, nr, args);
  long result = static_cast<long>(run_to_syscall_exit(regs, ~0ULL).rax);
  if (stop_signal_)
    ptrace::set_sigmask(pid_, ~(1ULL << (stop_signal_ - 1)));
  return result;
}

void RemoteProcess::use_frame(Frame frame, int stop_signal) {
  frame_ = frame.at;
  frame_bytes_ = std::move(frame.bytes);
  stop_signal_ = stop_signal;
}

bool RemoteProcess::returns_through_stack() const {
  return syscall_ret_ && frame_ &&
         !(frame_ >= work_area_.start && frame_ < work_area_.end);
}

// The call at `syscall; ret` with the stack pointer on the frame, whose
// first word is the restorer's address: a thread let go at any moment makes
// the call (or has made it) and returns to its own state. Stops at the
// call's exit.
long RemoteProcess::call_through_stack_frame(long nr,
                                             const std::uint64_t (&args)[6],
                                             std::uint64_t mask) {
  write(frame_, frame_bytes_.data(), frame_bytes_.size());
  user_regs_struct regs = call_registers(syscall_ret_, nr, args);
  regs.rsp = frame_;
  return static_cast<long>(run_to_syscall_exit(regs, mask).rax);
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

void RemoteProcess::restore(const user_regs_struct &regs,
                            std::uint64_t sigmask) {
  if (at_syscall_exit_ && interrupted_call(regs))
    back_to_event_stop();
  // The mask first: a thread let go in between still runs the trailer.
  ptrace::set_sigmask(pid_, sigmask);
  ptrace::set_regs(pid_, regs);
  frame_ = 0;
  frame_bytes_.clear();
  masked_ = false;
}

// From a syscall stop into an event stop, without running user code: the
// kernel restarts an interrupted call only on leaving a stop of that kind.
void RemoteProcess::back_to_event_stop() {
  ptrace::interrupt(pid_);
  for (;;) {
    ptrace::cont(pid_, 0);
    int status = ptrace::wait_stop(pid_);
    if ((status >> 16) == PTRACE_EVENT_STOP) {
      at_syscall_exit_ = false;
      return;
    }
    hold_back(status, "its way back from a system call");
  }
}

std::uint64_t RemoteProcess::clone_gadget() const {
  return work_area_.start + offset_of(cpr_clone_gadget);
}

void RemoteProcess::use_work_area(sdk::Range area) {
  work_area_ = area;
  insn_ = area.start;
  scratch_ = {area.start + 2 * page, area.start + work_area_pages * page};
}

std::vector<long> RemoteProcess::syscalls(const std::vector<Call> &calls) {
  std::vector<long> results;
  if (work_area_.size() == 0 || (frame_ && !stop_signal_)) {
    for (const Call &c : calls)
      results.push_back(syscall(c.nr, c.args[0], c.args[1], c.args[2],
                                c.args[3], c.args[4], c.args[5]));
    return results;
  }
  struct Entry {
    std::int64_t nr;
    std::uint64_t args[6];
    std::int64_t result;
  };
  static_assert(sizeof(Entry) == 64, "the layout cpr_batch_loop reads");
  std::uint64_t table = work_area_.start + page;
  for (std::size_t done = 0; done < calls.size();) {
    std::vector<Entry> run(std::min(page / sizeof(Entry), calls.size() - done));
    for (std::size_t i = 0; i < run.size(); ++i) {
      run[i].nr = calls[done + i].nr;
      std::memcpy(run[i].args, calls[done + i].args, sizeof run[i].args);
    }
    write(table, run.data(), run.size() * sizeof(Entry));
    run_batch(run.size());
    read(table, run.data(), run.size() * sizeof(Entry));
    for (const Entry &e : run)
      results.push_back(static_cast<long>(e.result));
    done += run.size();
  }
  return results;
}

void RemoteProcess::run_batch(std::size_t count) {
  const std::uint64_t none[6] = {};
  user_regs_struct regs =
      call_registers(work_area_.start + offset_of(cpr_batch_loop), 0, none);
  regs.rbx = work_area_.start + page;
  regs.r15 = count;
  if (frame_) {
    run_to_stop(regs);
    return;
  }
  const std::uint64_t end = work_area_.start + offset_of(cpr_remote_code_end);
  ptrace::set_regs(pid_, regs);
  for (;;) {
    ptrace::cont(pid_, 0);
    int status = ptrace::wait_stop(pid_);
    if ((status >> 16) != 0)
      continue; // a job-control stop: go on
    if (WSTOPSIG(status) == SIGTRAP && ptrace::get_regs(pid_).rip == end)
      return;
    hold_back(status, "cpr's code");
  }
}

std::uint64_t RemoteProcess::scratch(std::size_t size) {
  if (scratch_.size() == 0 || size > scratch_.size())
    throw sdk::Error("internal error: no scratch memory of " +
                     std::to_string(size) + " bytes in process " +
                     std::to_string(pid_));
  return scratch_.start;
}

void RemoteProcess::read(std::uint64_t addr, void *buf, std::size_t len) {
  iovec local{buf, len};
  iovec remote{reinterpret_cast<void *>(addr), len};
  ssize_t n = ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (n != static_cast<ssize_t>(len))
    sdk::throw_errno("cannot read memory of process " + std::to_string(pid_),
                     n < 0 ? errno : EFAULT);
}

void RemoteProcess::write(std::uint64_t addr, const void *buf,
                          std::size_t len) {
  // Through /proc/PID/mem, which may write into read-only pages.
  if (mem_fd_ < 0) {
    std::string path = "/proc/" + std::to_string(pid_) + "/mem";
    mem_fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (mem_fd_ < 0)
      sdk::throw_errno("cannot open " + path, errno);
  }
  ssize_t n = ::pwrite(mem_fd_, buf, len, static_cast<off_t>(addr));
  if (n != static_cast<ssize_t>(len))
    sdk::throw_errno("cannot write memory of process " + std::to_string(pid_),
                     n < 0 ? errno : EFAULT);
}

std::uint64_t RemoteProcess::free_spot(const std::vector<sdk::Range> &avoid,
                                       std::uint64_t size) const {
  std::vector<sdk::Range> taken = avoid;
  for (const sdk::Mapping &m : sdk::read_maps(pid_))
    taken.push_back(m.range);
  // A wide margin keeps the area from merging with, or sitting in the
  // guard gap of, any mapping of the process. High up, its line in
  // /proc/PID/maps comes after the process's own (a /proc file's offset is
  // set while the area is there: the text up to it must be the process's).
  auto where = sdk::find_gap(taken, size, 1 << 20, true);
  if (!where)
    throw sdk::Error(EAGAIN,
                     "Resource temporarily unavailable: no free address "
                     "range in process " +
                         std::to_string(pid_));
  return *where;
}

sdk::Range RemoteProcess::map_private_area(const std::vector<sdk::Range> &avoid,
                                           std::size_t pages) {
  std::uint64_t size = pages * page;
  std::uint64_t where = free_spot(avoid, size);
  sdk::remote_call(*this, "map a work area", SYS_mmap, where, size,
                   PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   static_cast<std::uint64_t>(-1), 0);
  reserved_.push_back({where, where + size});
  return reserved_.back();
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

void RemoteProcess::unmap(sdk::Range area) {
  sdk::remote_call(*this, "unmap a work area", SYS_munmap, area.start,
                   area.size());
  std::erase_if(reserved_, [&](const sdk::Range &r) {
    return r.start == area.start && r.end == area.end;
  });
  if (scratch_.overlaps(area))
    scratch_ = {};
}

std::vector<std::vector<std::uint8_t>> RemoteProcess::take_deferred_signals() {
  return std::exchange(deferred_, {});
}

namespace {
cpu_set_t all_cpus() {
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    CPU_SET(cpu, &all);
  return all;
}
} // namespace

CpuPin::CpuPin(pid_t tracee, bool pin_tracee) {
  auto st = sdk::try_read_file(fmt::format("/proc/{}/stat", tracee));
  if (!st || ::sched_getaffinity(0, sizeof saved_, &saved_) != 0)
    return;
  std::istringstream in(st->substr(st->rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 39 && in >> field; ++i)
    ; // field 39: the CPU it last ran on
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(std::stoi(field), &one);
  pinned_ = ::sched_setaffinity(0, sizeof one, &one) == 0;
  if (pin_tracee)
    (void)::sched_setaffinity(tracee, sizeof one, &one);
}

CpuPin::~CpuPin() {
  if (pinned_)
    (void)::sched_setaffinity(0, sizeof saved_, &saved_);
}

void allow_any_cpu() {
  cpu_set_t all = all_cpus();
  (void)::sched_setaffinity(0, sizeof all, &all);
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
