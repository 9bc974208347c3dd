// What a checkpoint saves of each frozen process and of the set: the core's
// own state of the process, its fds and process-wide objects through their
// handlers, and the set's objects (System V IPC ...).
#pragma once

#include "dispatch/fd_table.hpp"
#include "dispatch/registry.hpp"
#include "freeze/frozen.hpp"
#include "statefile/manifest.hpp"
#include "trust/credentials_bound.hpp"

#include <cpr/sdk/handler.hpp>

namespace cpr::engine {

// `shares_mm_with`: the process (its parent) whose address space it
// shares, 0 if none; `caller`: who asked, whose rights bound what is read.
void collect_process(FrozenProcess &frozen, const Registry &registry,
                     sdk::SaveContext &ctx, FdTableCollector &fds,
                     Manifest &manifest, pid_t shares_mm_with,
                     const Rights &caller);

// Objects of the whole set, once every process is frozen and saved.
void collect_set_objects(const Registry &registry, sdk::SaveContext &ctx,
                         Manifest &manifest);

// What would stop a restart's build is found now, before anything is killed.
void check_build_order(const Manifest &manifest);

} // namespace cpr::engine
