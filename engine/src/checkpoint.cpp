// cpr -c: freeze the set, collect every object through its handler, write
// the statefile, then apply the WILL policy.
#include "dispatch/fd_table.hpp"
#include "dispatch/registry.hpp"
#include "freeze/frozen.hpp"
#include "freeze/notify.hpp"
#include "freeze/ptrace.hpp"
#include "process/fd_owner.hpp"
#include "process/namespaces.hpp"
#include "process/proc.hpp"
#include "process/process_state.hpp"
#include "process/seccomp.hpp"
#include "process/terminal.hpp"
#include "select/attributes.hpp"
#include "statefile/pages.hpp"
#include "statefile/statefile.hpp"
#include "timing.hpp"
#include "trust/credentials_bound.hpp"
#include "trust/privilege.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fmt/format.h>
#include <linux/kcmp.h>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

// Only root, or the owner of every process, may checkpoint them.
std::pair<uid_t, gid_t> checkpoint_owner(const std::vector<pid_t> &pids) {
  uid_t me = caller_uid();
  std::optional<std::pair<uid_t, gid_t>> owner;
  for (pid_t pid : pids) {
    if (!sdk::try_read_file(fmt::format("/proc/{}/status", pid)))
      continue; // a member of a group or tree that ended: not in the set
    std::istringstream uids(proc::status_field(pid, "Uid"));
    std::istringstream gids(proc::status_field(pid, "Gid"));
    uid_t uid = 0;
    gid_t gid = 0;
    uids >> uid;
    gids >> gid;
    if (me != 0 && uid != me)
      throw sdk::Error(EPERM, fmt::format("Operation not permitted: process {} "
                                          "belongs to uid {}",
                                          pid, uid));
    if (owner && owner->first != uid)
      owner = std::pair<uid_t, gid_t>{0, 0}; // several owners: root's
    else if (!owner)
      owner = std::pair<uid_t, gid_t>{uid, gid};
  }
  if (!owner)
    throw sdk::Error(ESRCH, "No such process: every process named has ended");
  return *owner;
}

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
  return h;
}

void collect_process(FrozenProcess &frozen, const Registry &registry,
                     sdk::SaveContext &ctx, PageWriter &pages,
                     FdTableCollector &fds, Manifest &manifest,
                     pid_t shares_mm_with, const Rights &caller) {
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
  collect_posix_timers(t, p);
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
  p.pages_bytes = pages.bytes(frozen.pid());
  manifest.processes.push_back(std::move(p));
}

// Objects of the whole set (System V IPC objects ...), once every process
// is frozen and saved.
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

// A zombie cannot be traced: /proc says all that it still is.
ProcessRecord zombie_record(pid_t pid) {
  auto st = proc::stat(pid);
  if (!st)
    throw sdk::Error(ESRCH, fmt::format("No such process: {}", pid));
  ProcessRecord p;
  p.pid = pid;
  p.comm = st->comm;
  p.ppid = static_cast<int>(st->field(4));
  p.pgid = static_cast<int>(st->field(5));
  p.sid = static_cast<int>(st->field(6));
  p.zombie = true;
  p.exit_status = static_cast<int>(st->field(52));
  return p;
}

// Every process the IDs name, frozen, with every thread; over and over
// until a round finds nothing new (a process of a tree may fork meanwhile).
struct FrozenSet {
  std::vector<std::unique_ptr<FrozenProcess>> processes;
  std::vector<ProcessRecord> zombies;

  bool has(pid_t pid) const {
    return std::any_of(processes.begin(), processes.end(),
                       [&](auto &f) { return f->pid() == pid; }) ||
           std::any_of(zombies.begin(), zombies.end(),
                       [&](auto &z) { return z.pid == pid; });
  }

  void freeze(const IdList &ids) {
    for (bool grew = true; grew;) {
      grew = false;
      for (pid_t pid : resolve_ids(ids)) {
        if (has(pid))
          continue;
        auto st = proc::stat(pid);
        if (st && st->state == 'Z') {
          zombies.push_back(zombie_record(pid));
        } else {
          try {
            processes.push_back(std::make_unique<FrozenProcess>(pid));
          } catch (const sdk::Error &) {
            // A member of a group or tree that ended since it was listed
            // is no longer in the set; anything else fails the checkpoint.
            if (proc::stat(pid))
              throw;
            continue;
          }
        }
        grew = true;
      }
    }
    if (processes.empty() && zombies.empty())
      throw sdk::Error(ESRCH, "No such process: " + ids.text());
  }

