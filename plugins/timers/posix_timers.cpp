#include "posix_timers.hpp"
#include "posix_timer_record.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>

#include <csignal>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <vector>

namespace cpr::timers {
namespace {

constexpr int pr_timer_create_restore_ids = 77;
constexpr int restore_ids_off = 0, restore_ids_on = 1;

std::int64_t ns_of(const timespec &t) {
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

timespec timespec_of(std::int64_t ns) {
  return {static_cast<time_t>(ns / 1000000000LL),
          static_cast<long>(ns % 1000000000LL)};
}

// "notify: HOW/WHO.ID": HOW is "signal" or "none" (glibc turns SIGEV_THREAD
// into a signal to its helper thread), WHO "pid", or "tid" for
// SIGEV_THREAD_ID: "signal/tid.13" signals thread 13 alone.
void parse_notify(const std::string &value, PosixTimer &t) {
  auto slash = value.find('/');
  auto dot = value.find('.');
  std::string how = value.substr(0, slash);
  std::string who =
      slash == std::string::npos ? "" : value.substr(slash + 1, 3);
  t.notify = (how == "none" ? SIGEV_NONE : SIGEV_SIGNAL) |
             (who == "tid" ? SIGEV_THREAD_ID : 0);
  if (dot != std::string::npos)
    t.notify_tid = std::stoi(value.substr(dot + 1));
}

std::vector<PosixTimer> timers_in_proc(pid_t pid) {
  std::istringstream in(
      sdk::try_read_file(fmt::format("/proc/{}/timers", pid)).value_or(""));
  std::vector<PosixTimer> out;
  std::string key, value;
  while (in >> key >> value) {
    if (key == "ID:")
      out.push_back(PosixTimer{std::stoi(value)});
    else if (out.empty())
      continue;
    else if (key == "signal:") {
      out.back().signo = std::stoi(value.substr(0, value.find('/')));
      out.back().value =
          std::stoull(value.substr(value.find('/') + 1), nullptr, 16);
    } else if (key == "notify:")
      parse_notify(value, out.back());
    else if (key == "ClockID:")
      out.back().clock = std::stoi(value);
  }
  return out;
}

} // namespace

sdk::Saved PosixTimersHandler::save(sdk::Tracee &t, sdk::SaveContext &) const {
  std::vector<PosixTimer> timers = timers_in_proc(t.pid());
  if (timers.empty())
    return {};
  std::uint64_t buf = t.scratch(timers.size() * sizeof(struct itimerspec));
  std::vector<sdk::Tracee::Call> calls;
  for (std::size_t i = 0; i < timers.size(); ++i)
    calls.push_back({SYS_timer_gettime,
                     {static_cast<std::uint64_t>(timers[i].id),
                      buf + i * sizeof(struct itimerspec)}});
  std::vector<long> results = t.syscalls(calls);
  std::vector<struct itimerspec> times(timers.size());
  t.read(buf, times.data(), times.size() * sizeof(struct itimerspec));
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (results[i] < 0)
      throw sdk::Error(
          sdk::Code::checkpoint_error,
          fmt::format("Checkpoint error: cannot read timer {} "
                      "of process {}: {}",
                      timers[i].id, t.pid(),
                      std::strerror(static_cast<int>(-results[i]))));
    timers[i].interval_ns = ns_of(times[i].it_interval);
    timers[i].left_ns = ns_of(times[i].it_value);
  }
  return {sdk::to_payload(timers),
          fmt::format("{} POSIX timer{}", timers.size(),
                      timers.size() == 1 ? "" : "s")};
}

void PosixTimersHandler::restore(sdk::Tracee &t, const sdk::Record &record,
                                 sdk::RestoreContext &) const {
  auto timers = sdk::from_payload<std::vector<PosixTimer>>(record.payload);
  if (timers.empty())
    return;
  struct Args {
    sigevent event;
    std::int32_t id;
    struct itimerspec time;
  };
  std::uint64_t buf = t.scratch(sizeof(Args));
  sdk::remote_call(t, "ask for timers by id", SYS_prctl,
                   pr_timer_create_restore_ids, restore_ids_on);
  for (const PosixTimer &timer : timers) {
    Args a{};
    a.event.sigev_value.sival_ptr = reinterpret_cast<void *>(timer.value);
    a.event.sigev_signo = timer.signo;
    a.event.sigev_notify = timer.notify;
    a.event._sigev_un._tid = timer.notify_tid; // sigev_notify_thread_id
    a.id = timer.id;
    a.time = {timespec_of(timer.interval_ns), timespec_of(timer.left_ns)};
    t.write(buf, &a, sizeof a);
    std::string what = fmt::format("make its timer {} again", timer.id);
    sdk::remote_call(t, what, SYS_timer_create,
                     static_cast<std::uint64_t>(timer.clock),
                     buf + offsetof(Args, event), buf + offsetof(Args, id));
    if (timer.left_ns)
      sdk::remote_call(t, what, SYS_timer_settime,
                       static_cast<std::uint64_t>(timer.id), 0,
                       buf + offsetof(Args, time), 0);
  }
  sdk::remote_call(t, "go back to new timer ids", SYS_prctl,
                   pr_timer_create_restore_ids, restore_ids_off);
}

} // namespace cpr::timers
