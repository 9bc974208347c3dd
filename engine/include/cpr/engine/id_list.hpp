// A -p list (`cpr -c sf -p ID[:TYPE],...`), parsed once where it enters:
// every IDtype of the guide's Table 1-1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cpr::engine {

enum class IdType { pid, pgid, sid, hid, sgp, jid, ash };

// "PID", "GID", "SID", "HID", "SGP", "JID", "ASH": the names in a -p list.
std::string_view id_type_name(IdType type);

struct Id {
  IdType type = IdType::pid;
  // The process, group, session or audit session; a JID's cgroup id.
  std::uint64_t number = 0;
  std::string cgroup_path; // a JID given as the cgroup's path
  std::string text;        // as written, for messages
};

class IdList {
public:
  IdList() = default;
  // Throws "Invalid argument: ..." for an item that names nothing that
  // could exist (an unknown type, "0", "abc:GID", the unset audit session).
  static IdList parse(const std::string &list);

  const std::vector<Id> &items() const { return items_; }
  bool empty() const { return items_.empty(); }
  // As written: what the statefile records and cpr -i shows.
  const std::string &text() const { return text_; }

private:
  std::vector<Id> items_;
  std::string text_;
};

} // namespace cpr::engine
