// shm.sysv-sem: a System V semaphore set the set uses (a process of the set
// was the last to change one of its semaphores), or with IPC ALL one its
// owner has: key, id, owner, mode and every value. The kernel does not
// show a process's undo adjustments (SEM_UNDO), so they are not carried.
//
// shm.sysv-sem-user: which semaphores a process was the last to change; it
// changes them again at restart (to the same value), so that the next
// checkpoint finds the set the same way.
#pragma once

#include "sysv.hpp"

#include <cpr/sdk/handler.hpp>

namespace cpr::shm {

class SemaphoreHandler final : public sdk::SetHandler {
public:
  std::string kind() const override { return "shm.sysv-sem"; }
  unsigned version() const override { return 1; }
  std::vector<sdk::Saved> save(sdk::SaveContext &ctx) const override;
  void restore(const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;

private:
  void make(const sdk::Record &record, sdk::RestoreContext &ctx) const;
};

class SemUserHandler final : public sdk::ProcessHandler {
public:
  std::string kind() const override { return "shm.sysv-sem-user"; }
  unsigned version() const override { return 1; }
  sdk::Phase phase() const override { return sdk::Phase::process_ipc; }
  sdk::Saved save(sdk::Tracee &process, sdk::SaveContext &ctx) const override;
  void restore(sdk::Tracee &process, const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::shm
