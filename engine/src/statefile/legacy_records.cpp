#include "statefile/legacy_records.hpp"

#include <cpr/sdk/payload.hpp>

#include <algorithm>

namespace cpr::engine {
namespace {

void add_record(Manifest &m, ProcessRecord &p, std::string kind,
                std::string payload) {
  ObjectRecord rec{m.objects.size() + 1, std::move(kind), 1, std::move(payload),
                   ""};
  p.objects.push_back(rec.id);
  m.objects.push_back(std::move(rec));
}

} // namespace

void move_legacy_records(Manifest &manifest) {
  for (ProcessRecord &p : manifest.processes) {
    LegacyTimers &old = p.legacy_timers;
    if (std::any_of(old.itimers.begin(), old.itimers.end(),
                    [](std::int64_t v) { return v != 0; }))
      add_record(manifest, p, "timers.interval", sdk::to_payload(old.itimers));
    if (!old.posix_timers.empty())
      add_record(manifest, p, "timers.posix",
                 sdk::to_payload(old.posix_timers));
    old = {};
  }
}

} // namespace cpr::engine
