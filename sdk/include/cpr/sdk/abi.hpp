// The version of the interface between the engine and its plugins.
#pragma once

namespace cpr::sdk {

// Bumped whenever a class of this SDK changes its layout or virtual table.
// A plugin built against another ABI is refused when it loads.
inline constexpr unsigned abi_version = 16;

} // namespace cpr::sdk
