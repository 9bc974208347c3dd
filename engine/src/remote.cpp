#include "remote.hpp"

#include "ptrace.hpp"

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
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

extern "C" const unsigned char cpr_remote_code[], cpr_batch_loop[],
    cpr_remote_code_end[];

namespace cpr::engine {

namespace {
constexpr std::uint64_t syscall_insn_size = 2; // 0f 05
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
} // namespace

RemoteProcess::RemoteProcess(pid_t pid, std::uint64_t insn,
                             const user_regs_struct &base)
    : pid_(pid), insn_(insn), base_(base) {}

RemoteProcess::~RemoteProcess() {
  if (mem_fd_ >= 0)
    ::close(mem_fd_);
}

long RemoteProcess::syscall(long nr, std::uint64_t a1, std::uint64_t a2,
                            std::uint64_t a3, std::uint64_t a4,
                            std::uint64_t a5, std::uint64_t a6) {
  user_regs_struct regs = base_;
  regs.rip = insn_;
  regs.rax = static_cast<std::uint64_t>(nr);
  // orig_rax = -1 keeps the kernel from "restarting" a syscall the thread
  // was stopped in, on top of ours.
  regs.orig_rax = ~0ULL;
  regs.rdi = a1;
  regs.rsi = a2;
  regs.rdx = a3;
  regs.r10 = a4;
  regs.r8 = a5;
  regs.r9 = a6;
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
    if (!signal_stop)
      continue;
    std::vector<std::uint8_t> info = ptrace::get_siginfo(pid_);
    if (faulted_on_insn(info))
      throw sdk::Error(fmt::format("cannot run a system call in process {}: "
                                   "{} at its syscall instruction {:#x}",
                                   pid_, ::strsignal(WSTOPSIG(status)), insn_));
    deferred_.push_back(std::move(info));
  }
}

void RemoteProcess::use_work_area(sdk::Range area) {
  work_area_ = area;
  insn_ = area.start;
  scratch_ = {area.start + 2 * page, area.end};
}

std::vector<long> RemoteProcess::syscalls(const std::vector<Call> &calls) {
  std::vector<long> results;
  if (work_area_.size() == 0) {
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
  std::uint64_t loop = work_area_.start + (cpr_batch_loop - cpr_remote_code);
  std::uint64_t end =
      work_area_.start + (cpr_remote_code_end - cpr_remote_code);
  user_regs_struct regs = base_;
  regs.rip = loop;
  regs.orig_rax = ~0ULL;
  regs.rbx = work_area_.start + page;
  regs.r12 = count;
  ptrace::set_regs(pid_, regs);
  for (;;) {
    ptrace::cont(pid_, 0);
    int status = ptrace::wait_stop(pid_);
    if ((status >> 16) != 0)
      continue; // a job-control stop: go on
    if (WSTOPSIG(status) == SIGTRAP && ptrace::get_regs(pid_).rip == end)
      return;
    std::vector<std::uint8_t> info = ptrace::get_siginfo(pid_);
    if (faulted_on_insn(info))
      throw sdk::Error(fmt::format("cannot run system calls in process {}: "
                                   "{} in cpr's code",
                                   pid_, ::strsignal(WSTOPSIG(status))));
    deferred_.push_back(std::move(info));
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

sdk::Range RemoteProcess::map_private_area(const std::vector<sdk::Range> &avoid,
                                           std::size_t pages) {
  std::vector<sdk::Range> taken = avoid;
  for (const sdk::Mapping &m : sdk::read_maps(pid_))
    taken.push_back(m.range);
  std::uint64_t size = pages * page;
  // A wide margin keeps the area from merging with, or sitting in the
  // guard gap of, any mapping of the process.
  auto where = sdk::find_gap(taken, size, 1 << 20);
  if (!where)
    throw sdk::Error("Resource temporarily unavailable: no free address "
                     "range in process " +
                     std::to_string(pid_));
  sdk::remote_call(*this, "map a work area", SYS_mmap, *where, size,
                   PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   static_cast<std::uint64_t>(-1), 0);
  reserved_.push_back({*where, *where + size});
  return reserved_.back();
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
  t.write(area.start, cpr_remote_code,
          static_cast<std::size_t>(cpr_remote_code_end - cpr_remote_code));
  sdk::remote_call(t, "protect cpr's code", SYS_mprotect, area.start, page,
                   PROT_READ | PROT_EXEC);
  t.use_work_area(area);
  return area;
}

std::uint64_t find_syscall_insn(pid_t pid) {
  std::vector<sdk::Mapping> maps = sdk::read_maps(pid);
  std::stable_partition(maps.begin(), maps.end(), [](const sdk::Mapping &m) {
    return m.path == "[vdso]";
  });
  for (const sdk::Mapping &m : maps) {
    if (m.perms.size() < 3 || m.perms[0] != 'r' || m.perms[2] != 'x')
      continue;
    std::vector<unsigned char> code(
        std::min<std::uint64_t>(m.range.size(), 1 << 20));
    iovec local{code.data(), code.size()};
    iovec remote{reinterpret_cast<void *>(m.range.start), code.size()};
    ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    for (ssize_t i = 0; i + 1 < n; ++i)
      if (code[i] == 0x0f && code[i + 1] == 0x05)
        return m.range.start + static_cast<std::uint64_t>(i);
  }
  throw sdk::Error("Checkpoint error: process " + std::to_string(pid) +
                   " has no syscall instruction cpr can use");
}

} // namespace cpr::engine
