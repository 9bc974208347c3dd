// Restart side: the helper's own image goes, and the saved address space is
// built in its place by remote calls.
#pragma once

#include "address_space.hpp"

#include <cpr/sdk/handler.hpp>
#include <cpr/sdk/tracee.hpp>

namespace cpr::memory {

// Throws "component unavailable" if a mapped file or the vDSO changed.
// Makes the deleted files and memfds it maps again (in cpr).
void check_restorable(const AddressSpace &as, const sdk::RestoreContext &ctx);
void rebuild_address_space(sdk::Tracee &t, const AddressSpace &as,
                           sdk::RestoreContext &ctx);

} // namespace cpr::memory
