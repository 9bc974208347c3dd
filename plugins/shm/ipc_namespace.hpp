// shm.ipc-namespace: the set lived in an IPC namespace of its own (one
// record, none otherwise). Its record is the first of the set's: checking
// it puts cpr in a new IPC namespace, where the other records are checked
// and made and which the processes inherit (ipc_space.hpp).
#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::shm {

class IpcNamespaceHandler final : public sdk::SetHandler {
public:
  std::string kind() const override { return "shm.ipc-namespace"; }
  unsigned version() const override { return 1; }
  std::vector<sdk::Saved> save(sdk::SaveContext &ctx) const override;
  void check(const sdk::Record &record,
             const sdk::RestoreContext &ctx) const override;
  void restore(const sdk::Record &, sdk::RestoreContext &) const override {}
};

} // namespace cpr::shm
