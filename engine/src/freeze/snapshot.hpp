// Copy-on-write snapshots of frozen processes (WILL CONT): a fork of each,
// made from inside it and held stopped under cpr, keeps the process's
// private memory as it was at the checkpoint while the process runs on, so
// that its pages are written after the set is released.
#pragma once

#include "freeze/frozen.hpp"
#include "process/proc.hpp"

#include <sys/types.h>
#include <vector>

namespace cpr::engine {

// A fork a killed cpr left: a finished child of `parent`, which the process
// never collects (no exit signal, status 99). collect_left_fork() collects
// it from inside the frozen parent.
bool left_by_killed_cpr(const proc::Stat &child);
void collect_left_fork(FrozenProcess &parent, pid_t child);

class Snapshots {
public:
  Snapshots() = default;
  ~Snapshots();
  Snapshots(const Snapshots &) = delete;
  Snapshots &operator=(const Snapshots &) = delete;

  // A fork of the frozen process, or 0 if none can be made (its memory is
  // then copied while it is frozen).
  pid_t take(FrozenProcess &frozen);
  // The processes snapshots were taken of run again.
  void released();
  // Ends every fork (it exits, status 99). Each is a child of its process,
  // which cpr holds once more for a moment to collect it (the process never
  // sees it: a fork with no exit signal is invisible to wait() without
  // __WALL).
  void drop();
  // How long the processes were held again to collect their forks.
  double held_ms() const { return held_ms_; }

private:
  struct Taken {
    pid_t owner;
    pid_t fork;            // in cpr's PID namespace
    long fork_as_seen;     // in the owner's
    FrozenProcess *frozen; // while the owner is still held
  };
  void collect(const Taken &t);

  std::vector<Taken> taken_;
  double held_ms_ = 0;
};

} // namespace cpr::engine
