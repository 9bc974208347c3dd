// The words of an attribute file (see attribute_words.hpp).
#include "select/attribute_words.hpp"

#include "select/ids.hpp"

#include <cctype>
#include <filesystem>

namespace cpr::engine {

std::string upper(std::string_view text) {
  std::string out(text);
  for (char &c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> canonical_id(std::string_view type,
                                        std::string_view value) {
  if (type == "JID" && value.starts_with('/')) {
    std::string path = std::filesystem::path(value).lexically_normal();
    while (path.size() > 1 && path.back() == '/')
      path.pop_back();
    return path;
  }
  auto number = parse_number(value, type == "JID" ? 16 : 10);
  if (!number)
    return std::nullopt;
  return std::to_string(*number);
}

std::string canonical_id(const Id &id) {
  if (!id.cgroup_path.empty())
    return *canonical_id("JID", id.cgroup_path);
  return std::to_string(id.number);
}

bool is_id_value(std::string_view type, std::string_view value) {
  if (type == "*")
    return value == "*" || canonical_id("PID", value) ||
           canonical_id("JID", value);
  return canonical_id(type, value).has_value();
}

} // namespace cpr::engine
