#include "dispatch/registry.hpp"

#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>

#include <boost/dll/import.hpp>
#include <boost/dll/runtime_symbol_info.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <set>
#include <sstream>

namespace cpr::engine {
namespace fs = std::filesystem;

Registry::Loaded::~Loaded() {
  remaps.clear();
  set_handlers.clear();
  process_handlers.clear();
  fd_handlers.clear();
  plugin.reset();
}

void Registry::checkpoint_over(bool succeeded) const {
  sessions_->checkpoint_over(succeeded);
}

void Registry::restart_over(bool succeeded) const {
  sessions_->restart_over(succeeded);
}

Registry::~Registry() {
  sessions_.reset();
  while (!plugins_.empty())
    plugins_.pop_back();
}

std::vector<std::string> Registry::search_path() {
  std::vector<std::string> dirs;
  // Only root's own cpr takes code from a path the environment names.
  const char *env =
      environment_trusted() ? std::getenv("CPR_PLUGIN_PATH") : nullptr;
  if (env) {
    std::istringstream in(env);
    std::string dir;
    while (std::getline(in, dir, ':'))
      if (!dir.empty())
        dirs.push_back(dir);
  }
  fs::path here = boost::dll::this_line_location().parent_path().string();
  dirs.push_back((here / "cpr" / "plugins").string());       // an install
  dirs.push_back((here.parent_path() / "plugins").string()); // the build tree
  return dirs;
}

Registry Registry::load() {
  Registry registry;
  std::set<std::string> seen; // a name found earlier on the path wins
  for (const std::string &dir : search_path()) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto &entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so" &&
          entry.path().filename().string().rfind("cpr_", 0) == 0)
        files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const fs::path &file : files)
      if (seen.insert(file.filename().string()).second)
        registry.load_library(file.string());
  }
  return registry;
}

void Registry::load_library(const std::string &path) {
  auto loaded = std::make_unique<Loaded>();
  try {
    loaded->library.load(path);
    auto abi = loaded->library.get_alias<unsigned()>("cpr_plugin_abi");
    if (abi() != sdk::abi_version)
      throw sdk::Error(fmt::format("plugin {} was built for SDK ABI {}, this "
                                   "cpr has {}",
                                   path, abi(), sdk::abi_version));
    auto create = loaded->library.get_alias<std::unique_ptr<sdk::Plugin>()>(
        "cpr_plugin_create");
    loaded->plugin = create();
    loaded->fd_handlers = loaded->plugin->fd_handlers();
    loaded->process_handlers = loaded->plugin->process_handlers();
    loaded->set_handlers = loaded->plugin->set_handlers();
    loaded->remaps = loaded->plugin->remaps();
    ask_what_it_is(*loaded);
    add_kinds(*loaded, path);
  } catch (const sdk::Error &e) {
    throw sdk::Error(e); // a copy: the engine's, not the plugin's
  } catch (const std::exception &e) {
    throw sdk::Error(fmt::format("cannot load plugin {}: {}", path, e.what()));
  } catch (...) {
    // Its type lives in the library, unloaded as `loaded` goes: it must
    // not be let out.
    throw sdk::Error(fmt::format("cannot load plugin {}: it failed with "
                                 "an exception that is no std::exception",
                                 path));
  }
  plugins_.push_back(std::move(loaded));
}

// What the engine asks of a plugin and its handlers outside guarded calls
// (names, kinds, versions, priorities, phases) is asked once here, where
// whatever it throws fails the load.
void Registry::ask_what_it_is(const Loaded &loaded) {
  static_cast<void>(loaded.plugin->name());
  auto ask = [](const sdk::Handler &h) {
    static_cast<void>(h.kind());
    static_cast<void>(h.version());
  };
  for (const auto &h : loaded.fd_handlers) {
    ask(*h);
    static_cast<void>(h->claim_priority());
  }
  for (const auto &h : loaded.process_handlers) {
    ask(*h);
    static_cast<void>(h->phase());
    static_cast<void>(h->per_address_space());
  }
  for (const auto &h : loaded.set_handlers)
    ask(*h);
}

// All of a plugin's kinds or none: a kind another plugin has is refused.
void Registry::add_kinds(const Loaded &loaded, const std::string &file) {
  std::map<std::string, Entry> added;
  auto add = [&](const sdk::Handler &h, const sdk::FdHandler *fd,
                 const sdk::ProcessHandler *process,
                 const sdk::SetHandler *set) {
    std::string kind = h.kind();
    const Entry *other = by_kind_.count(kind) ? &by_kind_.at(kind)
                         : added.count(kind)  ? &added.at(kind)
                                              : nullptr;
    if (other && other->file == file)
      throw sdk::Error(
          fmt::format("plugin {} has two handlers of kind '{}'", file, kind));
    if (other)
      throw sdk::Error(fmt::format("plugins {} and {} both handle objects of "
                                   "kind '{}': remove one of them",
                                   other->file, file, kind));
    added.emplace(kind, Entry{&h, fd, process, set, file});
  };
  for (const auto &h : loaded.fd_handlers)
    add(*h, h.get(), nullptr, nullptr);
  for (const auto &h : loaded.process_handlers)
    add(*h, nullptr, h.get(), nullptr);
  for (const auto &h : loaded.set_handlers)
    add(*h, nullptr, nullptr, h.get());
  by_kind_.merge(added);
  claim_order_.clear();
  for (const auto &[kind, e] : by_kind_)
    if (e.fd)
      claim_order_.push_back(e.fd);
  std::stable_sort(claim_order_.begin(), claim_order_.end(),
                   [](auto *a, auto *b) {
                     return a->claim_priority() > b->claim_priority();
                   });
}

