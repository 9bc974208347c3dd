#include "process/seccomp.hpp"

#include "process/proc.hpp"

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <fmt/format.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

namespace cpr::engine {
namespace {

constexpr int ptrace_seccomp_get_filter = 0x420c;
constexpr std::uint64_t page = 4096;

std::vector<std::uint8_t> filter_at(pid_t pid, unsigned long index) {
  long count =
      ::ptrace(static_cast<__ptrace_request>(ptrace_seccomp_get_filter), pid,
               index, nullptr);
  if (count < 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot read seccomp "
                                 "filter {} of process {}",
                                 index, pid),
                     errno);
  std::vector<std::uint8_t> program(static_cast<std::size_t>(count) *
                                    sizeof(sock_filter));
  if (::ptrace(static_cast<__ptrace_request>(ptrace_seccomp_get_filter), pid,
               index, program.data()) != count)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot read seccomp "
                                 "filter {} of process {}",
                                 index, pid),
                     errno);
  return program;
}

} // namespace

void collect_seccomp(ProcessRecord &p, const std::vector<pid_t> &tids) {
  std::string mode = proc::status_field(p.pid, "Seccomp");
  if (mode.empty() || mode == "0")
    return;
  if (mode != "2")
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: process {} is in strict "
                                 "seccomp mode, which cpr cannot restore",
                                 p.pid));
  std::string count = proc::status_field(p.pid, "Seccomp_filters");
  for (pid_t tid : tids)
    if (proc::status_field(tid, "Seccomp_filters") != count)
      throw sdk::Error(sdk::Code::checkpoint_error,
                       fmt::format("Checkpoint error: the threads of process "
                                   "{} have different seccomp filters",
                                   p.pid));
  // Index 0 is the filter installed last.
  auto filters = static_cast<unsigned long>(std::stoul(count));
  for (unsigned long i = filters; i-- > 0;)
    p.seccomp_filters.push_back(filter_at(p.pid, i));
}

void restore_seccomp(RemoteProcess &t, const ProcessRecord &p) {
  if (p.seccomp_filters.empty())
    return;
  std::size_t bytes = sizeof(sock_fprog);
  for (const auto &f : p.seccomp_filters) {
    if (f.empty() || f.size() % sizeof(sock_filter) != 0 ||
        f.size() > BPF_MAXINSNS * sizeof(sock_filter))
      throw sdk::Error(sdk::Code::damaged_statefile,
                       fmt::format("damaged statefile: a seccomp filter of "
                                   "process {}",
                                   p.pid));
    bytes = std::max(bytes, sizeof(sock_fprog) + f.size());
  }
  sdk::Range area =
      t.map_private_area(p.address_space, (bytes + page - 1) / page);
  for (const auto &f : p.seccomp_filters) {
    sock_fprog prog{
        static_cast<unsigned short>(f.size() / sizeof(sock_filter)),
        reinterpret_cast<sock_filter *>(area.start + sizeof(sock_fprog))};
    t.write(area.start, &prog, sizeof prog);
    t.write(area.start + sizeof prog, f.data(), f.size());
    sdk::remote_call(t, "install its seccomp filter", SYS_seccomp,
                     SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                     area.start);
  }
  t.unmap(area);
}

} // namespace cpr::engine
