// The MANIFEST of a statefile: the header, the process table, and one record
// per kernel object. Handlers' payloads are opaque bytes here.
#pragma once

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/range.hpp>

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cpr::engine {

// Bumped whenever the layout of anything in this file changes.
// 2: the portable archive (docs/statefile.md); 1 was Boost's binary one.
inline constexpr std::uint32_t format_revision = 2;
inline constexpr std::uint32_t first_portable_revision = 2;

// Header class versions 2 to 5 only: the controlling terminal of the set,
// when it was outside the set (moved into a files.controlling-terminal
// record as it is read).
struct LegacyTerminal {
  std::uint64_t rdev = 0; // 0: the set had none
  std::string path;
  std::vector<std::uint8_t> termios; // struct termios, as tcgetattr gives it

  template <class A> void serialize(A &ar, unsigned) {
    ar &rdev &path &termios;
  }
};

// A statefile another one refers to: its path, absolute, and its seal's
// nonce, which no other statefile has.
struct Ancestor {
  std::string path;
  std::string nonce;

  template <class A> void serialize(A &ar, unsigned) { ar &path &nonce; }
};

struct Header {
  std::uint32_t revision = format_revision;
  std::string cpr_version;
  std::int64_t time = 0;       // seconds since the epoch
  std::uint32_t owner_uid = 0; // the checkpoint owner
  std::uint32_t owner_gid = 0;
  std::uint32_t made_by_uid = 0; // who ran the checkpoint
  std::string host, kernel, arch;
  std::string ids;  // the -p argument, as given
  std::string will; // EXIT, KILL or CONT
  // The attribute file's policies for the restart.
  Fork fork = Fork::original;
  DirPolicy cdir = DirPolicy::replace;
  DirPolicy rdir = DirPolicy::replace;
  LegacyTerminal legacy_terminal;
  // The groups of who ran the checkpoint (real gid first): a restart gives
  // no process a group its maker was not in.
  std::vector<std::uint32_t> made_by_groups;
  // Class version 4 only: the set lived in an IPC namespace of its own
  // (moved into a shm.ipc-namespace record as it is read).
  bool legacy_own_ipc_namespace = false;
  // The zstd level the pages were compressed with (--compress); 0: none.
  std::int32_t compress_level = 0;
  // cpr -c --since: the statefiles whose pages this one refers to, the
  // one it was made since first, then those that one refers to.
  std::vector<Ancestor> ancestors;

  // Class version 1 added fork, cdir, rdir; 2 terminal; 3 made_by_groups;
  // 4 own_ipc_namespace; 5 not it (plugins/shm has it); 6 no terminal
  // (plugins/files has it); 7 compress_level; 8 ancestors.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &revision &cpr_version &time &owner_uid &owner_gid &made_by_uid;
    ar &host &kernel &arch &ids &will;
    if (version >= 1)
      ar &fork &cdir &rdir;
    if (version >= 2 && version < 6)
      ar &legacy_terminal;
    if (version >= 3)
      ar &made_by_groups;
    if (version == 4)
      ar &legacy_own_ipc_namespace;
    if (version >= 7)
      ar &compress_level;
    if (version >= 8)
      ar &ancestors;
  }
};

struct ObjectRecord {
  std::uint64_t id = 0;
  std::string kind;
  std::uint32_t version = 0;
  std::string payload;
  std::string summary;

  template <class A> void serialize(A &ar, unsigned) {
    ar &id &kind &version &payload &summary;
  }
};

// "Process P holds object O at fd N."
struct FdRef {
  std::int32_t fd = -1;
  std::uint64_t object = 0;
  bool cloexec = false;
  // Who it signals when I/O is possible (F_SETOWN_EX: F_OWNER_TID, _PID or
  // _PGRP, and a saved ID; 0: nobody), with which signal (F_SETSIG), and
  // whether it does (O_ASYNC).
  std::int32_t owner_type = 0, owner = 0, io_signal = 0;
  bool async = false;

  // Class version 1 added owner_type, owner, io_signal, async.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &fd &object &cloexec;
    if (version >= 1)
      ar &owner_type &owner &io_signal &async;
  }
};

struct Credentials {
  std::vector<std::uint32_t> uids; // real, effective, saved, fs
  std::vector<std::uint32_t> gids;
  std::vector<std::uint32_t> groups;
  std::uint64_t cap_inheritable = 0, cap_permitted = 0, cap_effective = 0;
  bool no_new_privs = false;

  template <class A> void serialize(A &ar, unsigned) {
    ar &uids &gids &groups &cap_inheritable &cap_permitted &cap_effective
        &no_new_privs;
  }
};

