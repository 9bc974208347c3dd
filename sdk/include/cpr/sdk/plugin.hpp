// What a plugin library exports. A plugin is a shared library loaded with
// Boost.DLL; it defines one Plugin class and names it with CPR_PLUGIN.
#pragma once

#include <cpr/sdk/abi.hpp>
#include <cpr/sdk/handler.hpp>

#include <boost/dll/alias.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cpr::sdk {

// A remap table entry: a kind the plugin no longer writes, whose records one
// of its handlers reads now (DESIGN.md §6). Records of `old_kind` saved by
// version `up_to_version` or older of its handler go to `new_kind`:
// `convert` gives the record in the new handler's form (kind, version,
// payload); without it the record goes as it is, under the new kind.
struct Remap {
  std::string old_kind;
  unsigned up_to_version = 0;
  std::string new_kind;
  std::function<Record(const Record &old)> convert;
};

class Plugin {
public:
  virtual ~Plugin() = default;
  virtual std::string name() const = 0;
  virtual std::vector<std::unique_ptr<FdHandler>> fd_handlers() const {
    return {};
  }
  virtual std::vector<std::unique_ptr<ProcessHandler>>
  process_handlers() const {
    return {};
  }
  virtual std::vector<std::unique_ptr<SetHandler>> set_handlers() const {
    return {};
  }
  virtual std::vector<Remap> remaps() const { return {}; }
};

} // namespace cpr::sdk

// Exports the plugin's ABI version (checked before anything else is called)
// and its factory, under the aliases the engine looks up.
#define CPR_PLUGIN(PluginClass)                                                \
  namespace cpr_plugin_exports {                                               \
  inline unsigned abi() { return ::cpr::sdk::abi_version; }                    \
  inline std::unique_ptr<::cpr::sdk::Plugin> create() {                        \
    return std::make_unique<PluginClass>();                                    \
  }                                                                            \
  }                                                                            \
  BOOST_DLL_ALIAS(cpr_plugin_exports::abi, cpr_plugin_abi)                     \
  BOOST_DLL_ALIAS(cpr_plugin_exports::create, cpr_plugin_create)
