// cpr -r: check everything, create every process with its PID, rebuild each
// from outside under ptrace, and let them all run only when all are ready.
#include "dispatch/registry.hpp"
#include "process/fd_owner.hpp"
#include "remote/gadgets.hpp"
#include "restore/loaded_statefile.hpp"
#include "restore/process_builder.hpp"
#include "restore/process_tree.hpp"
#include "restore/restart_checks.hpp"
#include "restore/set_objects.hpp"
#include "select/attributes.hpp"
#include "statefile/statefile.hpp"
#include "timing.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <cstdio>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <unistd.h>

namespace cpr::engine {
namespace {

class RestartRun {
public:
  explicit RestartRun(const RestartRequest &request)
      : request_(request), registry_(Registry::load()),
        meter_(request.progress) {}

  // Everything that can be known to fail, found before a process exists;
  // the set's objects made (and taken back if the restart fails).
  void load_and_check() {
    std::vector<Fork> saved_fork;
    for (const std::string &path : request_.statefiles) {
      loaded_.push_back(load_statefile(path));
      LoadedStatefile &l = loaded_.back();
      l.options.set_flag("memory.changed_ok", request_.force_changed);
      saved_fork.push_back(l.manifest.header.fork);
      check_access(l.path, l.manifest.header, Access::restart);
      check_credentials(l);
      remap_records(l.manifest, registry_);
    }
    fork_ = decide_fork(request_.fork, saved_fork);
    for (LoadedStatefile &l : loaded_) {
      l.options.set("fork", fork_ == Fork::any ? "any" : "original");
      l.options.set_flag("interactive", request_.interactive);
    }
    make_set_objects(loaded_, registry_, terminals_, [this](pid_t saved) {
      return tree_ ? tree_->live_pid(saved) : saved;
    });
    pids_.emplace(fork_);
    for (LoadedStatefile &l : loaded_)
      check_records(l, registry_, *pids_);
  }

  // Every process forked with its PID, then each rebuilt: memory several
  // processes share was saved with the first of them, which is rebuilt
  // first; a thread an fd signals is made with its process.
  void build() {
    std::uint64_t own_insn = find_syscall_insn(::getpid());
    for (const LoadedStatefile &l : loaded_)
      for (const ProcessRecord &p : l.manifest.processes) {
        plan_.push_back({&p, &l.manifest, l.path});
        source_[p.pid] = &l;
      }
    tree_.emplace(plan_, registry_, pids_->new_namespace(), terminals_);
    for (const LoadedStatefile &l : loaded_) {
      l.pages->report_to(meter_);
      for (const ProcessRecord &p : l.manifest.processes) {
        std::uint64_t bytes = 0; // from every statefile of a chain
        for (const PageExtent &e : p.page_extents)
          bytes += e.length;
        meter_.expect(bytes);
      }
    }
    std::vector<const ProcessRecord *> records;
    for (const PlannedProcess &pp : plan_)
      records.push_back(pp.record);
    for (std::size_t i : build_order(records))
      if (!plan_[i].record->zombie)
        build_one(plan_[i], own_insn);
    for (const LoadedStatefile &l : loaded_)
      l.pages->verify();
  }

  // The set runs: handlers let go of what waited for every process (cpr
  // -j's terminal to the set's foreground), then the processes.
  Restarted release() {
    let_go_.built();
    tree_->release();
    const Manifest &first = loaded_.front().manifest;
    return {first.header.ids,
            first.processes.empty() ? 0 : first.processes.front().pid};
  }

  void report_timing(const Clock &total) const {
    std::uint64_t bytes = 0;
    double seconds = 0;
    for (const LoadedStatefile &l : loaded_) {
      bytes += l.pages->total_bytes();
      seconds += l.pages->seconds();
    }
    std::fprintf(stderr,
                 "cpr: timing: restart pages_bytes=%llu pages_ms=%.3f "
                 "total_ms=%.3f\n",
                 static_cast<unsigned long long>(bytes), seconds * 1000,
                 total.ms());
  }

private:
  void build_one(const PlannedProcess &pp, std::uint64_t own_insn) {
    try {
      build_process(pp, *source_[pp.record->pid], registry_, own_insn, *tree_,
                    terminals_);
    } catch (const sdk::Error &e) {
      throw e.within(
          fmt::format("restart of process {} failed: ", pp.record->pid));
    }
  }

  // Unless the set was built, what handlers made is taken back.
  struct LetGo {
    const Registry &registry;
    bool over = false;
    void built() {
      over = true;
      registry.restart_over(true);
    }
    ~LetGo() {
      if (!over)
        registry.restart_over(false);
    }
  };

  // Members are destroyed in reverse: the tree (killed unless released)
  // first, then the handlers' let-go (or taking back).
  const RestartRequest &request_;
  Registry registry_;
  LetGo let_go_{registry_};
  std::vector<LoadedStatefile> loaded_;
  Fork fork_ = Fork::original;
  std::optional<PidCheck> pids_;
  std::vector<PlannedProcess> plan_;
  std::map<pid_t, const LoadedStatefile *> source_;
  sdk::SessionTerminals terminals_;
  ProgressMeter meter_;
  std::optional<ProcessTree> tree_;
};

} // namespace

Restarted restart(const RestartRequest &request) {
  Clock total;
  RestartRun run(request);
  run.load_and_check();
  run.build();
  Restarted restarted = run.release();
  if (timing_wanted())
    run.report_timing(total);
  return restarted;
}

} // namespace cpr::engine
