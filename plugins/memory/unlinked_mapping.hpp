// Mappings of files that have no name: deleted files and memfds. Their
// contents go into the statefile once per inode, under the name the files
// plugin gives them too (sdk/unlinked.hpp); at restart the file is made
// once, in cpr, and every mapping and open file of it shares it.
#pragma once

#include "address_space.hpp"

#include <cpr/sdk/handler.hpp>

#include <sys/types.h>

namespace cpr::memory {

// "/memfd:NAME (deleted)", or a file deleted while mapped (not a System V
// segment, not shared memory of /dev/shm or /dev/zero, which are carried
// as shared anonymous memory).
bool maps_unlinked_file(const std::string &maps_path, bool shared);

// Saves the file `v` maps (the copy is skipped if this checkpoint has it)
// and records it in `v`.
void save_unlinked_mapping(pid_t pid, Vma &v, const std::string &statefile);

// cpr's fd of the file made again for `v`.
int remade_mapped_file(const Vma &v, const sdk::RestoreContext &ctx);

} // namespace cpr::memory
