// The plugins, loaded with Boost.DLL, and the handlers they export, by kind.
#pragma once

#include <cpr/sdk/plugin.hpp>

#include <boost/dll/shared_library.hpp>

#include <memory>
#include <string>
#include <vector>

namespace cpr::engine {

class Registry {
public:
  // Loads every plugin found on the search path: $CPR_PLUGIN_PATH (colon
  // separated; only when root runs cpr itself), then the plugin folder beside
  // the engine library (the build tree's plugins/, an install's
  // lib/cpr/plugins).
  static Registry load();
  static std::vector<std::string> search_path();

  Registry() = default;
  Registry(Registry &&) = default;
  Registry &operator=(Registry &&) = default;
  ~Registry();

  // Loads one plugin library; throws Error if it is not a cpr plugin or was
  // built against another SDK ABI.
  void load_library(const std::string &path);

  const sdk::FdHandler *fd_handler_for(const sdk::OpenFile &file) const;
  std::vector<const sdk::ProcessHandler *> process_handlers() const;
  std::vector<const sdk::SetHandler *> set_handlers() const;
  // The handler of `kind` that reads records of `version`; throws Error
  // naming the kind when no plugin has it.
  const sdk::Handler &handler(const std::string &kind, unsigned version) const;
  const sdk::FdHandler &fd_handler(const std::string &kind,
                                   unsigned version) const;
  const sdk::ProcessHandler &process_handler(const std::string &kind,
                                             unsigned version) const;
  const sdk::SetHandler &set_handler(const std::string &kind,
                                     unsigned version) const;

  std::vector<std::string> plugin_names() const;
  // Every fd and set handler's restart_over().
  void restart_over(bool succeeded) const;
  // Every set handler takes back what it made so far.
  void take_back_set_objects() const;

private:
  // Member order matters: handlers are destroyed before the plugin object,
  // and both before their library is unloaded.
  struct Loaded {
    boost::dll::shared_library library;
    std::unique_ptr<sdk::Plugin> plugin;
    std::vector<std::unique_ptr<sdk::FdHandler>> fd_handlers;
    std::vector<std::unique_ptr<sdk::ProcessHandler>> process_handlers;
    std::vector<std::unique_ptr<sdk::SetHandler>> set_handlers;
    ~Loaded();
  };
  std::vector<std::unique_ptr<Loaded>> plugins_;
};

} // namespace cpr::engine
