// The plugins, loaded with Boost.DLL, and the handlers they export, by kind.
#pragma once

#include "dispatch/guarded.hpp"

#include <cpr/sdk/plugin.hpp>

#include <boost/dll/shared_library.hpp>

#include <map>
#include <memory>
#include <optional>
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

  // The handler that claims an open file, if one does.
  std::optional<FdHandlerRef> fd_handler_for(const sdk::OpenFile &file) const;
  // In their order of checkpoint and restart.
  std::vector<ProcessHandlerRef> process_handlers() const;
  std::vector<SetHandlerRef> set_handlers() const;
  // The handler of `kind` that reads records of `version`; throws Error
  // naming the kind when no plugin has it (or has it in another role).
  HandlerRef handler(const std::string &kind, unsigned version) const;
  FdHandlerRef fd_handler(const std::string &kind, unsigned version) const;
  ProcessHandlerRef process_handler(const std::string &kind,
                                    unsigned version) const;
  SetHandlerRef set_handler(const std::string &kind, unsigned version) const;

  // The record as the installed handlers read it: a kind no handler has is
  // followed through the plugins' remap tables (converted by them), else
  // left as it is, for the lookups above to refuse.
  sdk::Record current(const std::string &kind, unsigned version,
                      const std::string &payload) const;
  // The kind a record of `kind` and `version` is read as, where a remap
  // table sends it to another (for cpr -i).
  std::optional<std::string> remapped_to(const std::string &kind,
                                         unsigned version) const;

  std::vector<std::string> plugin_names() const;
  // The handlers' sessions of this run (a registry is loaded for one
  // checkpoint or restart); they go before the plugins do.
  sdk::Sessions &sessions() const { return *sessions_; }
  // Every session's restart_over(); the sessions are then dropped.
  void restart_over(bool succeeded) const;
  // Every session's checkpoint_over(), the set still frozen.
  void checkpoint_over(bool succeeded) const;

private:
  // Member order matters: handlers are destroyed before the plugin object,
  // and both before their library is unloaded.
  struct Loaded {
    boost::dll::shared_library library;
    std::unique_ptr<sdk::Plugin> plugin;
    std::vector<std::unique_ptr<sdk::FdHandler>> fd_handlers;
    std::vector<std::unique_ptr<sdk::ProcessHandler>> process_handlers;
    std::vector<std::unique_ptr<sdk::SetHandler>> set_handlers;
    std::vector<sdk::Remap> remaps;
    ~Loaded();
  };
  // Each kind has one handler, of one plugin file, in one role.
  struct Entry {
    const sdk::Handler *any = nullptr;
    const sdk::FdHandler *fd = nullptr;
    const sdk::ProcessHandler *process = nullptr;
    const sdk::SetHandler *set = nullptr;
    std::string file;
  };
  static void ask_what_it_is(const Loaded &loaded);
  void add_kinds(const Loaded &loaded, const std::string &file);
  const Entry &entry(const std::string &kind, unsigned version) const;
  std::vector<std::unique_ptr<Loaded>> plugins_;
  std::map<std::string, Entry> by_kind_;
  std::vector<const sdk::FdHandler *> claim_order_;
  const sdk::Remap *remap_of(const std::string &kind, unsigned version) const;
  std::unique_ptr<sdk::Sessions> sessions_ = std::make_unique<sdk::Sessions>();
};

} // namespace cpr::engine
