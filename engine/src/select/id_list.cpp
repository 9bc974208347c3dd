// Parsing a -p list: every item checked once, where the list comes in.
#include "select/ids.hpp"

#include <cpr/engine/id_list.hpp>
#include <cpr/sdk/error.hpp>

#include <climits>
#include <fmt/format.h>

namespace cpr::engine {
namespace {

struct TypeName {
  std::string_view name;
  IdType type;
  std::string_view meaning; // for messages: "'x' is not a <meaning>"
};

constexpr TypeName type_names[] = {
    {"PID", IdType::pid, "process ID"},
    {"GID", IdType::pgid, "process group ID"},
    {"SID", IdType::sid, "session ID"},
    {"HID", IdType::hid, "process ID"},
    {"SGP", IdType::sgp, "process ID"},
    {"JID", IdType::jid, "job ID (cgroup path or hex cgroup id)"},
    {"ASH", IdType::ash, "array session ID"},
};

constexpr std::uint64_t unset_audit_session = 4294967295; // AUDIT_SID_UNSET

[[noreturn]] void invalid(const std::string &what) {
  throw sdk::Error(EINVAL, "Invalid argument: " + what);
}

[[noreturn]] void not_an_id(const Id &id) {
  for (const auto &t : type_names)
    if (t.type == id.type)
      invalid(fmt::format("'{}' is not a {}", id.text, t.meaning));
  invalid("'" + id.text + "'");
}

IdType parse_type(const std::string &type, const std::string &item) {
  for (const auto &t : type_names)
    if (t.name == type)
      return t.type;
  invalid(fmt::format("unknown ID type '{}' in '{}' (use PID, GID, SID, ASH, "
                      "HID, SGP or JID)",
                      type, item));
}

std::vector<std::string> split_commas(const std::string &list) {
  std::vector<std::string> pieces(1);
  for (char c : list)
    if (c == ',')
      pieces.emplace_back();
    else
      pieces.back() += c;
  return pieces;
}

// A cgroup path may hold ',' (but no ':'): a piece that starts a path runs on
// to the piece that carries its ":JID".
std::vector<std::string> split_items(const std::string &list) {
  std::vector<std::string> items;
  bool in_path = false;
  for (auto &piece : split_commas(list)) {
    if (in_path)
      items.back() += "," + piece;
    else
      items.push_back(std::move(piece));
    const std::string &item = items.back();
    in_path = !item.empty() && item.front() == '/' &&
              item.find(':') == std::string::npos;
  }
  return items;
}

// The ID's value, checked for its type.
void parse_value(Id &id, const std::string &value) {
  if (id.type == IdType::jid && value.front() == '/') {
    id.cgroup_path = value;
    return;
  }
  auto number = parse_number(value, id.type == IdType::jid ? 16 : 10);
  if (!number)
    not_an_id(id);
  id.number = *number;
  if (id.type == IdType::ash && id.number == unset_audit_session)
    invalid(fmt::format("'{}' is the unset audit session", id.text));
  bool names_a_process = id.type != IdType::jid && id.type != IdType::ash;
  if (names_a_process && (id.number == 0 || id.number > INT_MAX))
    not_an_id(id);
}

Id parse_item(const std::string &text, const std::string &list) {
  if (text.empty())
    invalid(fmt::format("an empty item in the ID list '{}'", list));
  Id id{IdType::pid, 0, "", text};
  std::string value = text;
  if (auto colon = text.rfind(':'); colon != std::string::npos) {
    value = text.substr(0, colon);
    id.type = parse_type(text.substr(colon + 1), text);
  }
  if (value.empty())
    not_an_id(id);
  parse_value(id, value);
  return id;
}

} // namespace

std::string_view id_type_name(IdType type) {
  for (const auto &t : type_names)
    if (t.type == type)
      return t.name;
  return "?";
}

IdList IdList::parse(const std::string &list) {
  IdList ids;
  ids.text_ = list;
  if (list.empty())
    return ids;
  for (const auto &text : split_items(list))
    ids.items_.push_back(parse_item(text, list));
  return ids;
}

} // namespace cpr::engine
