#include "process/process_state.hpp"

#include "freeze/ptrace.hpp"
#include "process/deleted_dirs.hpp"
#include "process/proc.hpp"

#include <ckpt.h>

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <csignal>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <linux/capability.h>
#include <sched.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

constexpr int signal_count = 64;
constexpr std::uint64_t sigset_size = 8;

std::vector<std::uint32_t> numbers(const std::string &text) {
  std::vector<std::uint32_t> out;
  std::istringstream in(text);
  std::uint32_t v;
  while (in >> v)
    out.push_back(v);
  return out;
}

std::uint64_t hex(const std::string &text) {
  return text.empty() ? 0 : std::stoull(text, nullptr, 16);
}

Credentials read_credentials(pid_t pid) {
  Credentials c;
  c.uids = numbers(proc::status_field(pid, "Uid"));
  c.gids = numbers(proc::status_field(pid, "Gid"));
  c.groups = numbers(proc::status_field(pid, "Groups"));
  c.cap_inheritable = hex(proc::status_field(pid, "CapInh"));
  c.cap_permitted = hex(proc::status_field(pid, "CapPrm"));
  c.cap_effective = hex(proc::status_field(pid, "CapEff"));
  c.no_new_privs = proc::status_field(pid, "NoNewPrivs") == "1";
  return c;
}

// The kernel would resume it with restart_syscall and the state it kept
// for it (the time left, the futex); a new process has none, and would get
// EINTR. Instead the call itself is made again: a sleep for the time left
// (the kernel wrote it to the call's own `rem`), a timed futex wait or poll
// with its timeout (an absolute one is exact, a relative one starts anew).
void reissue_restart_block_call(user_regs_struct &r) {
  long nr = static_cast<long>(r.orig_rax);
  if (nr == SYS_restart_syscall) {
    r.rax = SYS_restart_syscall; // its state is gone: EINTR it is
    r.rip -= 2;
    return;
  }
  if (nr == SYS_nanosleep && r.rsi != 0)
    r.rdi = r.rsi;
  if (nr == SYS_clock_nanosleep && r.r10 != 0 && !(r.rsi & TIMER_ABSTIME))
    r.rdx = r.r10;
  r.rax = r.orig_rax;
  r.rip -= 2;
}

template <class T> std::vector<std::uint8_t> bytes_of(const T &v) {
  const auto *p = reinterpret_cast<const std::uint8_t *>(&v);
  return {p, p + sizeof v};
}

template <class T> T from_bytes(const std::vector<std::uint8_t> &b) {
  T v{};
  std::memcpy(&v, b.data(), std::min(sizeof v, b.size()));
  return v;
}

} // namespace

user_regs_struct restartable(user_regs_struct r) {
  if (static_cast<long>(r.orig_rax) >= 0) {
    switch (static_cast<long>(r.rax)) {
    case -512: // ERESTARTSYS
    case -513: // ERESTARTNOINTR
    case -514: // ERESTARTNOHAND
      r.rax = r.orig_rax;
      r.rip -= 2;
      break;
    case -516: // ERESTART_RESTARTBLOCK
      reissue_restart_block_call(r);
      break;
    }
  }
  r.orig_rax = ~0ULL;
  return r;
}

void collect_identity(pid_t pid, ProcessRecord &p) {
  auto st = proc::stat(pid);
  if (!st)
    throw sdk::Error(ESRCH, fmt::format("No such process: {}", pid));
  const std::string dir = fmt::format("/proc/{}", pid);
  p.pid = pid;
  p.comm = st->comm;
  p.ppid = static_cast<int>(st->field(4));
  p.pgid = static_cast<int>(st->field(5));
  p.sid = static_cast<int>(st->field(6));
  p.nice = static_cast<int>(st->field(19));
  p.sched_priority = static_cast<int>(st->field(40));
  p.sched_policy = static_cast<int>(st->field(41));
  p.psargs = proc::cmdline(pid);
  p.exe = proc::readlink(dir + "/exe");
  collect_directories(pid, p);
  p.umask = static_cast<std::uint32_t>(
      std::stoul(proc::status_field(pid, "Umask"), nullptr, 8));
  p.personality =
      static_cast<std::uint32_t>(hex(sdk::read_file(dir + "/personality")));
  p.creds = read_credentials(pid);
  cpu_set_t cpus;
  if (::sched_getaffinity(pid, sizeof cpus, &cpus) == 0)
    for (int i = 0; i < CPU_SETSIZE; i += 64) {
      std::uint64_t word = 0;
      for (int b = 0; b < 64; ++b)
        if (CPU_ISSET(i + b, &cpus))
          word |= 1ULL << b;
      p.affinity.push_back(word);
    }
}

