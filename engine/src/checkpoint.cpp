// cpr -c: freeze the set, collect every object through its handler, write
// the statefile, then apply the WILL policy.
#include "collect/process_collector.hpp"
#include "dispatch/fd_table.hpp"
#include "dispatch/registry.hpp"
#include "freeze/frozen_set.hpp"
#include "freeze/notify.hpp"
#include "freeze/snapshot.hpp"
#include "process/namespaces.hpp"
#include "process/proc.hpp"
#include "select/attributes.hpp"
#include "statefile/followers.hpp"
#include "statefile/pages.hpp"
#include "statefile/statefile.hpp"
#include "timing.hpp"
#include "trust/checkpoint_owner.hpp"
#include "trust/credentials_bound.hpp"
#include "trust/privilege.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <linux/kcmp.h>
#include <optional>
#include <set>
#include <sys/utsname.h>

namespace cpr::engine {
namespace {

Header make_header(const CheckpointRequest &req, Will will,
                   const Policies &policies, uid_t owner, gid_t group) {
  Header h;
  h.cpr_version = CPR_VERSION;
  h.time = std::time(nullptr);
  h.owner_uid = owner;
  h.owner_gid = group;
  Rights maker = caller_rights();
  h.made_by_uid = maker.uid;
  h.made_by_groups.assign(maker.groups.begin(), maker.groups.end());
  utsname u{};
  ::uname(&u);
  h.host = u.nodename;
  h.kernel = u.release;
  h.arch = u.machine;
  h.ids = req.ids.text();
  h.will = will_name(will);
  h.fork = policies.fork();
  h.cdir = policies.cdir();
  h.rdir = policies.rdir();
  h.compress_level = req.compress;
  return h;
}

// About what the memory handlers will write of it, for the progress shown.
std::uint64_t resident_memory(pid_t pid) {
  std::uint64_t kib = 0;
  for (const char *key : {"RssAnon", "RssShmem"})
    kib += std::strtoull(proc::status_field(pid, key).c_str(), nullptr, 10);
  return kib * 1024;
}

const char *will_option(Will will) {
  return will == Will::cont ? "cont" : will == Will::kill ? "kill" : "exit";
}

// Destroyed before the set thaws: what handlers changed in a set whose
// checkpoint failed is put back first.
struct CheckpointOver {
  const Registry &registry;
  bool over = false;
  void now() {
    over = true;
    registry.checkpoint_over(true);
  }
  ~CheckpointOver() {
    if (!over)
      registry.checkpoint_over(false);
  }
};

class CheckpointRun {
public:
  explicit CheckpointRun(const CheckpointRequest &req)
      : req_(req), policies_(load_policies(req.ids, attribute_files())),
        will_(decide_will(req.will, policies_)), named_(resolve_ids(req.ids)),
        owner_(checkpoint_owner(named_)), registry_(Registry::load()),
        writer_(req.statefile, req.force),
        pages_(writer_.work_dir(), writer_.seal_key()),
        ctx_{.statefile = writer_.work_dir(),
             .pages = pages_,
             .sessions = registry_.sessions()},
        // Destroyed after the set: a failed checkpoint sends SIGRESTART to
        // processes already released.
        notice_(named_, req.handler_timeout), meter_(req.progress) {
    pages_.report_to(meter_);
    if (will_ == Will::cont)
      pages_.defer_private_copies();
    if (req.compress != 0)
      pages_.compress(req.compress);
    set_up_context();
    manifest_.header =
        make_header(req, will_, policies_, owner_.first, owner_.second);
    if (!req.since.empty()) {
      earlier_ = load_earlier(req.since, req.statefile, owner_.first);
      pages_.follow(earlier_->pages);
      manifest_.header.ancestors = earlier_->ancestors;
    }
  }

  // The set frozen, checked whole, in tree order.
  void freeze() {
    frozen_for_.emplace();
    set_.freeze(req_.ids);
    set_.check_children();
    set_.order_as_tree();
    share_group_ = set_.share_groups();
    for (auto &f : set_.processes)
      for (auto [member, first] : share_group_)
        if (f->pid() == member || f->pid() == first)
          f->shares_address_space();
    if (req_.progress)
      for (auto &f : set_.processes)
        if (!share_group_.count(f->pid())) // the first has its memory
          meter_.expect(resident_memory(f->pid()));
    for (auto &f : set_.processes)
      ctx_.processes.push_back(f->pid());
  }

  void collect() {
    check_namespaces(ctx_.processes);
    FdTableCollector fds(registry_, ctx_, manifest_);
    ctx_.save_file = [&fds](int fd) { return fds.save_own(fd); };
    collect_processes(fds);
    check_build_order(manifest_);
    collect_set_objects(registry_, ctx_, manifest_);
    ctx_.save_file = {};
    for (ProcessRecord &z : set_.zombies)
      manifest_.processes.push_back(std::move(z));
  }

