// State that older statefiles kept in the engine's own records and that a
// plugin handles now: moved, as a MANIFEST is read, into records of that
// plugin's kind, in the plugin's format.
#pragma once

#include "statefile/manifest.hpp"

namespace cpr::engine {

// Interval and POSIX timers (ProcessRecord class versions 3 to 10) into
// "timers.interval" and "timers.posix" records (version 1), for processes
// that had any; the set's own IPC namespace (Header class version 4) into
// the first set record, "shm.ipc-namespace" (version 1); the controlling
// terminals (ProcessRecord 5 to 11, Header 2 to 5) into a set record
// "files.controlling-terminal" (version 1).
void move_legacy_records(Manifest &manifest);

} // namespace cpr::engine
