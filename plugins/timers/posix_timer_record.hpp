// The saved form of a process's POSIX timers (timers.posix, version 1): a
// vector of these. Its archive is the one cpr's ProcessRecord held before
// timers had a plugin, so that older statefiles' timers read as version 1.
#pragma once

#include <cstdint>

namespace cpr::timers {

struct PosixTimer {
  std::int32_t id = 0, clock = 0, signo = 0;
  std::int32_t notify = 0;     // SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID
  std::int32_t notify_tid = 0; // SIGEV_THREAD_ID's thread
  std::uint64_t value = 0;     // sigev_value
  std::int64_t interval_ns = 0, left_ns = 0;

  template <class A> void serialize(A &ar, unsigned) {
    ar &id &clock &signo &notify &notify_tid &value &interval_ns &left_ns;
  }
};

} // namespace cpr::timers
