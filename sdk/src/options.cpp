#include <cpr/sdk/options.hpp>

#include <charconv>

namespace cpr::sdk {

void Options::set(const std::string &name, std::string value) {
  values_[name] = std::move(value);
}

void Options::set_flag(const std::string &name, bool on) {
  if (on)
    set(name, "1");
  else
    values_.erase(name);
}

void Options::set_number(const std::string &name, std::int64_t value) {
  set(name, std::to_string(value));
}

std::optional<std::string> Options::get(std::string_view name) const {
  auto found = values_.find(name);
  if (found == values_.end())
    return std::nullopt;
  return found->second;
}

bool Options::flag(std::string_view name) const { return get(name) == "1"; }

std::int64_t Options::number(std::string_view name,
                             std::int64_t otherwise) const {
  std::optional<std::string> v = get(name);
  if (!v)
    return otherwise;
  std::int64_t n = 0;
  auto [end, err] = std::from_chars(v->data(), v->data() + v->size(), n);
  return err == std::errc() && end == v->data() + v->size() ? n : otherwise;
}

} // namespace cpr::sdk
