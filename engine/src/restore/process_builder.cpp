#include "restore/process_builder.hpp"

#include "freeze/ptrace.hpp"
#include "process/fd_owner.hpp"
#include "process/process_state.hpp"
#include "process/seccomp.hpp"
#include "remote/gadgets.hpp"
#include "remote/remote.hpp"
#include "trust/acting_as.hpp"

#include <cpr/sdk/error.hpp>

#include <csignal>
#include <cstddef>
#include <fmt/format.h>
#include <memory>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

namespace cpr::engine {
namespace {

constexpr unsigned rseq_flag_unregister = 1;

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
                const sdk::SessionTerminals &terminals) {
  if (terminals.join_caller.count(p.pid) || p.pgid == p.pid || p.sid == p.pid ||
      t.syscall(SYS_getpgid, 0, 0, 0, 0, 0, 0) == p.pgid)
    return;
  // A group whose leader is not in the set does not exist any more: the
  // process then stays in the group of the process that restarted it.
  t.syscall(SYS_setpgid, 0, static_cast<std::uint64_t>(p.pgid), 0, 0, 0, 0);
}

// The process entered: pinned, signals held, cpr's work area in place,
// cpr's rseq area let go, files opened with the process's rights.
struct Entered {
  RemoteProcess main;
  sdk::Range work_area;
};

std::unique_ptr<Entered> enter(const ProcessRecord &p, pid_t pid,
                               std::uint64_t own_syscall_insn) {
  // Nothing is delivered while the process is built.
  ptrace::set_sigmask(pid, ~0ULL);
  // A member of a share group lives in the memory its owner, built before
  // it, has just restored: cpr's code is no longer there.
  std::uint64_t insn =
      p.shares_mm_with ? find_syscall_insn(pid) : own_syscall_insn;
  auto e = std::unique_ptr<Entered>(
      new Entered{RemoteProcess(pid, insn, ptrace::get_regs(pid)), {}});
  // Where it has nothing saved, for cpr's code and scratch memory; threads
  // cloned remotely wait in its spin loop until seized.
  e->work_area = install_work_area(e->main, p.address_space);
  // cpr's rseq area, inherited by fork, is about to be unmapped.
  auto rseq = ptrace::get_rseq(pid);
  if (rseq.ptr)
    sdk::remote_call(e->main, "unregister cpr's rseq area", SYS_rseq, rseq.ptr,
                     rseq.len, rseq_flag_unregister, rseq.sig);
  // Files it maps are opened with its rights, until it has them all.
  act_as_owner(e->main, p);
  return e;
}

// Its process-wide records whose handlers run `late` (Phase::after_threads)
// or not, in the order they were saved.
void run_process_handlers(RemoteProcess &main, const ProcessRecord &p,
                          const LoadedStatefile &l, const Registry &registry,
                          const ProcessTree &tree, bool late) {
  sdk::RestoreContext ctx = restore_context(l, registry);
  ctx.live_pid = [&](pid_t saved) { return tree.live_pid(saved); };
  for (std::uint64_t id : p.objects) {
    const ObjectRecord &rec = l.manifest.object(id);
    ProcessHandlerRef h = registry.process_handler(rec.kind, rec.version);
    if ((h.phase() == sdk::Phase::after_threads) == late)
      h.restore(main, {rec.kind, rec.version, rec.payload}, ctx);
  }
}

using Threads = std::vector<std::unique_ptr<RemoteProcess>>;

// Its other threads, cloned with their TIDs; each thread's state, and the
// signals pending for it.
Threads restore_threads(RemoteProcess &main, const ProcessRecord &p,
                        ProcessTree &tree) {
  Threads threads;
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
  return threads;
}

} // namespace

void build_process(const PlannedProcess &pp, const LoadedStatefile &l,
                   const Registry &registry, std::uint64_t own_syscall_insn,
                   ProcessTree &tree, const sdk::SessionTerminals &terminals) {
  const ProcessRecord &p = *pp.record;
  pid_t pid = tree.live_pid(p.pid);
  if (pid != p.pid)
    l.pages->alias(pid, p.pid);
  CpuPin pin(pid, true); // its saved affinity is restored at the end
  auto entered = enter(p, pid, own_syscall_insn);
  RemoteProcess &main = entered->main;
  run_process_handlers(main, p, l, registry, tree, false);
  // The root goes last of all paths: every path saved is cpr's view of it.
  if (p.root != "/" && l.manifest.header.rdir == DirPolicy::replace)
    // A deleted root is the working directory, made again (and removed).
    sdk::remote_call(main, "restore its root directory " + p.root, SYS_chroot,
                     write_string(main, p.root_deleted ? "." : p.root));
  join_group(main, p, terminals);
  restore_signal_actions(main, p);
  Threads threads = restore_threads(main, p, tree);
  run_process_handlers(main, p, l, registry, tree, true);
  // After it, only what its filters allow: cpr's last calls are munmap.
  restore_seccomp(main, p);
  main.unmap(entered->work_area); // the last remote call
  restore_scheduling(p, pid);
  for (const ThreadState &th : p.threads)
    restore_registers(tree.live_tid(p.pid, th.tid), th);
}

} // namespace cpr::engine
