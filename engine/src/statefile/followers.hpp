// Statefiles that follow others (cpr -c NEW --since OLD): NEW refers to the
// pages OLD (or one OLD follows) holds unchanged, so OLD must stay as long
// as NEW does.
#pragma once

#include "statefile/manifest.hpp"
#include "statefile/page_index.hpp"
#include "statefile/statefile.hpp"

#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::engine {

struct Earlier {
  std::vector<Ancestor> ancestors; // OLD first, then those OLD follows
  EarlierPages pages;
};

// OLD, checked against its seal, for a checkpoint into `path` of processes
// of `owner`: the caller may restart it, it is `owner`'s, it is not `path`.
Earlier load_earlier(const std::string &old, const std::string &path,
                     uid_t owner);

// Leaves `path` in each ancestor's needed-by/, as `owner` (with the rights
// of `owner`, `group` only).
void add_follower(const std::vector<Ancestor> &ancestors,
                  const std::string &path, uid_t owner, gid_t group);

// Takes the name of the statefile at `path` (about to be deleted) out of
// its ancestors' needed-by/, if it can.
void remove_follower(const std::string &path);

// Throws "Resource busy" if a statefile refers to the pages of the one at
// `path` (which is about to be deleted or overwritten).
void check_not_needed(const std::string &path);

// The ancestors of the statefile `path` holds, each opened and checked:
// the one it was made from (same nonce), restartable by the caller, with
// the same owner. Source k is the k-1th.
std::vector<OpenedStatefile> open_ancestors(const std::string &path,
                                            const Header &header);

} // namespace cpr::engine
