// Named options of one checkpoint or restart, for the handlers that know
// them. The engine sets those of cpr's command line and attribute file
// (docs/sdk/options.md lists them); a handler reads the ones it knows and
// an unknown name reads as unset, so a new option never changes the SDK.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cpr::sdk {

class Options {
public:
  void set(const std::string &name, std::string value);
  void set_flag(const std::string &name, bool on);
  void set_number(const std::string &name, std::int64_t value);
  std::optional<std::string> get(std::string_view name) const;
  // Set, and to "1".
  bool flag(std::string_view name) const;
  // Its value as a number, or `otherwise` when unset (or not a number).
  std::int64_t number(std::string_view name, std::int64_t otherwise) const;

private:
  std::map<std::string, std::string, std::less<>> values_;
};

// What the attribute file ($HOME/.cpr, the guide's chapter 2) says for one
// thing a handler meets: `directive` is the statement's keyword ("FILE"),
// `subject` what it is about (the file's path); the answer is the guide's
// word for the policy ("MERGE", "REPLACE", ...), or "" where nothing is
// said.
using PolicyLookup = std::function<std::string(const std::string &directive,
                                               const std::string &subject)>;

} // namespace cpr::sdk
