// POSIX timers (timer_create): found in /proc/PID/timers, their time left
// asked from inside; made again with their ids through
// PR_TIMER_CREATE_RESTORE_IDS (Linux 6.13), which makes timer_create take
// the id it is given.
#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::timers {

class PosixTimersHandler final : public sdk::ProcessHandler {
public:
  std::string kind() const override { return "timers.posix"; }
  unsigned version() const override { return 1; }
  sdk::Phase phase() const override { return sdk::Phase::after_threads; }
  sdk::Saved save(sdk::Tracee &process, sdk::SaveContext &ctx) const override;
  void restore(sdk::Tracee &process, const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::timers
