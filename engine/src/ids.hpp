// Helpers behind resolve_ids that the unit tests use too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cpr::engine {

// One item of a -p list as written: its ID and its IDtype name ("PID" when
// none is given). Throws "Invalid argument" as resolve_ids does.
struct IdItem {
  std::string type;
  std::string id;
};
std::vector<IdItem> split_id_list(const std::string &ids);

// Decimal, or hex with 0x; bare_base 16 makes bare numbers hex too.
std::optional<std::uint64_t> parse_number(std::string_view text,
                                          int bare_base = 10);

// Where the cgroup v2 hierarchy is mounted ("/sys/fs/cgroup",
// "/sys/fs/cgroup/unified" on hybrid systems), or "" if it is not.
std::string cgroup2_root();

} // namespace cpr::engine
