#include "restore/loaded_statefile.hpp"

#include "statefile/followers.hpp"
#include "statefile/statefile.hpp"

namespace cpr::engine {

// Checked against its seal; its pages are checked as they are read.
LoadedStatefile load_statefile(const std::string &path) {
  OpenedStatefile sf = open_statefile(path, Verify::deferring_pages);
  auto pages = std::make_unique<PageReader>(path, sf.dir.get(), sf.key,
                                            std::move(sf.pages));
  for (OpenedStatefile &a : open_ancestors(path, sf.manifest.header))
    pages->add_source(std::move(a));
  return {
      path, std::move(sf.manifest), std::move(sf.dir), std::move(pages), {}};
}

std::vector<pid_t> pids_of(const Manifest &m) {
  std::vector<pid_t> pids;
  for (const ProcessRecord &p : m.processes)
    pids.push_back(p.pid);
  return pids;
}

sdk::RestoreContext restore_context(const LoadedStatefile &l,
                                    const Registry &registry) {
  return {.statefile = l.path,
          .pages = *l.pages,
          .sessions = registry.sessions(),
          .processes = pids_of(l.manifest),
          .options = l.options};
}

} // namespace cpr::engine
