// The engine's entry points: what `cpr` (and libcpr's C API) call.
// Every function throws cpr::sdk::Error with a one-line message on failure.
#pragma once

#include <cpr/engine/id_list.hpp>
#include <cpr/engine/progress.hpp>

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::engine {

enum class Will { exit, kill, cont };

inline constexpr int max_compress_level = 19;

struct CheckpointRequest {
  std::string statefile;
  IdList ids;
  bool force = false; // -f: overwrite an existing statefile
  // -k or -g; if not given, the attribute file's WILL, else EXIT.
  std::optional<Will> will;
  // --distribute (CKPT_OPENFILE_DISTRIBUTE): saved copies of open files go
  // beside the files instead of into the statefile.
  bool distribute = false;
  // --outside-pipes: carry pipes whose other end is outside the set.
  bool outside_pipes = false;
  // --outside-sockets: a unix socket connected outside the set is connected
  // again, by its peer's address, at restart.
  bool outside_sockets = false;
  // --all-ipc (IPC ALL): System V IPC objects of the checkpoint owner that
  // no process uses are saved too.
  bool all_ipc = false;
  // -u (CKPT_CHECKPOINT_UPGRADE): the executables and shared libraries the
  // processes map are saved too (the statefile's bin/), for a restart after
  // they changed.
  bool upgrade = false;
  // --compress (CKPT_ARG_COMPRESS): the zstd level, 1 to 19, the pages are
  // compressed with; 0: not compressed.
  int compress = 0;
  // --since (CKPT_ARG_SINCE): an earlier statefile of these processes; the
  // pages it holds unchanged are referred to, not written again.
  std::string since;
  // How long the SIGCKPT handlers may take (the guide's checkpoint time-out).
  std::chrono::seconds handler_timeout{60};
  // Told how many bytes of memory are written, as they are.
  ProgressSink progress = {};
};

// The processes an ID list names (a thread id names its whole process).
std::vector<pid_t> resolve_ids(const IdList &ids);

void checkpoint(const CheckpointRequest &request);
// The FORK policy of the guide.
enum class Fork {
  original, // a process whose PID is taken fails the restart
  any,      // then the whole set is restored in a new PID namespace, under
            // a small init of cpr's, each process keeping its PIDs there
};

// The CDIR and RDIR policies: restore the saved working (root) directory,
// or keep the one of the restarting cpr.
enum class DirPolicy { replace, ignore };

struct RestartRequest {
  std::vector<std::string> statefiles;
  Fork fork = Fork::original; // FORK ANY in a statefile overrides it
  // -j (CKPT_RESTART_INTERACTIVE): the processes that ran on a terminal
  // run on the caller's, as a foreground job of its session.
  bool interactive = false;
  // --force-changed (CKPT_ARG_FORCE): an executable or library changed
  // since a checkpoint made without -u is mapped as it is now.
  bool force_changed = false;
  // Told how many bytes of memory are put back, as they are.
  ProgressSink progress = {};
};

// What was restarted: the first statefile's ID list, as checkpointed, and
// its first process.
struct Restarted {
  std::string ids;
  pid_t first_pid = 0;
};
Restarted restart(const RestartRequest &request);
void describe(const std::string &statefile, std::ostream &out);

// What ckpt_stat() tells of a statefile.
struct ProcessSummary {
  pid_t pid = 0, ppid = 0, pgid = 0, sid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string comm, psargs, cwd;
  int nfiles = 0, nthreads = 0;
};
struct StatefileSummary {
  long long revision = 0;
  std::string ids; // as checkpointed: "1234", "12:SID,40"
  std::int64_t time = 0;
  std::vector<ProcessSummary> processes;
};
StatefileSummary summarize(const std::string &statefile);
void remove(const std::string &statefile);
// Root seals a statefile with this host's key (cpr --reseal).
void reseal(const std::string &statefile);

} // namespace cpr::engine
