// The objects of the whole set (System V IPC objects, POSIX shared memory),
// made by their handlers before the rest of a restart is checked.
#pragma once

#include "dispatch/registry.hpp"
#include "restore/ipc_namespace.hpp"
#include "restore/loaded_statefile.hpp"

#include <cpr/engine/engine.hpp>

#include <vector>

namespace cpr::engine {

// Objects of the whole set (System V IPC objects, POSIX shared memory) are
// made first: the checks of the rest may need them (a file mapped from
// /dev/shm), and they are taken away again if the restart fails. Under
// FORK ANY, an id held by another object moves them all to a new IPC
// namespace.
void make_set_objects(const std::vector<LoadedStatefile> &loaded,
                      const Registry &registry, Fork fork, IpcNamespace &ipc);

} // namespace cpr::engine
