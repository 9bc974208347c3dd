// The data of a memory object (a System V segment, a file in /dev/shm)
// into a file of the statefile and back.
#pragma once

#include "records.hpp"

#include <string>

namespace cpr::shm {

// Saves the data ranges of the first `size` bytes of the object open at
// `object_fd` (a tmpfs file: never-written pages are holes and cost
// nothing) as `ipc/<name>` of the statefile.
Contents save_contents(int object_fd, std::uint64_t size,
                       const std::string &statefile, const std::string &name);

// Throws "damaged statefile" unless the saved data is all there.
void check_contents(const Contents &contents, const std::string &statefile);

// Writes saved data back into the object open (for writing) at `object_fd`,
// `object_size` bytes long.
void restore_contents(const Contents &contents, const std::string &statefile,
                      int object_fd, std::uint64_t object_size);

} // namespace cpr::shm
