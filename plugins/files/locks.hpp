#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::files {

// The POSIX (fcntl), OFD and flock locks a process holds, taken again at
// restart through the fds they were taken through.
class LocksHandler final : public sdk::ProcessHandler {
public:
  std::string kind() const override { return "files.locks"; }
  unsigned version() const override { return 1; }
  // After memory.mm (0): rebuilding memory opens and closes mapped files in
  // the process, and closing any fd of a file drops the POSIX locks the
  // process holds on it.
  sdk::Phase phase() const override { return sdk::Phase::open_files; }
  sdk::Saved save(sdk::Tracee &process, sdk::SaveContext &ctx) const override;
  void restore(sdk::Tracee &process, const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::files
