#include "interval_timers.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <string>
#include <sys/syscall.h>
#include <sys/time.h>
#include <vector>

namespace cpr::timers {
namespace {

constexpr int timer_count = 3; // ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF
constexpr const char *timer_names[timer_count] = {"real", "virtual", "prof"};

// Per timer, as getitimer gives it: interval (s, µs), then time left.
using Saved = std::vector<std::int64_t>;

bool armed(const itimerval &v) {
  return v.it_value.tv_sec != 0 || v.it_value.tv_usec != 0;
}

// Whether SIGALRM is pending for the whole process (ShdPnd).
bool alarm_pending(pid_t pid) {
  auto status = sdk::try_read_file(fmt::format("/proc/{}/status", pid));
  auto at = status ? status->find("\nShdPnd:") : std::string::npos;
  if (at == std::string::npos)
    return false;
  std::uint64_t mask = std::stoull(status->substr(at + 8), nullptr, 16);
  return (mask >> (SIGALRM - 1)) & 1;
}

// The kernel re-arms a periodic ITIMER_REAL only as its SIGALRM is taken:
// one that expired while the process was frozen reads as disarmed (no time
// left, its interval kept) with its signal pending, saved with the process.
// It is saved armed for one interval, else it would never fire again.
void rearm_expired_real(itimerval &real, pid_t pid) {
  bool periodic = real.it_interval.tv_sec != 0 || real.it_interval.tv_usec != 0;
  if (!armed(real) && periodic && alarm_pending(pid))
    real.it_value = real.it_interval;
}

std::string summary_of(const itimerval (&timers)[timer_count]) {
  std::string out;
  for (int which = 0; which < timer_count; ++which)
    if (armed(timers[which]))
      out += fmt::format("{}{} timer in {}.{:06} s", out.empty() ? "" : ", ",
                         timer_names[which], timers[which].it_value.tv_sec,
                         timers[which].it_value.tv_usec);
  return out;
}

} // namespace

sdk::Saved IntervalTimersHandler::save(sdk::Tracee &t,
                                       sdk::SaveContext &) const {
  std::uint64_t buf = t.scratch(timer_count * sizeof(itimerval));
  std::vector<sdk::Tracee::Call> calls;
  for (int which = 0; which < timer_count; ++which)
    calls.push_back(
        {SYS_getitimer,
         {static_cast<std::uint64_t>(which),
          buf + static_cast<std::uint64_t>(which) * sizeof(itimerval)}});
  std::vector<long> results = t.syscalls(calls);
  for (int which = 0; which < timer_count; ++which)
    if (results[which] < 0)
      throw sdk::Error(
          sdk::Code::checkpoint_error,
          fmt::format("Checkpoint error: cannot read the {} interval timer of "
                      "process {}: {}",
                      timer_names[which], t.pid(),
                      std::strerror(static_cast<int>(-results[which]))));
  itimerval timers[timer_count];
  t.read(buf, timers, sizeof timers);
  rearm_expired_real(timers[ITIMER_REAL], t.pid());
  if (std::none_of(std::begin(timers), std::end(timers), armed))
    return {};
  Saved saved;
  for (const itimerval &v : timers)
    for (const timeval &tv : {v.it_interval, v.it_value})
      saved.insert(saved.end(), {tv.tv_sec, tv.tv_usec});
  return {sdk::to_payload(saved), summary_of(timers)};
}

void IntervalTimersHandler::restore(sdk::Tracee &t, const sdk::Record &record,
                                    sdk::RestoreContext &) const {
  auto saved = sdk::from_payload<Saved>(record.payload);
  if (saved.size() != timer_count * 4)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile: process {} has {} "
                                 "interval timer fields, not {}",
                                 t.pid(), saved.size(), timer_count * 4));
  std::uint64_t buf = t.scratch(sizeof(itimerval));
  for (int which = 0; which < timer_count; ++which) {
    const std::int64_t *f = &saved[static_cast<std::size_t>(which) * 4];
    itimerval v{{f[0], f[1]}, {f[2], f[3]}};
    if (!armed(v))
      continue;
    t.write(buf, &v, sizeof v);
    sdk::remote_call(
        t, fmt::format("restore its {} interval timer", timer_names[which]),
        SYS_setitimer, static_cast<std::uint64_t>(which), buf, 0);
  }
}

} // namespace cpr::timers
