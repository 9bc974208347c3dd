// The MANIFEST's bytes: "CPRSTATE", revision, CRC-32, length, then the
// Boost.Serialization archive of the Manifest. Reading never trusts a
// length: every count and string size in the archive is bounded by the
// bytes there are (tests/fuzz runs libFuzzer over it).
#pragma once

#include "statefile/manifest.hpp"

#include <string>

namespace cpr::engine {

std::string manifest_bytes(const Manifest &manifest);
// Throws "damaged statefile NAME: ..." for anything but a whole MANIFEST.
Manifest parse_manifest(const std::string &bytes, const std::string &name);
// Whether `head` starts like a MANIFEST.
bool has_manifest_magic(const char *head, std::size_t len);

} // namespace cpr::engine