// All of it in one batch: 80 calls, each a round trip through ptrace else.
void collect_from_inside(RemoteProcess &t, ProcessRecord &p) {
  constexpr std::size_t limit_size = sizeof(Limit);
  constexpr std::size_t action_size = sizeof(SignalAction);
  std::uint64_t limits_at =
      t.scratch(RLIM_NLIMITS * limit_size + signal_count * action_size + 8 + 8);
  std::uint64_t actions_at = limits_at + RLIM_NLIMITS * limit_size;
  std::uint64_t pdeathsig_at = actions_at + signal_count * action_size;
  std::uint64_t subreaper_at = pdeathsig_at + 8;
  std::vector<RemoteProcess::Call> calls;
  for (int r = 0; r < RLIM_NLIMITS; ++r)
    calls.push_back({SYS_prlimit64,
                     {0, static_cast<std::uint64_t>(r), 0,
                      limits_at + static_cast<std::uint64_t>(r) * limit_size}});
  for (int sig = 1; sig <= signal_count; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP)
      calls.push_back(
          {SYS_rt_sigaction,
           {static_cast<std::uint64_t>(sig), 0,
            actions_at + static_cast<std::uint64_t>(sig - 1) * action_size,
            sigset_size}});
  calls.push_back({SYS_prctl, {PR_GET_CHILD_SUBREAPER, subreaper_at}});
  calls.push_back({SYS_prctl, {PR_GET_DUMPABLE}});
  calls.push_back({SYS_prctl, {PR_GET_PDEATHSIG, pdeathsig_at}});
  std::vector<long> results = t.syscalls(calls);
  for (std::size_t i = 0; i < results.size(); ++i)
    if (results[i] < 0)
      throw sdk::Error(
          static_cast<int>(-results[i]),
          fmt::format("cannot read the state of process {}: "
                      "system call {} failed: {}",
                      t.pid(), calls[i].nr,
                      std::strerror(static_cast<int>(-results[i]))));
  p.limits.assign(RLIM_NLIMITS, Limit{});
  t.read(limits_at, p.limits.data(), RLIM_NLIMITS * limit_size);
  p.actions.assign(signal_count, SignalAction{});
  t.read(actions_at, p.actions.data(), signal_count * action_size);
  p.actions[SIGKILL - 1] = p.actions[SIGSTOP - 1] = {}; // not asked
  p.dumpable = static_cast<int>(results[results.size() - 2]);
  t.read(pdeathsig_at, &p.pdeathsig, sizeof p.pdeathsig);
  std::int32_t subreaper = 0;
  t.read(subreaper_at, &subreaper, sizeof subreaper);
  p.child_subreaper = subreaper != 0;
}

ThreadState collect_thread(RemoteProcess &t, pid_t tid, std::uint64_t sigmask) {
  ThreadState th;
  th.tid = tid;
  th.regs = bytes_of(restartable(t.base_registers()));
  th.xstate = ptrace::get_xstate(tid);
  th.sigmask = sigmask;
  auto rseq = ptrace::get_rseq(tid);
  th.rseq_ptr = rseq.ptr;
  th.rseq_len = rseq.len;
  th.rseq_sig = rseq.sig;
  std::uint64_t buf = t.scratch(64);
  sdk::remote_call(t, "read its clear-child-tid address", SYS_prctl,
                   PR_GET_TID_ADDRESS, buf);
  t.read(buf, &th.clear_child_tid, sizeof th.clear_child_tid);
  void *head = nullptr;
  size_t len = 0;
  if (::syscall(SYS_get_robust_list, tid, &head, &len) == 0) {
    th.robust_list = reinterpret_cast<std::uint64_t>(head);
    th.robust_list_len = len;
  }
  sdk::remote_call(t, "read its alternate signal stack", SYS_sigaltstack, 0,
                   buf);
  stack_t ss{};
  t.read(buf, &ss, sizeof ss);
  th.altstack_sp = reinterpret_cast<std::uint64_t>(ss.ss_sp);
  th.altstack_size = ss.ss_size;
  th.altstack_flags = ss.ss_flags;
  th.pending = ptrace::peek_pending(tid, false);
  th.comm = sdk::read_file(fmt::format("/proc/{}/comm", tid));
  if (!th.comm.empty() && th.comm.back() == '\n')
    th.comm.pop_back();
  return th;
}

