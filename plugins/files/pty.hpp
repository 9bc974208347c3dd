#pragma once

#include "device_records.hpp"

#include <cpr/sdk/handler.hpp>

namespace cpr::files {

// The master end of a pty (/dev/ptmx), with the state of the pair and the
// bytes in it both ways. Its slave, when the set holds it too, is a
// files.terminal record with the same pty index: the two are made again
// together, in cpr before it forks the set, with the same index if it is
// free (else another, and the slave's name changes).
class PtyMasterHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "files.pty-master"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
  bool open_before_fork() const override { return true; }
};

// Whether a process of the set holds the master of pty `index`.
bool master_in_set(int index, const sdk::SaveContext &ctx);
// A new open file of the slave of pty `saved_index` of the statefile, made
// again.
int open_pty_slave(const sdk::RestoreContext &ctx, int saved_index,
                   std::uint32_t flags);

} // namespace cpr::files
