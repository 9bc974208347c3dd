#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::files {

// /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/tty
// (the controlling terminal of whoever opens it), /dev/console: nothing to
// carry but the open flags, and for /dev/tty the terminal it led to, for a
// process restarted without one (see terminal.hpp).
class DeviceHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "files.device"; }
  unsigned version() const override { return 2; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::files
