// Checkpoint side: what a frozen process's address space holds.
#pragma once

#include "address_space.hpp"

#include <cpr/sdk/pages.hpp>
#include <cpr/sdk/tracee.hpp>

#include <map>

namespace cpr::memory {

// Shared anonymous memory already saved in this checkpoint, by object
// (inode) and offset in it: which process holds it, at which range. Each
// such mapping comes back as one object of its own, shared by its holders.
struct SharedMemorySeen {
  std::map<std::pair<std::uint64_t, std::uint64_t>,
           std::pair<std::int32_t, sdk::Range>>
      holders;
};

AddressSpace scan_address_space(sdk::Tracee &t, sdk::PageSink &pages,
                                SharedMemorySeen &seen);
FileIdentity identify(const std::string &path, const std::string &stat_path);
// The CRC of this process's own vDSO, and its size.
std::pair<std::uint32_t, std::uint64_t> own_vdso();

} // namespace cpr::memory
