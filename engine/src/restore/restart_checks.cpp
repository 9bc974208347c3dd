#include "restore/restart_checks.hpp"

#include "process/proc.hpp"
#include "trust/credentials_bound.hpp"
#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <fmt/format.h>

namespace cpr::engine {
namespace {

// Whether a PID is free for a process of this restart; a PID named twice
// is never free.
bool pid_free(pid_t pid, std::set<pid_t> &claimed) {
  return claimed.insert(pid).second && !proc::pid_in_use(pid);
}

} // namespace

void PidCheck::need(pid_t pid, bool thread) {
  if (pid_free(pid, claimed_))
    return;
  if (fork_ == Fork::original)
    throw sdk::Error(sdk::Code::unavailable_pid,
                     fmt::format("unavailable PID: {} {} cannot have its "
                                 "PID back, it is in use",
                                 thread ? "thread" : "process", pid));
  new_namespace_ = true;
}

void check_credentials(const LoadedStatefile &l) {
  const Header &h = l.manifest.header;
  Rights maker{h.made_by_uid,
               {h.made_by_groups.begin(), h.made_by_groups.end()}};
  if (maker.groups.empty())
    maker.groups.push_back(h.owner_gid);
  Rights caller = caller_rights();
  for (const ProcessRecord &p : l.manifest.processes) {
    check_within(p, maker, "its maker");
    check_within(p, caller, "you");
  }
}

// Everything that can be known to fail is found before a process exists.
void check_records(LoadedStatefile &l, const Registry &registry,
                   PidCheck &pids) {
  sdk::RestoreContext ctx = restore_context(l, registry);
  const auto &set_objects = l.manifest.set_objects;
  for (const ObjectRecord &o : l.manifest.objects)
    if (std::find(set_objects.begin(), set_objects.end(), o.id) ==
        set_objects.end())
      registry.handler(o.kind, o.version)
          .check({o.kind, o.version, o.payload}, ctx);
  for (const ProcessRecord &p : l.manifest.processes) {
    pids.need(p.pid, false);
    if (p.zombie)
      continue;
    if (p.threads.empty() || p.threads.front().tid != p.pid)
      throw sdk::Error(sdk::Code::damaged_statefile,
                       fmt::format("damaged statefile {}: process {} has no "
                                   "main thread",
                                   l.path, p.pid));
    for (size_t i = 1; i < p.threads.size(); ++i)
      pids.need(p.threads[i].tid, true);
    if (p.pages_bytes > 0 || !p.page_extents.empty())
      l.pages->open(p.pid, p.pages_bytes, p.page_extents, p.page_frames);
  }
}

void remap_records(Manifest &m, const Registry &registry) {
  for (ObjectRecord &o : m.objects) {
    sdk::Record now = registry.current(o.kind, o.version, o.payload);
    o.kind = std::move(now.kind);
    o.version = now.version;
    o.payload = std::move(now.payload);
  }
}

} // namespace cpr::engine
