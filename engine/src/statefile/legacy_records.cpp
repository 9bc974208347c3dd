#include "statefile/legacy_records.hpp"

#include <cpr/sdk/payload.hpp>

#include <algorithm>

namespace cpr::engine {
namespace {

ObjectRecord &add_record(Manifest &m, std::string kind, std::string payload) {
  m.objects.push_back(
      {m.objects.size() + 1, std::move(kind), 1, std::move(payload), ""});
  return m.objects.back();
}

void move_legacy_timers(Manifest &m, ProcessRecord &p) {
  LegacyTimers &old = p.legacy_timers;
  if (std::any_of(old.itimers.begin(), old.itimers.end(),
                  [](std::int64_t v) { return v != 0; }))
    p.objects.push_back(
        add_record(m, "timers.interval", sdk::to_payload(old.itimers)).id);
  if (!old.posix_timers.empty())
    p.objects.push_back(
        add_record(m, "timers.posix", sdk::to_payload(old.posix_timers)).id);
  old = {};
}

// Its record comes first: checking it puts the restart in a new namespace.
void move_legacy_ipc_namespace(Manifest &m) {
  if (!m.header.legacy_own_ipc_namespace)
    return;
  ObjectRecord &rec = add_record(m, "shm.ipc-namespace", sdk::to_payload(true));
  rec.summary = "its own IPC namespace";
  m.set_objects.insert(m.set_objects.begin(), rec.id);
  m.header.legacy_own_ipc_namespace = false;
}

} // namespace

void move_legacy_records(Manifest &manifest) {
  for (ProcessRecord &p : manifest.processes)
    move_legacy_timers(manifest, p);
  move_legacy_ipc_namespace(manifest);
}

} // namespace cpr::engine
