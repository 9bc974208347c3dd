// cpr -r: check everything, create every process with its PID, rebuild each
// from outside under ptrace, and let them all run only when all are ready.
#include "trust/acting_as.hpp"
#include "select/attributes.hpp"
#include "trust/credentials_bound.hpp"
#include "process/fd_owner.hpp"
#include "remote/gadgets.hpp"
#include "restore/helper.hpp"
#include "restore/ipc_namespace.hpp"
#include "statefile/pages.hpp"
#include "process/proc.hpp"
#include "process/process_state.hpp"
#include "freeze/ptrace.hpp"
#include "dispatch/registry.hpp"
#include "remote/remote.hpp"
#include "process/seccomp.hpp"
#include "statefile/statefile.hpp"
#include "process/terminal.hpp"
#include "timing.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <sched.h>
#include <set>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

constexpr unsigned rseq_flag_unregister = 1;

struct Loaded {
  std::string path;
  Manifest manifest;
  sdk::UniqueFd dir;
  std::unique_ptr<PageReader> pages;
  sdk::Options options; // the restart's, for its handlers
};

// Checked against its seal; its pages are checked as they are read.
Loaded load(const std::string &path) {
  OpenedStatefile sf = open_statefile(path, Verify::deferring_pages);
  auto pages = std::make_unique<PageReader>(path, sf.dir.get(), sf.key,
                                            std::move(sf.pages));
  return {
      path, std::move(sf.manifest), std::move(sf.dir), std::move(pages), {}};
}

// Whether a PID is free for a process of this restart; a PID named twice
// is never free.
bool pid_free(pid_t pid, std::set<pid_t> &claimed) {
  return claimed.insert(pid).second && !proc::pid_in_use(pid);
}

// The PIDs a restart needs: all free, or (FORK ANY) a new PID namespace.
class PidCheck {
public:
  explicit PidCheck(Fork fork) : fork_(fork) {}
  void need(pid_t pid, bool thread) {
    if (pid_free(pid, claimed_))
      return;
    if (fork_ == Fork::original)
      throw sdk::Error(sdk::Code::unavailable_pid,
                       fmt::format("unavailable PID: {} {} cannot have its "
                                   "PID back, it is in use",
                                   thread ? "thread" : "process", pid));
    new_namespace_ = true;
  }
  bool new_namespace() const { return new_namespace_; }

private:
  Fork fork_;
  std::set<pid_t> claimed_;
  bool new_namespace_ = false;
};

std::vector<pid_t> pids_of(const Manifest &m) {
  std::vector<pid_t> pids;
  for (const ProcessRecord &p : m.processes)
    pids.push_back(p.pid);
  return pids;
}

void make_set_objects(const Loaded &l, const Registry &registry) {
  sdk::RestoreContext ctx{.statefile = l.path,
                          .pages = *l.pages,
                          .sessions = registry.sessions(),
                          .processes = pids_of(l.manifest),
                          .options = l.options};
  for (bool make : {false, true})
    for (std::uint64_t id : l.manifest.set_objects) {
      const ObjectRecord &o = l.manifest.object(id);
      SetHandlerRef h = registry.set_handler(o.kind, o.version);
      sdk::Record record{o.kind, o.version, o.payload};
      make ? h.restore(record, ctx) : h.check(record, ctx);
    }
}

// A record of a kind no handler has any more is read as its plugin's remap
// table says, converted once for the whole restart.
void remap_records(Manifest &m, const Registry &registry) {
  for (ObjectRecord &o : m.objects) {
    sdk::Record now = registry.current(o.kind, o.version, o.payload);
    o.kind = std::move(now.kind);
    o.version = now.version;
    o.payload = std::move(now.payload);
  }
}