void restore_signal_actions(RemoteProcess &t, const ProcessRecord &p) {
  constexpr std::size_t size = sizeof(SignalAction);
  if (p.actions.size() != signal_count)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile: process {} has {} "
                                 "signal actions",
                                 p.pid, p.actions.size()));
  std::uint64_t at = t.scratch(signal_count * size);
  t.write(at, p.actions.data(), signal_count * size);
  std::vector<RemoteProcess::Call> calls;
  for (int sig = 1; sig <= signal_count; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP)
      calls.push_back(
          {SYS_rt_sigaction,
           {static_cast<std::uint64_t>(sig),
            at + static_cast<std::uint64_t>(sig - 1) * size, 0, sigset_size}});
  std::vector<long> results = t.syscalls(calls);
  for (std::size_t i = 0; i < results.size(); ++i)
    if (results[i] < 0)
      throw sdk::Error(
          static_cast<int>(-results[i]),
          fmt::format("cannot restore the action of signal {}: {}",
                      calls[i].args[0],
                      std::strerror(static_cast<int>(-results[i]))));
}

void restore_thread_state(RemoteProcess &t, const ThreadState &th) {
  std::uint64_t buf = t.scratch(64);
  if (!(th.altstack_flags & SS_DISABLE)) {
    stack_t ss{};
    ss.ss_sp = reinterpret_cast<void *>(th.altstack_sp);
    ss.ss_size = th.altstack_size;
    ss.ss_flags = th.altstack_flags & ~SS_ONSTACK;
    t.write(buf, &ss, sizeof ss);
    sdk::remote_call(t, "restore its alternate signal stack", SYS_sigaltstack,
                     buf, 0);
  }
  if (th.rseq_ptr)
    sdk::remote_call(t, "register its rseq area", SYS_rseq, th.rseq_ptr,
                     th.rseq_len, 0, th.rseq_sig);
  sdk::remote_call(t, "restore its clear-child-tid address",
                   SYS_set_tid_address, th.clear_child_tid);
  if (th.robust_list)
    sdk::remote_call(t, "restore its robust futex list", SYS_set_robust_list,
                     th.robust_list, th.robust_list_len);
  if (!th.comm.empty()) {
    constexpr std::size_t comm_size = 16; // TASK_COMM_LEN, NUL included
    std::string name = th.comm.substr(0, comm_size - 1);
    t.write(buf, name.c_str(), name.size() + 1);
    sdk::remote_call(t, "restore its name", SYS_prctl, PR_SET_NAME, buf);
  }
}

// The kernel takes a siginfo claiming to come from kill() or tgkill() (or
// from itself) only from the thread it is queued to: shared signals are
// queued by the main thread, a thread's own by that thread.
void queue_pending_signals(RemoteProcess &t, const ProcessRecord &p,
                           const ThreadState *thread) {
  std::uint64_t buf = t.scratch(sizeof(siginfo_t));
  auto queue = [&](const std::vector<std::uint8_t> &info) {
    auto si = from_bytes<siginfo_t>(info);
    t.write(buf, info.data(), info.size());
    auto pid = static_cast<std::uint64_t>(p.pid);
    auto sig = static_cast<std::uint64_t>(si.si_signo);
    if (thread)
      sdk::remote_call(t, "queue a pending signal", SYS_rt_tgsigqueueinfo, pid,
                       static_cast<std::uint64_t>(thread->tid), sig, buf);
    else
      sdk::remote_call(t, "queue a pending signal", SYS_rt_sigqueueinfo, pid,
                       sig, buf);
  };
  for (const auto &info : thread ? thread->pending : p.shared_pending)
    queue(info);
}

void queue_restart_signal(RemoteProcess &t, const ProcessRecord &p) {
  if (p.actions.size() < SIGRESTART)
    return;
  std::uint64_t handler = p.actions[SIGRESTART - 1].handler;
  if (handler == reinterpret_cast<std::uint64_t>(SIG_DFL) ||
      handler == reinterpret_cast<std::uint64_t>(SIG_IGN))
    return;
  siginfo_t si{};
  si.si_signo = SIGRESTART;
  si.si_code = SI_USER;
  si.si_pid = ::getpid(); // who restarted it
  si.si_uid = ::getuid();
  std::uint64_t buf = t.scratch(sizeof si);
  t.write(buf, &si, sizeof si);
  sdk::remote_call(t, "queue SIGRESTART", SYS_rt_sigqueueinfo,
                   static_cast<std::uint64_t>(p.pid),
                   static_cast<std::uint64_t>(SIGRESTART), buf);
}

