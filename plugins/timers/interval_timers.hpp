// The interval timers of setitimer (ITIMER_REAL, which alarm() sets,
// ITIMER_VIRTUAL, ITIMER_PROF): saved as getitimer gives them, and going on
// at restart from the time they had left.
#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::timers {

class IntervalTimersHandler final : public sdk::ProcessHandler {
public:
  std::string kind() const override { return "timers.interval"; }
  unsigned version() const override { return 1; }
  sdk::Phase phase() const override { return sdk::Phase::after_threads; }
  sdk::Saved save(sdk::Tracee &process, sdk::SaveContext &ctx) const override;
  void restore(sdk::Tracee &process, const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::timers
