// The objects of the whole set (System V IPC objects, POSIX shared memory,
// the set's IPC namespace), made by their handlers before the rest of a
// restart is checked.
#pragma once

#include "dispatch/registry.hpp"
#include "restore/loaded_statefile.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/terminals.hpp>

#include <functional>

#include <vector>

namespace cpr::engine {

// Each statefile's set records checked, then made, in the order they were
// saved: the checks of the rest may need them (a file mapped from
// /dev/shm), and their sessions take them back if the restart fails.
// `terminals`: how the sessions meet terminals, as handlers say;
// `live_pid`: what a handler may ask once every process is made.
void make_set_objects(const std::vector<LoadedStatefile> &loaded,
                      const Registry &registry,
                      sdk::SessionTerminals &terminals,
                      const std::function<pid_t(pid_t)> &live_pid);

} // namespace cpr::engine