  // Parents before children, breadth first, as restart builds them: memory
  // shared by several processes is saved with, and rebuilt by, the first.
  void order_as_tree() {
    std::map<pid_t, pid_t> parent;
    for (const auto &f : processes)
      parent[f->pid()] = static_cast<pid_t>(proc::stat(f->pid())->field(4));
    auto depth = [&](pid_t pid) {
      int d = 0;
      for (auto it = parent.find(pid); it != parent.end();
           it = parent.find(it->second))
        ++d;
      return d;
    };
    std::stable_sort(processes.begin(), processes.end(),
                     [&](const auto &a, const auto &b) {
                       return depth(a->pid()) < depth(b->pid());
                     });
  }

  // Processes grouped by a kernel object they share (KCMP_VM, _FS, _FILES),
  // each group in tree order. kcmp orders the objects, so a sort finds the
  // groups without comparing every pair while the set is frozen.
  std::vector<std::vector<pid_t>> sharing(int kcmp_type) const {
    auto compare = [kcmp_type](pid_t a, pid_t b) {
      return ::syscall(SYS_kcmp, a, b, kcmp_type, 0, 0);
    };
    std::vector<pid_t> pids;
    for (const auto &f : processes)
      pids.push_back(f->pid());
    std::stable_sort(pids.begin(), pids.end(),
                     [&](pid_t a, pid_t b) { return compare(a, b) == 1; });
    std::vector<std::vector<pid_t>> groups;
    for (size_t i = 0; i < pids.size(); ++i)
      if (i > 0 && compare(groups.back().front(), pids[i]) == 0)
        groups.back().push_back(pids[i]);
      else
        groups.push_back({pids[i]});
    std::erase_if(groups, [](const auto &g) { return g.size() < 2; });
    return groups;
  }

  static pid_t parent_of(pid_t pid) {
    return static_cast<pid_t>(proc::stat(pid)->field(4));
  }

  // Processes sharing one fs struct (CLONE_FS) or one fd table
  // (CLONE_FILES) with their parent, which restart clones them from: every
  // member of a group but the first must be a child of another.
  std::set<pid_t> sharing_with_parent(int kcmp_type, const char *what) const {
    std::set<pid_t> sharers;
    for (const auto &group : sharing(kcmp_type))
      for (size_t i = 1; i < group.size(); ++i) {
        if (std::find(group.begin(), group.end(), parent_of(group[i])) ==
            group.end())
          throw sdk::Error(
              sdk::Code::checkpoint_error,
              fmt::format(
                  "Checkpoint error: process {} shares {} with {} without "
                  "being "
                  "a child of a process sharing it; cpr restores what a parent "
                  "shares with its children",
                  group[i], what, group.front()));
        sharers.insert(group[i]);
      }
    return sharers;
  }

  // Processes sharing one address space without being threads of one
  // process (clone with CLONE_VM, a vfork child before its exec): each to
  // the first of its group, which must be its parent (restart builds it by
  // a clone of its parent's). Call after order_as_tree().
  std::map<pid_t, pid_t> share_groups() const {
    std::map<pid_t, pid_t> owner;
    for (const auto &group : sharing(KCMP_VM))
      for (size_t i = 1; i < group.size(); ++i) {
        if (parent_of(group[i]) != group.front())
          throw sdk::Error(
              sdk::Code::checkpoint_error,
              fmt::format(
                  "Checkpoint error: process {} shares the address space of "
                  "{}, "
                  "which is not its parent; cpr restores share groups made by "
                  "a parent",
                  group[i], group.front()));
        owner[group[i]] = group.front();
      }
    return owner;
  }

  // A child outside the set would be missing after restart.
  void check_children() const {
    for (const auto &f : processes)
      for (pid_t child : proc::children(f->pid()))
        if (!has(child) && child != ::getpid()) // ckpt_create's own child
          throw sdk::Error(sdk::Code::checkpoint_error,
                           fmt::format("Checkpoint error: process {} has a "
                                       "child {} outside the set; "
                                       "checkpoint the tree with {}:HID",
                                       f->pid(), child, f->pid()));
  }
};

// What would stop a restart's build is found now, before anything is killed.
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

} // namespace

bool timing_wanted() {
  const char *v = std::getenv("CPR_TIMING");
  return v && *v && std::string(v) != "0";
}

