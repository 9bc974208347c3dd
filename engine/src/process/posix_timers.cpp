// POSIX timers (timer_create): found in /proc/PID/timers, their time left
// asked from inside; made again with their ids through
// PR_TIMER_CREATE_RESTORE_IDS (Linux 6.13), which makes timer_create take
// the id it is given.
#include "process/process_state.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <csignal>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/syscall.h>

namespace cpr::engine {
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

void collect_posix_timers(RemoteProcess &t, ProcessRecord &p) {
  p.posix_timers = timers_in_proc(t.pid());
  if (p.posix_timers.empty())
    return;
  std::uint64_t buf =
      t.scratch(p.posix_timers.size() * sizeof(struct itimerspec));
  std::vector<RemoteProcess::Call> calls;
  for (std::size_t i = 0; i < p.posix_timers.size(); ++i)
    calls.push_back({SYS_timer_gettime,
                     {static_cast<std::uint64_t>(p.posix_timers[i].id),
                      buf + i * sizeof(struct itimerspec)}});
  std::vector<long> results = t.syscalls(calls);
  std::vector<struct itimerspec> times(p.posix_timers.size());
  t.read(buf, times.data(), times.size() * sizeof(struct itimerspec));
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (results[i] < 0)
      throw sdk::Error(
          sdk::Code::checkpoint_error,
          fmt::format("Checkpoint error: cannot read timer {} "
                      "of process {}: {}",
                      p.posix_timers[i].id, t.pid(),
                      std::strerror(static_cast<int>(-results[i]))));
    p.posix_timers[i].interval_ns = ns_of(times[i].it_interval);
    p.posix_timers[i].left_ns = ns_of(times[i].it_value);
  }
}

void restore_posix_timers(RemoteProcess &t, const ProcessRecord &p) {
  if (p.posix_timers.empty())
    return;
  struct Args {
    sigevent event;
    std::int32_t id;
    struct itimerspec time;
  };
  std::uint64_t buf = t.scratch(sizeof(Args));
  sdk::remote_call(t, "ask for timers by id", SYS_prctl,
                   pr_timer_create_restore_ids, restore_ids_on);
  for (const PosixTimer &timer : p.posix_timers) {
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

} // namespace cpr::engine
