#include "restore/set_objects.hpp"

namespace cpr::engine {
namespace {

void make_set_objects(const LoadedStatefile &l, const Registry &registry,
                      sdk::SessionTerminals &terminals,
                      const std::function<pid_t(pid_t)> &live_pid) {
  sdk::RestoreContext ctx = restore_context(l, registry);
  ctx.terminals = &terminals;
  ctx.live_pid = live_pid;
  for (bool make : {false, true})
    for (std::uint64_t id : l.manifest.set_objects) {
      const ObjectRecord &o = l.manifest.object(id);
      SetHandlerRef h = registry.set_handler(o.kind, o.version);
      sdk::Record record{o.kind, o.version, o.payload};
      make ? h.restore(record, ctx) : h.check(record, ctx);
    }
}

} // namespace

void make_set_objects(const std::vector<LoadedStatefile> &loaded,
                      const Registry &registry,
                      sdk::SessionTerminals &terminals,
                      const std::function<pid_t(pid_t)> &live_pid) {
  for (const LoadedStatefile &l : loaded)
    make_set_objects(l, registry, terminals, live_pid);
}

} // namespace cpr::engine
