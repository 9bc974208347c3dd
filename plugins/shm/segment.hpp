// shm.sysv-segment: a System V shared memory segment the set attaches (or,
// with IPC ALL, one its owner has): key, id, owner, mode, size, the pages
// that hold data, and whether it is marked for removal.
#pragma once

#include "sysv.hpp"

#include <cpr/sdk/handler.hpp>

namespace cpr::shm {

class SegmentHandler final : public sdk::SetHandler {
public:
  std::string kind() const override { return "shm.sysv-segment"; }
  unsigned version() const override { return 1; }
  std::vector<sdk::Saved> save(sdk::SaveContext &ctx) const override;
  void check(const sdk::Record &record,
             const sdk::RestoreContext &ctx) const override;
  void restore(const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;

private:
  void make(const sdk::Record &record, sdk::RestoreContext &ctx) const;
};

} // namespace cpr::shm
