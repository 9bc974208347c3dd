#include "collect/process_collector.hpp"

#include "freeze/ptrace.hpp"
#include "process/fd_owner.hpp"
#include "process/process_state.hpp"
#include "process/seccomp.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <fmt/format.h>

namespace cpr::engine {

void collect_process(FrozenProcess &frozen, const Registry &registry,
                     sdk::SaveContext &ctx, FdTableCollector &fds,
                     Manifest &manifest, pid_t shares_mm_with,
                     const Rights &caller) {
  CpuPin pin(frozen.pid(), false);
  ProcessRecord p;
  collect_identity(frozen.pid(), p);
  // Before anything else is read of it, let alone its pages.
  check_within(p, caller, "you");
  p.stopped = frozen.was_stopped();
  p.stop_signal = frozen.stopped_by();
  p.shares_mm_with = shares_mm_with;
  frozen.prepare();
  RemoteProcess &t = frozen.remote(frozen.pid());
  collect_from_inside(t, p);
  for (pid_t tid : frozen.tids())
    p.threads.push_back(
        collect_thread(frozen.remote(tid), tid, frozen.sigmask(tid)));
  p.shared_pending = ptrace::peek_pending(frozen.pid(), true);
  collect_seccomp(p, frozen.tids());
  fds.collect(p);
  collect_fd_owners(t, p, ctx.processes);
  for (const ProcessHandlerRef &h : registry.process_handlers()) {
    if (shares_mm_with && h.per_address_space())
      continue; // saved with the first of its share group
    sdk::Saved saved = h.save(t, ctx);
    if (saved.payload.empty())
      continue; // nothing of its kind: no record, nothing to restore
    ObjectRecord rec{manifest.objects.size() + 1, h.kind(), h.version(),
                     std::move(saved.payload), std::move(saved.summary)};
    p.objects.push_back(rec.id);
    manifest.objects.push_back(std::move(rec));
  }
  for (const sdk::Mapping &m : sdk::read_maps(frozen.pid()))
    p.address_space.push_back(m.range);
  // Signals held back while frozen are pending in the image.
  for (ThreadState &th : p.threads)
    for (auto &info : frozen.in_flight(th.tid))
      th.pending.push_back(std::move(info));
  manifest.processes.push_back(std::move(p));
}

void collect_set_objects(const Registry &registry, sdk::SaveContext &ctx,
                         Manifest &manifest) {
  for (const SetHandlerRef &h : registry.set_handlers())
    for (sdk::Saved &saved : h.save(ctx)) {
      ObjectRecord rec{manifest.objects.size() + 1, h.kind(), h.version(),
                       std::move(saved.payload), std::move(saved.summary)};
      manifest.set_objects.push_back(rec.id);
      manifest.objects.push_back(std::move(rec));
    }
}

void check_build_order(const Manifest &manifest) {
  std::vector<const ProcessRecord *> records;
  for (const ProcessRecord &p : manifest.processes)
    records.push_back(&p);
  try {
    build_order(records);
  } catch (const sdk::Error &e) {
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: {}", e.what()));
  }
}

} // namespace cpr::engine