const Credentials &saved_credentials(const ProcessRecord &p) {
  const Credentials &c = p.creds;
  if (c.uids.size() != 4 || c.gids.size() != 4)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile: process {} has no "
                                 "credentials",
                                 p.pid));
  return c;
}

void restore_groups(RemoteProcess &t, const Credentials &c) {
  std::uint64_t buf = t.scratch(sizeof(std::uint32_t) * (c.groups.size() + 1));
  if (!c.groups.empty())
    t.write(buf, c.groups.data(), c.groups.size() * sizeof(std::uint32_t));
  sdk::remote_call(t, "restore its groups", SYS_setgroups, c.groups.size(),
                   buf);
}

void restore_credentials(RemoteProcess &t, const ProcessRecord &p,
                         bool parent_restored) {
  const Credentials &c = saved_credentials(p);
  auto call = [&](const char *what, long nr, std::uint64_t a = 0,
                  std::uint64_t b = 0, std::uint64_t d = 0) {
    return sdk::remote_call(t, what, nr, a, b, d);
  };
  call("keep its capabilities", SYS_prctl, PR_SET_KEEPCAPS, 1);
  restore_groups(t, c);
  call("restore its gids", SYS_setresgid, c.gids[0], c.gids[1], c.gids[2]);
  call("restore its fsgid", SYS_setfsgid, c.gids[3]);
  call("restore its uids", SYS_setresuid, c.uids[0], c.uids[1], c.uids[2]);
  call("restore its fsuid", SYS_setfsuid, c.uids[3]);
  __user_cap_header_struct head{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {
      {static_cast<std::uint32_t>(c.cap_effective),
       static_cast<std::uint32_t>(c.cap_permitted),
       static_cast<std::uint32_t>(c.cap_inheritable)},
      {static_cast<std::uint32_t>(c.cap_effective >> 32),
       static_cast<std::uint32_t>(c.cap_permitted >> 32),
       static_cast<std::uint32_t>(c.cap_inheritable >> 32)}};
  std::uint64_t hbuf = t.scratch(sizeof head + sizeof data);
  t.write(hbuf, &head, sizeof head);
  t.write(hbuf + sizeof head, data, sizeof data);
  call("restore its capabilities", SYS_capset, hbuf, hbuf + sizeof head);
  call("restore its keep-capabilities flag", SYS_prctl, PR_SET_KEEPCAPS, 0);
  if (c.no_new_privs)
    call("restore no_new_privs", SYS_prctl, PR_SET_NO_NEW_PRIVS, 1);
  // Changing credentials resets these two.
  call("restore its dumpable flag", SYS_prctl, PR_SET_DUMPABLE,
       static_cast<std::uint64_t>(p.dumpable));
  // Also ends the SIGKILL the process set while it was being built.
  call("restore its parent-death signal", SYS_prctl, PR_SET_PDEATHSIG,
       parent_restored ? static_cast<std::uint64_t>(p.pdeathsig) : 0);
}

void restore_scheduling(const ProcessRecord &p, pid_t live) {
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(live), p.nice) != 0)
    sdk::throw_errno(
        fmt::format("cannot restore the nice value of process {}", p.pid),
        errno);
  sched_param param{};
  param.sched_priority = p.sched_priority;
  if (::sched_setscheduler(live, p.sched_policy, &param) != 0)
    sdk::throw_errno(
        fmt::format("cannot restore the scheduling policy of process {}",
                    p.pid),
        errno);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (size_t w = 0; w < p.affinity.size(); ++w)
    for (int b = 0; b < 64; ++b)
      if (p.affinity[w] >> b & 1)
        CPU_SET(static_cast<int>(w * 64 + b), &cpus);
  // A machine with fewer CPUs refuses the old mask: the process then keeps
  // the restarting process's affinity.
  (void)::sched_setaffinity(live, sizeof cpus, &cpus);
}

void restore_registers(pid_t tid, const ThreadState &th) {
  ptrace::set_regs(tid, from_bytes<user_regs_struct>(th.regs));
  ptrace::set_xstate(tid, th.xstate);
  ptrace::set_sigmask(tid, th.sigmask);
}

} // namespace cpr::engine
