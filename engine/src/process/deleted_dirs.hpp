// A working directory (or root) removed while a process is in it: the
// process still works there, in an empty directory that no path reaches.
// A restart makes a directory, enters it and removes it: the same state.
#pragma once

#include "statefile/manifest.hpp"

#include <string>

namespace cpr::engine {

// At checkpoint: the cwd and root of process `pid`, and whether each was
// deleted. Throws a Checkpoint error for a deleted root the process is not
// working in (nothing could be restored inside it).
void collect_directories(pid_t pid, ProcessRecord &p);

// At restart, in the process itself: into its working directory, or a
// directory made and removed again in its place. Throws "component
// unavailable" naming the directory.
void enter_working_directory(const ProcessRecord &p);

} // namespace cpr::engine
