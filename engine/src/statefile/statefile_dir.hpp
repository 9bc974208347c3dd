// What makes a directory a statefile, and what it owns: the MANIFEST's
// magic, the OUTSIDE list of its files elsewhere, the digests of its files
// that its seal holds.
#pragma once

#include "statefile/seal.hpp"

#include <string>
#include <vector>

namespace cpr::engine {

// A statefile has a MANIFEST that starts with our magic.
bool looks_like_statefile(const std::string &path);

// The files a statefile owns outside its directory, one path a line.
inline constexpr const char *outside_list = "OUTSIDE";

// Where the statefiles that refer to its pages (cpr -c --since) leave
// their names, outside its seal: one file each, holding a path.
inline constexpr const char *followers_dir = "needed-by/";

// Removes them, but not those in `kept` (a new statefile's), and only names
// a checkpoint makes (NAME.ckpt.pidPID).
void remove_outside_files(const std::string &statefile,
                          const std::vector<std::string> &kept = {});

// The digest of every file of the statefile, but those already known (the
// pages, hashed as they were written).
SealEntries digests_of(const std::string &dir, const SealKey &key,
                       const std::vector<std::string> &outside,
                       SealEntries known);

} // namespace cpr::engine
