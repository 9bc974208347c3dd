// Upgrade checkpoints (cpr -c -u, CKPT_CHECKPOINT_UPGRADE): the executable
// and the files a process maps privately (its shared libraries) are saved
// in the statefile's bin/, once per inode, so that a restart after they
// changed on disk (a system upgrade) runs the code the process ran.
#pragma once

#include "address_space.hpp"

#include <cpr/sdk/handler.hpp>

#include <string>
#include <sys/types.h>

namespace cpr::memory {

// Saves them for the frozen process `pid` and notes each copy in `as`.
void save_program_files(pid_t pid, AddressSpace &as,
                        const std::string &statefile);

// Whether the file at f.path is no longer the one the process mapped.
bool changed_since(const FileIdentity &f);

// What to open for a file the process mapped: the file itself while it is
// unchanged, else its saved copy, else (cpr -r --force-changed, the option
// memory.changed_ok) the file as it is now. Throws "component unavailable"
// naming the file when it changed and none of these applies.
std::string file_to_map(const FileIdentity &f, pid_t pid,
                        const sdk::RestoreContext &ctx);

} // namespace cpr::memory