void checkpoint(const CheckpointRequest &req) {
  Clock total;
  const Policies policies = load_policies(req.ids, attribute_files());
  const Will will = decide_will(req.will, policies);
  const std::vector<pid_t> named = resolve_ids(req.ids);
  auto [owner, group] = checkpoint_owner(named);
  Registry registry = Registry::load();
  StatefileWriter writer(req.statefile, req.force);
  PageWriter pages(writer.work_dir(), writer.seal_key());
  sdk::SaveContext ctx{.statefile = writer.work_dir(),
                       .pages = pages,
                       .sessions = registry.sessions()};
  ctx.policy = [policies](const std::string &directive,
                          const std::string &subject) {
    return policies.policy(directive, subject);
  };
  ctx.own_outside = [&writer](const std::string &path) {
    writer.own_outside(path);
  };
  ctx.owner = owner;
  ctx.options.set_flag("files.distribute", req.distribute);
  ctx.options.set_flag("memory.upgrade", req.upgrade);
  ctx.options.set_flag("pipes.outside", req.outside_pipes);
  ctx.options.set_flag("sockets.outside", req.outside_sockets);
  ctx.options.set("will", will == Will::cont   ? "cont"
                          : will == Will::kill ? "kill"
                                               : "exit");
  ctx.options.set_flag("shm.all_of_owner",
                       req.all_ipc || policies.ipc() == IpcPolicy::all);
  Manifest manifest;
  manifest.header = make_header(req, will, policies, owner, group);

  // Destroyed after the set: a failed checkpoint sends SIGRESTART to
  // processes already released.
  CheckpointNotice notice(named, req.handler_timeout);
  Clock frozen_for;
  FrozenSet set;
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
  } checkpoint_over{registry};
  set.freeze(req.ids);
  set.check_children();
  set.order_as_tree();
  auto share_group = set.share_groups();
  for (auto &f : set.processes)
    for (auto [member, owner] : share_group)
      if (f->pid() == member || f->pid() == owner)
        f->shares_address_space();
  for (auto &f : set.processes)
    ctx.processes.push_back(f->pid());
  manifest.header.own_ipc_namespace = own_ipc_namespace(ctx.processes);
  // System V objects are seen from the set's IPC namespace.
  std::optional<InIpcNamespaceOf> in_set_ipc;
  if (manifest.header.own_ipc_namespace)
    in_set_ipc.emplace(ctx.processes.front());
  FdTableCollector fds(registry, ctx, manifest);
  ctx.save_file = [&fds](int fd) { return fds.save_own(fd); };
  const Rights caller = caller_rights();
  const std::set<pid_t> fs_sharers =
      set.sharing_with_parent(KCMP_FS, "its working directory and root");
  const std::set<pid_t> table_sharers =
      set.sharing_with_parent(KCMP_FILES, "its fd table");
  for (auto &f : set.processes) {
    auto owner = share_group.find(f->pid());
    collect_process(*f, registry, ctx, pages, fds, manifest,
                    owner == share_group.end() ? 0 : owner->second, caller);
    manifest.processes.back().shares_fs = fs_sharers.count(f->pid()) != 0;
    manifest.processes.back().shares_files = table_sharers.count(f->pid()) != 0;
  }
  check_build_order(manifest);
  manifest.header.terminal = note_terminals(manifest.processes);
  collect_set_objects(registry, ctx, manifest);
  in_set_ipc.reset();
  for (ProcessRecord &z : set.zombies)
    manifest.processes.push_back(std::move(z));
  auto &frozen = set.processes;
  double frozen_ms = 0;
  // WILL CONT: everything is copied out, so the processes go on while the
  // statefile is made durable. EXIT and KILL wait until it is.
  if (will == Will::cont) {
    checkpoint_over.now();
    for (auto &f : frozen)
      f->resume();
    frozen_ms = frozen_for.ms();
    notice.processes_go_on();
  }
  pages.finish();
  writer.write_manifest(manifest);
  writer.commit(owner, group, pages.digests());
  if (will != Will::cont) {
    checkpoint_over.now();
    notice.dismiss();
    for (auto &f : frozen)
      f->kill();
    frozen_ms = frozen_for.ms();
  }
  if (timing_wanted())
    std::fprintf(stderr,
                 "cpr: timing: checkpoint frozen_ms=%.3f pages_bytes=%llu "
                 "pages_ms=%.3f total_ms=%.3f\n",
                 frozen_ms,
                 static_cast<unsigned long long>(pages.total_bytes()),
                 pages.seconds() * 1000, total.ms());
}

} // namespace cpr::engine
