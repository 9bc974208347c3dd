#include "timerfd.hpp"

#include "fd_object_records.hpp"
#include "fdinfo.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <tuple>
#include <unistd.h>

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, std::uint64_t)
#endif

namespace cpr::files {
namespace {

constexpr unsigned known_settime_flags =
    TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;

// "(SECONDS, NANOSECONDS)", as fdinfo prints it_value and it_interval.
std::pair<std::int64_t, std::int64_t>
parse_time(const sdk::OpenFile &file, const FdInfo &info, const char *key) {
  std::string text = info.value(key);
  auto comma = text.find(", ");
  if (text.size() < 5 || text.front() != '(' || text.back() != ')' ||
      comma == std::string::npos)
    throw sdk::Error(fd_error(
        file, fmt::format("fdinfo {} is '{}', not a time", key, text)));
  std::string sec = text.substr(1, comma - 1);
  std::string nsec = text.substr(comma + 2, text.size() - comma - 3);
  return {static_cast<std::int64_t>(parse_number(file, sec, 10, key)),
          static_cast<std::int64_t>(parse_number(file, nsec, 10, key))};
}

TimerFd read_timer(const sdk::OpenFile &file) {
  FdInfo info(file);
  TimerFd rec;
  rec.clock = static_cast<std::int32_t>(info.number("clockid:", 10));
  rec.flags = file.flags;
  rec.ticks = info.number("ticks:", 10);
  rec.settime_flags =
      static_cast<std::uint32_t>(info.number("settime flags:", 8));
  if (rec.settime_flags & ~known_settime_flags)
    throw sdk::Error(
        fd_error(file, fmt::format("settime flags 0{:o} not understood",
                                   rec.settime_flags)));
  std::tie(rec.value_sec, rec.value_nsec) = parse_time(file, info, "it_value:");
  std::tie(rec.interval_sec, rec.interval_nsec) =
      parse_time(file, info, "it_interval:");
  return rec;
}

bool expired_periodic(const TimerFd &rec) {
  return rec.value_sec == 0 && rec.value_nsec == 0 &&
         (rec.interval_sec != 0 || rec.interval_nsec != 0);
}

// An expired periodic timer is rearmed (its missed expirations counted) only
// when it is read or asked for its time; fdinfo would show it disarmed. Ask
// it, through a copy of the fd, as the process itself could have.
TimerFd read_rearmed_timer(const sdk::OpenFile &file) {
  UniqueFd timer = borrow_fd(file);
  for (int attempt = 0; attempt < 8; ++attempt) {
    itimerspec now{};
    if (::timerfd_gettime(timer.get(), &now) != 0)
      sdk::throw_errno(fd_error(file, "cannot read the timer"), errno);
    TimerFd rec = read_timer(file);
    if (!expired_periodic(rec))
      return rec;
  }
  throw sdk::Error(
      fd_error(file, "the timer expires faster than it can be read"));
}

std::string seconds(std::int64_t sec, std::int64_t nsec) {
  return fmt::format("{}.{:09}", sec, nsec);
}

timespec add(timespec a, std::int64_t sec, std::int64_t nsec) {
  a.tv_sec += sec;
  a.tv_nsec += nsec;
  if (a.tv_nsec >= 1000000000) {
    a.tv_sec += 1;
    a.tv_nsec -= 1000000000;
  }
  return a;
}

void arm(int fd, const TimerFd &rec) {
  itimerspec its{};
  its.it_interval = {rec.interval_sec, rec.interval_nsec};
  its.it_value = {rec.value_sec, rec.value_nsec};
  if (rec.settime_flags & TFD_TIMER_ABSTIME) {
    timespec now{};
    if (::clock_gettime(rec.clock, &now) != 0)
      sdk::throw_errno(fmt::format("cannot read clock {}", rec.clock), errno);
    its.it_value = add(now, rec.value_sec, rec.value_nsec);
  }
  if (::timerfd_settime(fd, static_cast<int>(rec.settime_flags), &its,
                        nullptr) != 0)
    sdk::throw_errno("cannot arm a timerfd", errno);
}

} // namespace

bool TimerFdHandler::claims(const sdk::OpenFile &file) const {
  return file.path == "anon_inode:[timerfd]";
}

sdk::Saved TimerFdHandler::save(const sdk::OpenFile &file,
                                sdk::SaveContext &) const {
  check_flags(file, O_RDWR, O_NONBLOCK);
  TimerFd rec = read_rearmed_timer(file);
  std::string when =
      rec.value_sec == 0 && rec.value_nsec == 0
          ? "disarmed"
          : fmt::format("next in {} s, every {} s",
                        seconds(rec.value_sec, rec.value_nsec),
                        seconds(rec.interval_sec, rec.interval_nsec));
  return {sdk::to_payload(rec),
          fmt::format("timerfd, clock {}, {}, {} unread expirations{}",
                      rec.clock, when, rec.ticks,
                      rec.flags & O_NONBLOCK ? ", nonblocking" : "")};
}

// The timer gets the time it had left (an absolute one as well: it was
// absent meanwhile), then the expirations nobody had read.
int TimerFdHandler::open(const sdk::Record &record,
                         sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<TimerFd>(record.payload);
  int flags = TFD_CLOEXEC | (rec.flags & O_NONBLOCK ? TFD_NONBLOCK : 0);
  int fd = ::timerfd_create(rec.clock, flags);
  if (fd < 0)
    sdk::throw_errno(
        fmt::format("cannot create a timerfd on clock {}", rec.clock), errno);
  try {
    if (rec.value_sec != 0 || rec.value_nsec != 0)
      arm(fd, rec);
    if (rec.ticks != 0 && ::ioctl(fd, TFD_IOC_SET_TICKS, &rec.ticks) != 0)
      sdk::throw_errno("cannot give a timerfd its unread expirations", errno);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return fd;
}

} // namespace cpr::files