// Objects of the whole set (System V IPC objects, POSIX shared memory) are
// made first: the checks of the rest may need them (a file mapped from
// /dev/shm), and they are taken away again if the restart fails. Under
// FORK ANY, an id held by another object moves them all to a new IPC
// namespace.
void make_set_objects(const std::vector<Loaded> &loaded,
                      const Registry &registry, Fork fork, IpcNamespace &ipc) {
  try {
    for (const Loaded &l : loaded)
      make_set_objects(l, registry);
  } catch (const sdk::IdTaken &) {
    if (fork != Fork::any || ipc.is_new())
      throw;
    registry.restart_over(false); // what was made is taken back
    ipc.enter_new();
    for (const Loaded &l : loaded)
      make_set_objects(l, registry);
  }
}

// A set checkpointed in an IPC namespace of its own restarts in a new one.
bool own_ipc_namespace(const std::vector<Loaded> &loaded) {
  const Loaded &first = loaded.front();
  for (const Loaded &l : loaded)
    if (l.manifest.header.own_ipc_namespace !=
        first.manifest.header.own_ipc_namespace)
      throw sdk::Error(
          sdk::Code::component_unavailable,
          fmt::format(
              "component unavailable: {} and {} cannot restart together: one "
              "set had an IPC namespace of its own, the other did not",
              first.path, l.path));
  return first.manifest.header.own_ipc_namespace;
}

// No process gets more than the statefile's maker had, nor more than the
// user restarting it has.
void check_credentials(const Loaded &l) {
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
void check(Loaded &l, const Registry &registry, PidCheck &pids) {
  sdk::RestoreContext ctx{.statefile = l.path,
                          .pages = *l.pages,
                          .sessions = registry.sessions(),
                          .processes = pids_of(l.manifest),
                          .options = l.options};
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
    if (p.pages_bytes > 0)
      l.pages->open(p.pid, p.pages_bytes);
  }
}

std::uint64_t write_string(RemoteProcess &t, const std::string &s) {
  std::uint64_t at = t.scratch(s.size() + 1);
  t.write(at, s.c_str(), s.size() + 1);
  return at;
}

// struct clone_args of <linux/sched.h>.
struct CloneArgs {
  std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
      stack_size, tls, set_tid, set_tid_size, cgroup;
};

// A thread with its saved TID, cloned from inside; it spins in the gadget
// until seized, and gets its own registers later.
std::unique_ptr<RemoteProcess> clone_thread(RemoteProcess &main, pid_t tid,
                                            const ProcessTree &tree,
                                            pid_t saved_pid) {
  CloneArgs args{};
  args.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
               CLONE_THREAD | CLONE_SYSVSEM;
  std::uint64_t buf = main.scratch(sizeof args + sizeof(pid_t));
  args.set_tid = buf + sizeof args;
  args.set_tid_size = 1;
  main.write(buf, &args, sizeof args);
  main.write(args.set_tid, &tid, sizeof tid);
  // The new thread starts after the `syscall`: on the gadget's spin.
  main.use_syscall_insn(main.clone_gadget());
  long got = main.syscall(SYS_clone3, buf, sizeof args, 0, 0, 0, 0);
  main.use_syscall_insn(main.work_area().start);
  if (got < 0)
    sdk::throw_errno(fmt::format("cannot create thread {}", tid),
                     static_cast<int>(-got));
  if (got != tid)
    throw sdk::Error(
        sdk::Code::unavailable_pid,
        fmt::format("unavailable PID: thread {} came back as {}", tid, got));
  pid_t live = tree.live_tid(saved_pid, tid);
  ptrace::seize(live, PTRACE_O_EXITKILL); // a restart cpr abandons dies
  ptrace::interrupt(live);
  ptrace::wait_stop(live);
  auto t = std::make_unique<RemoteProcess>(live, main.syscall_insn(),
                                           ptrace::get_regs(live));
  t->use_work_area(main.work_area());
  return t;
}

// Signals that reached the helper on its way here are not the process's.
void drop_pending_signals(RemoteProcess &t) {
  struct Wait {
    std::uint64_t set;
    timespec zero;
  } w{~0ULL, {0, 0}};
  std::uint64_t buf = t.scratch(sizeof w);
  t.write(buf, &w, sizeof w);
  for (int i = 0; i < 4096; ++i)
    if (t.syscall(SYS_rt_sigtimedwait, buf, 0, buf + offsetof(Wait, zero), 8, 0,
                  0) < 0)
      return;
}