// Highest claim priority first, then by kind: never by file names.
std::optional<FdHandlerRef>
Registry::fd_handler_for(const sdk::OpenFile &file) const {
  for (const sdk::FdHandler *h : claim_order_)
    if (FdHandlerRef ref(*h); ref.claims(file))
      return ref;
  return std::nullopt;
}

std::vector<ProcessHandlerRef> Registry::process_handlers() const {
  std::vector<const sdk::ProcessHandler *> all;
  for (const auto &p : plugins_)
    for (const auto &h : p->process_handlers)
      all.push_back(h.get());
  std::sort(all.begin(), all.end(), [](auto *a, auto *b) {
    return std::pair(a->phase(), a->kind()) < std::pair(b->phase(), b->kind());
  });
  std::vector<ProcessHandlerRef> out;
  for (const sdk::ProcessHandler *h : all)
    out.emplace_back(*h);
  return out;
}

std::vector<SetHandlerRef> Registry::set_handlers() const {
  std::vector<SetHandlerRef> out;
  for (const auto &p : plugins_)
    for (const auto &h : p->set_handlers)
      out.emplace_back(*h);
  return out;
}

const Registry::Entry &Registry::entry(const std::string &kind,
                                       unsigned version) const {
  auto found = by_kind_.find(kind);
  if (found == by_kind_.end())
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: no plugin handles objects "
                                 "of kind '{}' (plugin path: {})",
                                 kind, fmt::join(search_path(), ":")));
  const sdk::Handler &h = *found->second.any;
  if (version > h.version())
    throw sdk::Error(
        sdk::Code::checkpoint_error,
        fmt::format("Checkpoint error: objects of kind '{}' were saved by "
                    "version {} of "
                    "its handler; the installed plugin reads up to version {}",
                    kind, version, h.version()));
  return found->second;
}

namespace {
template <class H> const H &in_role(const H *h, const std::string &kind) {
  if (!h)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile: a record of kind '{}' "
                                 "is where its handler keeps no such record",
                                 kind));
  return *h;
}
} // namespace

HandlerRef Registry::handler(const std::string &kind, unsigned version) const {
  return HandlerRef(*entry(kind, version).any);
}

FdHandlerRef Registry::fd_handler(const std::string &kind,
                                  unsigned version) const {
  return FdHandlerRef(in_role(entry(kind, version).fd, kind));
}

ProcessHandlerRef Registry::process_handler(const std::string &kind,
                                            unsigned version) const {
  return ProcessHandlerRef(in_role(entry(kind, version).process, kind));
}

SetHandlerRef Registry::set_handler(const std::string &kind,
                                    unsigned version) const {
  return SetHandlerRef(in_role(entry(kind, version).set, kind));
}

const sdk::Remap *Registry::remap_of(const std::string &kind,
                                     unsigned version) const {
  if (by_kind_.count(kind))
    return nullptr; // a handler of the kind reads it
  for (const auto &p : plugins_)
    for (const sdk::Remap &r : p->remaps)
      if (r.old_kind == kind && version <= r.up_to_version)
        return &r;
  return nullptr;
}

sdk::Record Registry::current(const std::string &kind, unsigned version,
                              const std::string &payload) const {
  sdk::Record record{kind, version, payload};
  // A chain of renames, never a loop.
  for (int step = 0; step < 16; ++step) {
    const sdk::Remap *r = remap_of(record.kind, record.version);
    if (!r)
      return record;
    if (!r->convert) {
      record.kind = r->new_kind;
      continue;
    }
    const sdk::Record old = record;
    record = into_plugin(*entry(r->new_kind, 0).any,
                         [&] { return r->convert(old); });
    if (record.kind != r->new_kind)
      throw sdk::Error(fmt::format("the remap of kind '{}' to '{}' made a "
                                   "record of kind '{}'",
                                   old.kind, r->new_kind, record.kind));
  }
  throw sdk::Error(
      fmt::format("the remap tables send kind '{}' round in a loop", kind));
}

std::optional<std::string> Registry::remapped_to(const std::string &kind,
                                                 unsigned version) const {
  const sdk::Remap *r = remap_of(kind, version);
  if (!r)
    return std::nullopt;
  return r->new_kind;
}

std::vector<std::string> Registry::plugin_names() const {
  std::vector<std::string> names;
  for (const auto &p : plugins_)
    names.push_back(p->plugin->name());
  return names;
}

} // namespace cpr::engine
