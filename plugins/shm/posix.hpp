// shm.posix: a POSIX shared memory object (a file in /dev/shm: shm_open,
// and sem_open's named semaphores) that the set maps or holds open: its
// name, owner, mode, size and data. At restart it is put back under its
// name before the rest of the restart is checked, so the set's mappings
// and open files find it with what it held, as after a reboot; an object
// still there is given the saved data (FILE REPLACE, for /dev/shm).
#pragma once

#include <cpr/sdk/handler.hpp>

#include <string>
#include <vector>

namespace cpr::shm {

class PosixShmHandler final : public sdk::SetHandler {
public:
  std::string kind() const override { return "shm.posix"; }
  unsigned version() const override { return 1; }
  std::vector<sdk::Saved> save(sdk::SaveContext &ctx) const override;
  void check(const sdk::Record &record,
             const sdk::RestoreContext &ctx) const override;
  void restore(const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::shm
