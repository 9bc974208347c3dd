// An fd handler that throws, chosen by the name of the file it is shown:
// "claims-throws-<how>" from claims(), "save-throws-<how>" from save(), where
// <how> is one of the exceptions below. Each is of a type of the plugin's
// own, whose type information lives in this library.
#include <cpr/sdk/error.hpp>
#include <cpr/sdk/plugin.hpp>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

namespace {

using namespace cpr::sdk;

struct PluginOwnError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct PluginBusy : Error {
  PluginBusy()
      : Error(Code::busy, "Resource busy: the fake's file is in use") {}
};
// Not a std::exception, and not trivially destroyed.
struct Tantrum {
  std::string why;
};

[[noreturn]] void throw_as_named(const std::string &how) {
  if (how == "busy")
    throw PluginBusy();
  if (how == "errno")
    throw std::system_error(EACCES, std::generic_category(), "fake");
  if (how == "nonstd")
    throw Tantrum{"the fake will not say"};
  throw PluginOwnError("the fake failed in its own words");
}

// What follows `prefix` in the file's name, if it begins with it.
std::optional<std::string> after(const std::string &prefix,
                                 const OpenFile &file) {
  std::string name = std::filesystem::path(file.path).filename().string();
  if (name.rfind(prefix, 0) != 0)
    return std::nullopt;
  return name.substr(prefix.size());
}

class ThrowingFdHandler final : public FdHandler {
public:
  std::string kind() const override { return "fake.throwing"; }
  unsigned version() const override { return 1; }
  bool claims(const OpenFile &file) const override {
    if (auto how = after("claims-throws-", file))
      throw_as_named(*how);
    return after("save-throws-", file).has_value();
  }
  Saved save(const OpenFile &file, SaveContext &) const override {
    throw_as_named(after("save-throws-", file).value());
  }
  int open(const Record &, RestoreContext &) const override {
    throw_as_named("std");
  }
};

class ThrowingPlugin final : public Plugin {
public:
  std::string name() const override { return "fake_throwing"; }
  std::vector<std::unique_ptr<FdHandler>> fd_handlers() const override {
    std::vector<std::unique_ptr<FdHandler>> out;
    out.push_back(std::make_unique<ThrowingFdHandler>());
    return out;
  }
};

} // namespace

CPR_PLUGIN(ThrowingPlugin)
