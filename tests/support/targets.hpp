// The programs of tests/targets and their reference (uninterrupted) output.
#pragma once

#include "support/harness.hpp"

#include <string>
#include <vector>

namespace cpr_test {

struct TargetSpec {
  std::string name;              // for messages
  std::vector<std::string> argv; // absolute program path first
  std::string key() const;       // identifies the program and its arguments
  // It needs root itself (a mount, a namespace, chroot, /dev/console): it
  // runs as root even where the tests run targets as a user
  // (CPR_TEST_TARGETS_AS).
  bool privileged = false;
};

inline TargetSpec privileged(TargetSpec spec) {
  spec.privileged = true;
  return spec;
}

// Each takes the target's own arguments; none means its defaults (~2-3 s).
TargetSpec heap_avx(std::vector<std::string> args = {});
TargetSpec counter_py(std::vector<std::string> args = {});
TargetSpec loop_sh(std::vector<std::string> args = {});
// Statically linked, so it also runs in a bare chroot.
TargetSpec static_count();
// A parent and a clone(CLONE_VM) child: one address space, two processes.
TargetSpec share_group();
// Process sets (issue 3). tree.sh: a bash script and three `&` workers
// (worker1.txt.. in its cwd), its stdout ends with what they wrote.
TargetSpec tree_sh(std::vector<std::string> args = {});
TargetSpec threads(); // 8 computing threads + 1 on a condition variable
// Parent and child on a MAP_SHARED counter; split: each maps another piece.
TargetSpec shared_counter(bool split = false);
// Seven threads asleep in seven ways (sleep, nanosleep, poll, ...), ~2 s.
TargetSpec sleeper();
// alarm(2) ends a busy loop; ITIMER_VIRTUAL and ITIMER_PROF tick meanwhile.
TargetSpec itimers();
// big_memory.c: `mib` MiB of a pattern, kept for 3 s, then checked.
TargetSpec big_memory(int mib);
// churn.c: `mib` MiB rewritten page by page until a file "stop" appears in
// its cwd, then checked whole; "ready" first, "ok" last. `no_clone`: a
// seccomp filter kills it if it calls clone (or fork, vfork, clone3).
TargetSpec churn(int mib, bool no_clone = false);
// The same with a page of MAP_SHARED memory besides, checked at the end.
TargetSpec churn_shared(int mib);
// text_log.c: `mib` MiB of log lines and as much untouched memory after
// them, kept until a file "stop" appears in its cwd, then checked; "ready"
// first, "intact" last.
TargetSpec text_log(int mib);
// ledger.c: `mib` MiB of pages; a file "step" in its cwd makes it rewrite
// a hundredth of them and print "step N"; "stop" makes it check them all;
// "ready" first, "intact" last.
TargetSpec ledger(int mib);
// A periodic POSIX timer and a one-shot one that ends the run after 2 s.
TargetSpec posix_timers();
// Two threads with signals blocked and pending (standard and real-time,
// process-wide and per thread); ~2 s after "pending set" each takes them.
TargetSpec pending_signals();
// Counts to 40 with atcheckpoint/atrestart callbacks whose lines only a
// checkpoint adds; the checkpoint callback takes `handler_seconds`.
TargetSpec ckpt_events(int handler_seconds = 0);
// Checkpoints itself into `statefile` after "4"; mode "cont" or "kill".
TargetSpec self_checkpoint(const fs::path &statefile, std::string mode);
// Sums kept in a file mapped shared and in a private mapping of another.
TargetSpec mapped_files();
// One kind of memory state held ~2 s (issue 15): mode "holes", "deleted",
// "memfd", "advice" (writes "zero" or "kept" to the file "wiped" for its
// WIPEONFORK memory) or "sparse" (512 MiB, 8 pages of it written).
TargetSpec memory_kinds(std::string mode);
// An O_ASYNC pipe owned by the process (F_SETOWN_EX, F_SETSIG): counts the
// 40 signals its 40 writes send, ~2 s.
TargetSpec sigio(std::string mode = "");
TargetSpec timer_slack();
// A SIGEV_THREAD timer that runs a function 40 times, 50 ms apart.
TargetSpec timer_thread();
// Two seccomp filters refusing uname() and sysinfo(), checked for ~2 s.
TargetSpec seccomp();
// A child subreaper whose grandchild, reparented to it, exits 7 after ~2 s.
TargetSpec subreaper();
// A parent and child print personality, no_new_privs, dumpable, pdeathsig
// and whether their rseq area is live, before and after ~2 s.
TargetSpec process_flags();
// Holds a bound netlink socket at fd 3, counting to 20 over ~2 s.
TargetSpec netlink_holder();
// netlink_holder packet: fd 3 a packet socket, which no plugin carries.
TargetSpec packet_holder();
// Works ~2 s in a working directory it removed; "root": also its root.
TargetSpec deleted_cwd(std::string mode = "");
// Holds /proc/self/status and maps, its child's /proc/PID/stat, /proc/meminfo
// and /proc/self/fd open; prints "opened", then after ~2 s whether each
// still shows the right process.
TargetSpec proc_files();
// The state older releases kept in the engine's own records (issue 17): an
// IPC namespace of its own with a semaphore, an interval and a POSIX timer,
// a child leading a session on a pty of its own; counts ~3 s, then prints
// whether each survived. Static; privileged (unshare(CLONE_NEWIPC)).
TargetSpec legacy_state();
// A session on a pty of its own: leader, worker and background job open
// /dev/tty after ~2 s, then the pty is hung up; prints what each saw.
TargetSpec pty_session();
// A parent and a child sharing one fs struct (CLONE_FS; "files": one fd
// table, CLONE_FILES); after ~2 s the child moves and sets its umask, and
// the parent prints where it is.
TargetSpec clone_fs(std::string mode = "");
// file_writer PATH [w|a] [verify]: 40 lines to PATH over ~2 s.
TargetSpec file_writer(std::vector<std::string> args);
TargetSpec zombie(); // keeps a zombie child (status 7) for ~1.8 s
// eventfd, timerfd, signalfd, inotify, memfd, epoll in use (issue 4), ~2.4 s;
// mode "epoll": waits in epoll_wait for a timer 1.5 s ahead; "epoll-closed":
// an epoll watching an fd number closed since, ~2 s.
TargetSpec modern_fds(std::string mode = "");

// Directories, deleted files, locks, /dev/tty (issue 4). dirwalk: reads a
// directory of 2400 entries with readdir, one a millisecond, ~2.6 s.
TargetSpec dirwalk();
// Writes and reads back tmp/scratch.dat, unlinked while open, ~2.4 s.
TargetSpec deleted_file();
// Holds POSIX, OFD and flock locks in its cwd; a child checks them, ~2.5 s.
TargetSpec locks();
// Holds /dev/tty open if it can, ~2 s.
TargetSpec tty_user();
// A parent running a child on a pty of its own, bytes waiting in it both
// ways (issue 7).
TargetSpec pty_pair();
// A parent and child on a pty ("pty") or pipes ("pipes"), `bytes` unread
// each way; "ready", then on SIGUSR1 "ok" if both got the other's bytes.
TargetSpec pty_hold(const std::string &mode, std::size_t bytes);
// Holds /dev/zero, /dev/full, /dev/urandom, /dev/console; checks them after.
TargetSpec devices();
// Pipes (issue 5), ~2 s: "small", "full" (1 MiB, filled), "nonblock": bytes
// a child reads after 2 s; "blocked": a writer and a reader blocked on pipes.
TargetSpec pipe_data(std::string mode);
// unix_sockets MODE (issue 16): pair, listen, dgram, closed; client PATH.
TargetSpec unix_sockets(std::string mode, std::string path = "");
// pool.py CONTEXT: a Python multiprocessing pool (issue 16).
TargetSpec pool_py(std::string context);
// inet_sockets MODE ARG (issue 16): tcp 4|6, udp 4|6, client PORT.
TargetSpec inet_sockets(std::string mode, int arg);

// System V IPC and POSIX shared memory (issue 8), ~2-3 s each. `key` (hex on
// the command line) is the first of the keys and names a run uses; nothing
// they print depends on it. sysv_counter: a parent and child count in a
// segment (key) under a semaphore (key + 1); variant "marked": the segment
// is marked for removal while both are attached; "pieces": the child maps
// pieces of it, one with a protection of its own.
// `spec` run by `unshare --ipc`: in an IPC namespace of its own (same PID).
TargetSpec in_own_ipc_namespace(TargetSpec spec);
TargetSpec sysv_counter(key_t key, const std::string &variant = "");
// 40 messages of types 1-3 in a queue (key); "queued", ~2 s, then reads
// them back by type.
TargetSpec sysv_queue(key_t key);
// A parent and child count under a process-shared mutex in
// /dev/shm/cpr-shm-KEY; the child posts /dev/shm/sem.cpr-sem-KEY when done.
TargetSpec posix_shm(key_t key);

// stdout of an uninterrupted run, computed once per test binary run. Throws
// if that run fails or writes to stderr.
const std::string &reference_output(const TargetSpec &target);

struct StartOptions {
  std::optional<Credentials> as = std::nullopt;
  bool stdout_to_pipe = false;
  bool new_session = false; // leads its own session (SpawnOptions)
};

// A target started in `dir` (its cwd), writing dir/stdout.txt and
// dir/stderr.txt (or stdout into a pipe).
struct RunningTarget {
  pid_t pid = -1;
  fs::path out;
  fs::path err;
  Fd stdout_pipe;
};

RunningTarget start_target(const TargetSpec &target, const TempDir &dir,
                           const StartOptions &opts = {});

} // namespace cpr_test
