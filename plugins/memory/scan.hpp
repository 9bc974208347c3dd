// Checkpoint side: what a frozen process's address space holds.
#pragma once

#include "address_space.hpp"

#include <cpr/sdk/pages.hpp>
#include <cpr/sdk/session.hpp>
#include <cpr/sdk/tracee.hpp>

#include <map>

namespace cpr::memory {

// Shared anonymous memory already saved in this checkpoint, by object
// (inode): which process holds which part of it, at which range. Each part
// comes back as an object of its own, which later mappings of (a piece of)
// that part map again.
struct SharedMemorySeen final : sdk::Session {
  struct Holder {
    std::int32_t pid;
    sdk::Range range;
    std::uint64_t offset; // of range's start in the object
  };
  std::map<std::uint64_t, std::vector<Holder>> holders;
};

// Deleted files and memfds it maps are saved under `statefile`.
AddressSpace scan_address_space(sdk::Tracee &t, sdk::PageSink &pages,
                                SharedMemorySeen &seen,
                                const std::string &statefile);
FileIdentity identify(const std::string &path, const std::string &stat_path);
// The CRC of this process's own vDSO, and its size.
std::pair<std::uint32_t, std::uint64_t> own_vdso();

} // namespace cpr::memory
