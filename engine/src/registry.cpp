#include "registry.hpp"

#include "privilege.hpp"

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
  set_handlers.clear();
  process_handlers.clear();
  fd_handlers.clear();
  plugin.reset();
}

void Registry::restart_over(bool succeeded) const {
  // Letting go cannot fail in a way that matters to the restart.
  auto quietly = [](auto &&step) {
    try {
      step();
    } catch (...) {
    }
  };
  for (const auto &loaded : plugins_) {
    for (const auto &h : loaded->fd_handlers)
      quietly([&] { h->restart_over(); });
    for (const auto &h : loaded->set_handlers)
      quietly([&] { h->restart_over(succeeded); });
  }
}

void Registry::take_back_set_objects() const {
  for (const auto &loaded : plugins_)
    for (const auto &h : loaded->set_handlers)
      h->restart_over(false);
}

Registry::~Registry() {
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
  } catch (const sdk::Error &) {
    throw;
  } catch (const std::exception &e) {
    throw sdk::Error(fmt::format("cannot load plugin {}: {}", path, e.what()));
  }
  plugins_.push_back(std::move(loaded));
}

const sdk::FdHandler *
Registry::fd_handler_for(const sdk::OpenFile &file) const {
  for (const auto &p : plugins_)
    for (const auto &h : p->fd_handlers)
      if (h->claims(file))
        return h.get();
  return nullptr;
}

std::vector<const sdk::ProcessHandler *> Registry::process_handlers() const {
  std::vector<const sdk::ProcessHandler *> out;
  for (const auto &p : plugins_)
    for (const auto &h : p->process_handlers)
      out.push_back(h.get());
  std::stable_sort(out.begin(), out.end(),
                   [](auto *a, auto *b) { return a->order() < b->order(); });
  return out;
}

std::vector<const sdk::SetHandler *> Registry::set_handlers() const {
  std::vector<const sdk::SetHandler *> out;
  for (const auto &p : plugins_)
    for (const auto &h : p->set_handlers)
      out.push_back(h.get());
  return out;
}

namespace {
template <class H>
const H *find_kind(const std::vector<std::unique_ptr<H>> &handlers,
                   const std::string &kind) {
  for (const auto &h : handlers)
    if (h->kind() == kind)
      return h.get();
  return nullptr;
}

void check_version(const sdk::Handler &h, unsigned version) {
  if (version > h.version())
    throw sdk::Error(fmt::format(
        "Checkpoint error: objects of kind '{}' were saved by version {} of "
        "its handler; the installed plugin reads up to version {}",
        h.kind(), version, h.version()));
}

[[noreturn]] void no_handler(const std::string &kind) {
  throw sdk::Error(fmt::format("Checkpoint error: no plugin handles objects "
                               "of kind '{}' (plugin path: {})",
                               kind, fmt::join(Registry::search_path(), ":")));
}
} // namespace

const sdk::FdHandler &Registry::fd_handler(const std::string &kind,
                                           unsigned version) const {
  for (const auto &p : plugins_)
    if (const sdk::FdHandler *h = find_kind(p->fd_handlers, kind)) {
      check_version(*h, version);
      return *h;
    }
  no_handler(kind);
}

const sdk::ProcessHandler &Registry::process_handler(const std::string &kind,
                                                     unsigned version) const {
  for (const auto &p : plugins_)
    if (const sdk::ProcessHandler *h = find_kind(p->process_handlers, kind)) {
      check_version(*h, version);
      return *h;
    }
  no_handler(kind);
}

const sdk::SetHandler &Registry::set_handler(const std::string &kind,
                                             unsigned version) const {
  for (const auto &p : plugins_)
    if (const sdk::SetHandler *h = find_kind(p->set_handlers, kind)) {
      check_version(*h, version);
      return *h;
    }
  no_handler(kind);
}

const sdk::Handler &Registry::handler(const std::string &kind,
                                      unsigned version) const {
  for (const auto &p : plugins_) {
    const sdk::Handler *h = find_kind(p->fd_handlers, kind);
    if (!h)
      h = find_kind(p->process_handlers, kind);
    if (!h)
      h = find_kind(p->set_handlers, kind);
    if (h) {
      check_version(*h, version);
      return *h;
    }
  }
  no_handler(kind);
}

std::vector<std::string> Registry::plugin_names() const {
  std::vector<std::string> names;
  for (const auto &p : plugins_)
    names.push_back(p->plugin->name());
  return names;
}

} // namespace cpr::engine
