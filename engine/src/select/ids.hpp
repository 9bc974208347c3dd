// Helpers behind resolve_ids that the unit tests use too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cpr::engine {

// Decimal, or hex with 0x; bare_base 16 makes bare numbers hex too.
std::optional<std::uint64_t> parse_number(std::string_view text,
                                          int bare_base = 10);

// Where the cgroup v2 hierarchy is mounted ("/sys/fs/cgroup",
// "/sys/fs/cgroup/unified" on hybrid systems), or "" if it is not.
std::string cgroup2_root();

} // namespace cpr::engine
