// shm.sysv-msg: a System V message queue the set uses (a process of the set
// sent or received its last message), or with IPC ALL one its owner has:
// key, id, owner, mode, size limit, and every message with its type, in
// order, read without taking it (MSG_COPY).
#pragma once

#include "sysv.hpp"

#include <cpr/sdk/handler.hpp>

namespace cpr::shm {

class QueueHandler final : public sdk::SetHandler {
public:
  std::string kind() const override { return "shm.sysv-msg"; }
  unsigned version() const override { return 1; }
  std::vector<sdk::Saved> save(sdk::SaveContext &ctx) const override;
  void restore(const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;
  void restart_over(bool succeeded) const override {
    made_.restart_over(succeeded);
  }

private:
  mutable MadeObjects made_{IpcKind::msg};
};

} // namespace cpr::shm