// The kernel's struct sigaction for rt_sigaction (x86_64 layout).
struct SignalAction {
  std::uint64_t handler = 0, flags = 0, restorer = 0, mask = 0;

  template <class A> void serialize(A &ar, unsigned) {
    ar &handler &flags &restorer &mask;
  }
};

// A POSIX timer (timer_create), as /proc/PID/timers and timer_gettime
// show it; restored with its id.
// Timers as ProcessRecord held them before they had a plugin (class versions
// 3 to 10): read from older statefiles only, and moved into the timers
// plugin's records as they are read (legacy_records.hpp).
struct PosixTimer {
  std::int32_t id = 0, clock = 0, signo = 0;
  std::int32_t notify = 0;     // SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID
  std::int32_t notify_tid = 0; // SIGEV_THREAD_ID's thread
  std::uint64_t value = 0;     // sigev_value
  std::int64_t interval_ns = 0, left_ns = 0;

  template <class A> void serialize(A &ar, unsigned) {
    ar &id &clock &signo &notify &notify_tid &value &interval_ns &left_ns;
  }
};

struct LegacyTimers {
  std::vector<std::int64_t> itimers;
  std::vector<PosixTimer> posix_timers;
};

// A process's controlling terminal, as ProcessRecord class versions 5 to 11
// kept it.
struct LegacyTty {
  std::uint64_t tty_nr = 0; // its controlling terminal's device, 0 if none
  std::int32_t tpgid = 0;   // the foreground group of that terminal
  // That terminal is a pty whose master the set holds; `ctty_fd`: the fd of
  // its session leader on it (-1: none).
  bool pty_of_the_set = false;
  std::int32_t ctty_fd = -1;
};

struct Limit {
  std::uint64_t cur = 0, max = 0;

  template <class A> void serialize(A &ar, unsigned) { ar &cur &max; }
};

struct ThreadState {
  std::int32_t tid = 0;
  std::vector<std::uint8_t> regs;   // struct user_regs_struct
  std::vector<std::uint8_t> xstate; // NT_X86_XSTATE
  std::uint64_t sigmask = 0;
  std::uint64_t rseq_ptr = 0, rseq_len = 0, rseq_sig = 0;
  std::uint64_t clear_child_tid = 0;
  std::uint64_t robust_list = 0, robust_list_len = 0;
  std::uint64_t altstack_sp = 0, altstack_size = 0;
  std::int32_t altstack_flags = 0;
  std::vector<std::vector<std::uint8_t>> pending; // siginfo_t, per-thread
  std::string comm; // its name (PR_SET_NAME), up to 15 bytes

  // Class version 1 added comm.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &tid &regs &xstate &sigmask &rseq_ptr &rseq_len &rseq_sig;
    ar &clear_child_tid &robust_list &robust_list_len;
    ar &altstack_sp &altstack_size &altstack_flags &pending;
    if (version >= 1)
      ar &comm;
  }
};

// A run of a process's pages (counted as the handlers saved them) and where
// it is in the process's pages file. Pages in no run were left out as
// zeros.
// `source`: 0, the statefile's own pages file; k, that of its k-th
// ancestor (Header::ancestors), for pages unchanged since (cpr -c --since).
struct PageExtent {
  std::uint64_t logical = 0, length = 0, physical = 0;
  std::uint32_t source = 0;

  // Class version 1 added source.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &logical &length &physical;
    if (version >= 1)
      ar &source;
  }
};

// A compressed pages file is a row of zstd frames, each starting at a
// multiple of the page size (O_DIRECT), and the extents' `physical`
// offsets count the bytes the frames hold once decompressed.
struct PageFrame {
  std::uint64_t raw = 0, raw_length = 0;       // what it holds, decompressed
  std::uint64_t stored = 0, stored_length = 0; // where it is in the file

  template <class A> void serialize(A &ar, unsigned) {
    ar &raw &raw_length &stored &stored_length;
  }
};

inline constexpr std::uint64_t frame_alignment = 4096;

inline std::uint64_t frame_end(const PageFrame &f) {
  return f.stored + (f.stored_length + frame_alignment - 1) / frame_alignment *
                        frame_alignment;
}