  // WILL CONT: the processes go on while their private memory is copied
  // from their snapshots and the statefile is made durable. EXIT and KILL
  // wait until it is.
  void write_and_release() {
    if (will_ == Will::cont) {
      take_snapshots();
      release([](FrozenProcess &f) { f.resume(); });
      snapshots_.released();
    }
    for (pid_t pid : pages_.deferred())
      pages_.copy_deferred(pid);
    snapshots_.drop();
    pages_.finish();
    for (ProcessRecord &p : manifest_.processes) {
      p.pages_bytes = pages_.bytes(p.pid);
      p.page_extents = pages_.extents(p.pid);
      p.page_frames = pages_.frames(p.pid);
    }
    writer_.write_manifest(manifest_);
    writer_.write_index(pages_.index_bytes());
    if (earlier_) // a stale name left if the commit fails does no harm
      add_follower(earlier_->ancestors, req_.statefile, owner_.first,
                   owner_.second);
    writer_.commit(owner_.first, owner_.second, pages_.digests());
    if (will_ != Will::cont)
      release([](FrozenProcess &f) { f.kill(); });
  }

  void report_timing(const Clock &total) const {
    std::fprintf(stderr,
                 "cpr: timing: checkpoint frozen_ms=%.3f held_again_ms=%.3f "
                 "pages_bytes=%llu pages_ms=%.3f total_ms=%.3f\n",
                 frozen_ms_ + snapshots_.held_ms(), snapshots_.held_ms(),
                 static_cast<unsigned long long>(pages_.total_bytes()),
                 pages_.seconds() * 1000, total.ms());
  }

private:
  void set_up_context() {
    ctx_.policy = [this](const std::string &directive,
                         const std::string &subject) {
      return policies_.policy(directive, subject);
    };
    ctx_.own_outside = [this](const std::string &path) {
      writer_.own_outside(path);
    };
    ctx_.owner = owner_.first;
    ctx_.options.set_flag("files.distribute", req_.distribute);
    ctx_.options.set_flag("memory.upgrade", req_.upgrade);
    ctx_.options.set_flag("pipes.outside", req_.outside_pipes);
    ctx_.options.set_flag("sockets.outside", req_.outside_sockets);
    ctx_.options.set("will", will_option(will_));
    ctx_.options.set_flag("shm.all_of_owner",
                          req_.all_ipc || policies_.ipc() == IpcPolicy::all);
  }

  // A snapshot of every process whose private memory is to be copied
  // later; a process none can be made of has it copied now.
  void take_snapshots() {
    for (pid_t pid : pages_.deferred()) {
      auto f = std::find_if(set_.processes.begin(), set_.processes.end(),
                            [&](auto &p) { return p->pid() == pid; });
      pid_t fork = f == set_.processes.end() ? 0 : snapshots_.take(**f);
      if (fork)
        pages_.read_deferred_from(pid, fork);
      else
        pages_.copy_deferred(pid);
    }
  }

  void collect_processes(FdTableCollector &fds) {
    const Rights caller = caller_rights();
    const std::set<pid_t> fs_sharers =
        set_.sharing_with_parent(KCMP_FS, "its working directory and root");
    const std::set<pid_t> table_sharers =
        set_.sharing_with_parent(KCMP_FILES, "its fd table");
    for (auto &f : set_.processes) {
      auto first = share_group_.find(f->pid());
      collect_process(*f, registry_, ctx_, fds, manifest_,
                      first == share_group_.end() ? 0 : first->second, caller);
      ProcessRecord &p = manifest_.processes.back();
      p.shares_fs = fs_sharers.count(f->pid()) != 0;
      p.shares_files = table_sharers.count(f->pid()) != 0;
    }
  }

  template <class Action> void release(Action action) {
    checkpoint_over_.now();
    if (will_ != Will::cont)
      notice_.dismiss();
    for (auto &f : set_.processes)
      action(*f);
    frozen_ms_ = frozen_for_->ms();
    if (will_ == Will::cont)
      notice_.processes_go_on();
  }

  const CheckpointRequest &req_;
  const Policies policies_;
  const Will will_;
  const std::vector<pid_t> named_;
  const std::pair<uid_t, gid_t> owner_;
  Registry registry_;
  StatefileWriter writer_;
  PageWriter pages_;
  std::optional<Earlier> earlier_; // --since
  sdk::SaveContext ctx_;
  Manifest manifest_;
  CheckpointNotice notice_;
  std::optional<Clock> frozen_for_;
  double frozen_ms_ = 0;
  FrozenSet set_;
  Snapshots snapshots_; // let go before the set
  CheckpointOver checkpoint_over_{registry_};
  std::map<pid_t, pid_t> share_group_;
  ProgressMeter meter_;
};

} // namespace

bool timing_wanted() {
  const char *v = std::getenv("CPR_TIMING");
  return v && *v && std::string(v) != "0";
}

void checkpoint(const CheckpointRequest &req) {
  if (req.compress < 0 || req.compress > max_compress_level)
    throw sdk::Error(EINVAL, fmt::format("Invalid argument: the compression "
                                         "level is 1 to {}, not {}",
                                         max_compress_level, req.compress));
  Clock total;
  CheckpointRun run(req);
  run.freeze();
  run.collect();
  run.write_and_release();
  if (timing_wanted())
    run.report_timing(total);
}

} // namespace cpr::engine
