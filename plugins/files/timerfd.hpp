#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::files {

// A timerfd: its clock, the time left, the interval and the expirations not
// read yet.
class TimerFdHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "files.timerfd"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::files
