// Checkpoint side: what a frozen process's address space holds.
#pragma once

#include "address_space.hpp"

#include <cpr/sdk/pages.hpp>
#include <cpr/sdk/tracee.hpp>

namespace cpr::memory {

AddressSpace scan_address_space(sdk::Tracee &t, sdk::PageSink &pages);
FileIdentity identify(const std::string &path, const std::string &stat_path);
// The CRC of this process's own vDSO, and its size.
std::pair<std::uint32_t, std::uint64_t> own_vdso();

} // namespace cpr::memory