struct ProcessRecord {
  std::int32_t pid = 0, ppid = 0, pgid = 0, sid = 0;
  std::string comm, psargs, exe, cwd, root;
  // Removed while the process was in it: cwd and root hold the path it had.
  // A deleted root is always also the working directory.
  bool cwd_deleted = false, root_deleted = false;
  std::uint32_t cwd_mode = 0; // a deleted working directory's permissions
  std::uint32_t umask = 022;
  std::uint32_t personality = 0;
  std::int32_t nice = 0;
  std::int32_t sched_policy = 0, sched_priority = 0;
  std::int32_t dumpable = 1, pdeathsig = 0;
  bool child_subreaper = false;    // PR_SET_CHILD_SUBREAPER
  bool zombie = false;             // restored as a zombie of its parent
  std::int32_t exit_status = 0;    // a zombie's, as waitpid reports it
  bool stopped = false;            // in group-stop: stays stopped
  std::int32_t stop_signal = 0;    // the signal it stopped by, 0: unknown
  std::int32_t shares_mm_with = 0; // its parent, whose address space it shares
  bool shares_fs = false;          // its parent's fs struct (cwd, root, umask)
  bool shares_files = false;       // its parent's fd table
  std::vector<std::uint64_t> affinity;
  Credentials creds;
  std::vector<Limit> limits;         // indexed by RLIMIT_*
  std::vector<SignalAction> actions; // indexed by signal number - 1
  std::vector<ThreadState> threads;
  std::vector<std::vector<std::uint8_t>> shared_pending; // siginfo_t
  std::vector<FdRef> fds;
  std::vector<std::uint64_t> objects;    // process-wide handler records
  std::vector<sdk::Range> address_space; // every mapping, for placing ours
  std::uint64_t pages_bytes = 0;         // decompressed
  std::vector<PageExtent> page_extents;  // sorted, apart
  std::vector<PageFrame> page_frames;    // none: the file is not compressed
  LegacyTimers legacy_timers;            // never written
  LegacyTty legacy_tty;                  // never written
  // Seccomp filters (struct sock_filter arrays), oldest first.
  std::vector<std::vector<std::uint8_t>> seccomp_filters;

  // Class version 1 added zombie, exit_status, stopped; 2 shares_mm_with;
  // 3 itimers; 4 posix_timers; 5 tty_nr, tpgid, pty_of_the_set, ctty_fd;
  // 6 stop_signal; 7 seccomp_filters, child_subreaper; 8 cwd_deleted,
  // root_deleted, cwd_mode; 9 shares_fs; 10 shares_files; 11 no timers
  // (plugins/timers has them); 12 no terminal (plugins/files has it);
  // 13 page_extents (before, the pages file held every page saved, in
  // order); 14 page_frames.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &pid &ppid &pgid &sid &comm &psargs &exe &cwd &root;
    ar &umask &personality &nice &sched_policy &sched_priority;
    ar &dumpable &pdeathsig;
    if (version >= 1)
      ar &zombie &exit_status &stopped;
    if (version >= 2)
      ar &shares_mm_with;
    ar &affinity &creds &limits &actions &threads &shared_pending;
    ar &fds &objects &address_space &pages_bytes;
    if (version >= 3 && version < 11)
      ar &legacy_timers.itimers;
    if (version >= 4 && version < 11)
      ar &legacy_timers.posix_timers;
    if (version >= 5 && version < 12) {
      LegacyTty &t = legacy_tty;
      ar &t.tty_nr &t.tpgid &t.pty_of_the_set &t.ctty_fd;
    }
    if (version >= 6)
      ar &stop_signal;
    if (version >= 7)
      ar &seccomp_filters &child_subreaper;
    if (version >= 8)
      ar &cwd_deleted &root_deleted &cwd_mode;
    if (version >= 9)
      ar &shares_fs;
    if (version >= 10)
      ar &shares_files;
    if (version >= 13)
      ar &page_extents;
    else if (pages_bytes > 0)
      page_extents = {{0, pages_bytes, 0}};
    if (version >= 14)
      ar &page_frames;
  }

  // The size of its pages file.
  std::uint64_t pages_file_bytes() const {
    return page_frames.empty() ? pages_bytes : frame_end(page_frames.back());
  }
};

struct Manifest {
  Header header;
  std::vector<ProcessRecord> processes;
  std::vector<ObjectRecord> objects;
  // Objects of the set as a whole (SetHandler), in the order they are made.
  std::vector<std::uint64_t> set_objects;

  const ObjectRecord &object(std::uint64_t id) const;

  // Class version 1 added set_objects.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &header &processes &objects;
    if (version >= 1)
      ar &set_objects;
  }
};

} // namespace cpr::engine

BOOST_CLASS_VERSION(cpr::engine::Header, 8)
BOOST_CLASS_VERSION(cpr::engine::ProcessRecord, 14)
BOOST_CLASS_VERSION(cpr::engine::ThreadState, 1)
BOOST_CLASS_VERSION(cpr::engine::FdRef, 1)
BOOST_CLASS_VERSION(cpr::engine::PageExtent, 1)
BOOST_CLASS_VERSION(cpr::engine::Manifest, 1)
