// CpuPin: cpr and a tracee on one CPU while cpr makes remote calls.
#include "remote/remote.hpp"

#include <cpr/sdk/procfs.hpp>

#include <fmt/format.h>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/sysinfo.h>

namespace cpr::engine {

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

void run_on_own_cpu(unsigned k) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(k % static_cast<unsigned>(::get_nprocs()), &one);
  if (::sched_setaffinity(0, sizeof one, &one) != 0)
    allow_any_cpu();
}

} // namespace cpr::engine
