// plugins/timers: a process's interval timers (setitimer, alarm) and POSIX
// timers (timer_create), armed again last, once the process is whole.
#include "interval_timers.hpp"
#include "posix_timers.hpp"

#include <cpr/sdk/plugin.hpp>

namespace cpr::timers {

class TimersPlugin final : public sdk::Plugin {
public:
  std::string name() const override { return "timers"; }
  std::vector<std::unique_ptr<sdk::ProcessHandler>>
  process_handlers() const override {
    std::vector<std::unique_ptr<sdk::ProcessHandler>> out;
    out.push_back(std::make_unique<IntervalTimersHandler>());
    out.push_back(std::make_unique<PosixTimersHandler>());
    return out;
  }
};

} // namespace cpr::timers

CPR_PLUGIN(cpr::timers::TimersPlugin)
