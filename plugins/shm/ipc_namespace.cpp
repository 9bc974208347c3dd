#include "ipc_namespace.hpp"

#include "ipc_space.hpp"

#include <cpr/sdk/payload.hpp>

namespace cpr::shm {

// The payload is a bool, true: older statefiles said as much in their
// header, and cpr moves that into a record of this kind as it reads them.
std::vector<sdk::Saved> IpcNamespaceHandler::save(sdk::SaveContext &ctx) const {
  IpcSpace &space = ipc_space(ctx.sessions);
  space.enter_set_namespace(ctx);
  if (!space.set_has_own())
    return {};
  return {{sdk::to_payload(true), "its own IPC namespace"}};
}

void IpcNamespaceHandler::check(const sdk::Record &,
                                const sdk::RestoreContext &ctx) const {
  ipc_space(ctx.sessions).restart_in_own(ctx.statefile);
}

} // namespace cpr::shm
