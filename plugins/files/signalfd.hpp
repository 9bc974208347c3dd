#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::files {

// A signalfd: the signals it reads.
class SignalFdHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "files.signalfd"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::files