void join_group(RemoteProcess &t, const ProcessRecord &p,
                const JobTerminal &terminal) {
  if (terminal.takes_over(p) || p.pgid == p.pid || p.sid == p.pid ||
      t.syscall(SYS_getpgid, 0, 0, 0, 0, 0, 0) == p.pgid)
    return;
  // A group whose leader is not in the set does not exist any more: the
  // process then stays in the group of the process that restarted it.
  t.syscall(SYS_setpgid, 0, static_cast<std::uint64_t>(p.pgid), 0, 0, 0, 0);
}

void build(const PlannedProcess &pp, const Loaded &l, const Registry &registry,
           std::uint64_t own_syscall_insn, ProcessTree &tree,
           const JobTerminal &terminal) {
  const ProcessRecord &p = *pp.record;
  pid_t pid = tree.live_pid(p.pid);
  if (pid != p.pid)
    l.pages->alias(pid, p.pid);
  CpuPin pin(pid, true); // its saved affinity is restored at the end
  // Nothing is delivered while the process is built.
  ptrace::set_sigmask(pid, ~0ULL);
  // A member of a share group lives in the memory its owner, built before
  // it, has just restored: cpr's code is no longer there.
  std::uint64_t insn =
      p.shares_mm_with ? find_syscall_insn(pid) : own_syscall_insn;
  RemoteProcess main(pid, insn, ptrace::get_regs(pid));
  // Where it has nothing saved, for cpr's code and scratch memory; threads
  // cloned remotely wait in its spin loop until seized.
  sdk::Range work_area = install_work_area(main, p.address_space);
  // cpr's rseq area, inherited by fork, is about to be unmapped.
  auto rseq = ptrace::get_rseq(pid);
  if (rseq.ptr)
    sdk::remote_call(main, "unregister cpr's rseq area", SYS_rseq, rseq.ptr,
                     rseq.len, rseq_flag_unregister, rseq.sig);
  // Files it maps are opened with its rights, until it has them all.
  act_as_owner(main, p);
  sdk::RestoreContext ctx{
      .statefile = l.path,
      .pages = *l.pages,
      .sessions = registry.sessions(),
      .processes = pids_of(l.manifest),
      .live_pid = [&](pid_t saved) { return tree.live_pid(saved); },
      .options = l.options};
  for (std::uint64_t id : p.objects) {
    const ObjectRecord &rec = l.manifest.object(id);
    registry.process_handler(rec.kind, rec.version)
        .restore(main, {rec.kind, rec.version, rec.payload}, ctx);
  }
  // The root goes last of all paths: every path saved is cpr's view of it.
  if (p.root != "/" && l.manifest.header.rdir == DirPolicy::replace)
    // A deleted root is the working directory, made again (and removed).
    sdk::remote_call(main, "restore its root directory " + p.root, SYS_chroot,
                     write_string(main, p.root_deleted ? "." : p.root));
  join_group(main, p, terminal);
  restore_signal_actions(main, p);
  std::vector<std::unique_ptr<RemoteProcess>> threads;
  for (size_t i = 1; i < p.threads.size(); ++i) {
    threads.push_back(clone_thread(main, p.threads[i].tid, tree, p.pid));
    tree.add_thread(threads.back()->pid());
  }
  auto remote_of = [&](size_t i) -> RemoteProcess & {
    return i == 0 ? main : *threads[i - 1];
  };
  for (size_t i = 0; i < p.threads.size(); ++i) {
    restore_thread_state(remote_of(i), p.threads[i]);
    drop_pending_signals(remote_of(i));
  }
  restore_fd_owners(main, p);
  queue_pending_signals(main, p, nullptr);
  for (size_t i = 0; i < p.threads.size(); ++i)
    queue_pending_signals(remote_of(i), p, &p.threads[i]);
  queue_restart_signal(main, p);
  for (size_t i = 0; i < p.threads.size(); ++i)
    restore_credentials(remote_of(i), p, tree.parent_restored(p.pid));
  // Last: a timer that fires now leaves its signal pending, not dropped.
  restore_itimers(main, p);
  restore_posix_timers(main, p);
  // After it, only what its filters allow: cpr's last calls are munmap.
  restore_seccomp(main, p);
  main.unmap(work_area); // the last remote call
  restore_scheduling(p, pid);
  for (const ThreadState &th : p.threads)
    restore_registers(tree.live_tid(p.pid, th.tid), th);
}

} // namespace

