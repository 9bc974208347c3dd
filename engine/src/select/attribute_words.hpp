// The words of an attribute file: its keywords both ways (word to value,
// value to name) and its ID values as compared with the IDs of a -p list.
#pragma once

#include "select/attributes.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cpr::engine {

template <class T> struct Keyword {
  std::string_view name;
  T value;
};

inline constexpr Keyword<FileDisposition> file_actions[] = {
    {"MERGE", FileDisposition::merge},
    {"IGNORE", FileDisposition::ignore},
    {"APPEND", FileDisposition::append},
    {"REPLACE", FileDisposition::replace},
    {"SUBSTITUTE", FileDisposition::substitute},
};
inline constexpr Keyword<Will> will_actions[] = {
    {"EXIT", Will::exit}, {"KILL", Will::kill}, {"CONT", Will::cont}};
inline constexpr Keyword<DirPolicy> dir_actions[] = {
    {"REPLACE", DirPolicy::replace}, {"IGNORE", DirPolicy::ignore}};
inline constexpr Keyword<Fork> fork_actions[] = {{"ORIGINAL", Fork::original},
                                                 {"ANY", Fork::any}};
inline constexpr Keyword<IpcPolicy> ipc_actions[] = {{"USED", IpcPolicy::used},
                                                     {"ALL", IpcPolicy::all}};

std::string upper(std::string_view text);

template <class T, std::size_t N>
std::optional<T> find_keyword(const Keyword<T> (&table)[N],
                              std::string_view word) {
  for (const auto &k : table)
    if (k.name == upper(word))
      return k.value;
  return std::nullopt;
}

template <class T, std::size_t N>
const char *keyword_name(const Keyword<T> (&table)[N], T value) {
  for (const auto &k : table)
    if (k.value == value)
      return k.name.data();
  return "?";
}

// An ID as compared: a number in decimal, a cgroup path in normal form.
std::optional<std::string> canonical_id(std::string_view type,
                                        std::string_view value);
std::string canonical_id(const Id &id);
bool is_id_value(std::string_view type, std::string_view value);

} // namespace cpr::engine