Restarted restart(const RestartRequest &request) {
  const std::vector<std::string> &statefiles = request.statefiles;
  Clock total;
  Registry registry = Registry::load();
  // Left after the objects made in it are let go (let_go).
  IpcNamespace ipc;
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
  } let_go{registry};
  std::vector<Loaded> loaded;
  for (const std::string &path : statefiles) {
    loaded.push_back(load(path));
    loaded.back().options.set_flag("memory.changed_ok", request.force_changed);
  }
  std::vector<Fork> saved_fork;
  for (const Loaded &l : loaded)
    saved_fork.push_back(l.manifest.header.fork);
  const Fork fork = decide_fork(request.fork, saved_fork);
  for (Loaded &l : loaded) {
    check_access(l.path, l.manifest.header, Access::restart);
    check_credentials(l);
    remap_records(l.manifest, registry);
  }
  if (own_ipc_namespace(loaded))
    ipc.enter_new();
  make_set_objects(loaded, registry, fork, ipc);
  PidCheck pids(fork);
  for (Loaded &l : loaded)
    check(l, registry, pids);

  std::uint64_t own_insn = find_syscall_insn(::getpid());
  std::vector<PlannedProcess> plan;
  std::map<pid_t, const Loaded *> source;
  for (const Loaded &l : loaded)
    for (const ProcessRecord &p : l.manifest.processes) {
      plan.push_back({&p, &l.manifest, l.path});
      source[p.pid] = &l;
    }
  std::vector<const Manifest *> manifests;
  for (const Loaded &l : loaded)
    manifests.push_back(&l.manifest);
  JobTerminal terminal(request.interactive, manifests);
  ProcessTree tree(plan, registry, pids.new_namespace(), terminal);
  // Memory several processes share was saved with the first of them, which
  // must be rebuilt first; a thread an fd signals, made with its process.
  std::vector<const ProcessRecord *> records;
  for (const PlannedProcess &pp : plan)
    records.push_back(pp.record);
  for (std::size_t i : build_order(records)) {
    const PlannedProcess &pp = plan[i];
    if (pp.record->zombie)
      continue;
    try {
      build(pp, *source[pp.record->pid], registry, own_insn, tree, terminal);
    } catch (const sdk::Error &e) {
      throw e.within(
          fmt::format("restart of process {} failed: ", pp.record->pid));
    }
  }
  for (const Loaded &l : loaded)
    l.pages->verify();
  terminal.take_foreground();
  let_go.built(); // before the processes run
  tree.release();
  std::vector<pid_t> on_terminal;
  for (const PlannedProcess &pp : plan)
    if (terminal.takes_over(*pp.record) && !pp.record->zombie)
      on_terminal.push_back(tree.live_pid(pp.record->pid));
  terminal.ask_redraw(on_terminal);
  if (timing_wanted()) {
    std::uint64_t bytes = 0;
    double seconds = 0;
    for (const Loaded &l : loaded) {
      bytes += l.pages->total_bytes();
      seconds += l.pages->seconds();
    }
    std::fprintf(stderr,
                 "cpr: timing: restart pages_bytes=%llu pages_ms=%.3f "
                 "total_ms=%.3f\n",
                 static_cast<unsigned long long>(bytes), seconds * 1000,
                 total.ms());
  }
  const Manifest &first = loaded.front().manifest;
  return {first.header.ids,
          first.processes.empty() ? 0 : first.processes.front().pid};
}

} // namespace cpr::engine
