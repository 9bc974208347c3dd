// Controlling terminals and job control (the guide's "Job Control Option").
// At checkpoint: which terminal the set ran on, with its modes. At restart
// with -j (CKPT_RESTART_INTERACTIVE): the terminal cpr runs on takes its
// place, and the processes on it become a foreground job of cpr's shell.
#pragma once

#include "statefile/manifest.hpp"

#include <sys/types.h>
#include <vector>

namespace cpr::engine {

// The controlling terminal of the first process (in tree order) that has
// one outside the set. A pty whose master the set holds goes with the set:
// the processes it is the controlling terminal of are marked so.
SavedTerminal note_terminals(std::vector<ProcessRecord> &processes);

class JobTerminal {
public:
  // Inactive unless `wanted` and a statefile's set had a terminal (the
  // first such one: only one controlling terminal is restored). Throws if
  // cpr itself has no controlling terminal to put the processes on.
  JobTerminal(bool wanted, const std::vector<const Manifest *> &manifests);
  ~JobTerminal();
  JobTerminal(const JobTerminal &) = delete;
  JobTerminal &operator=(const JobTerminal &) = delete;

  bool active() const { return fd_ >= 0; }
  // cpr's terminal, the real device (not /dev/tty); -1 if inactive.
  int fd() const { return fd_; }
  std::uint64_t saved_rdev() const { return saved_.rdev; }
  // The process joins cpr's session and process group: its controlling
  // terminal was the one replaced.
  bool takes_over(const ProcessRecord &p) const {
    return active() && p.tty_nr == saved_.rdev;
  }
  // Before the processes run: the saved modes on cpr's terminal, and cpr's
  // process group (theirs now) in its foreground.
  void take_foreground() const;
  // Once they run: SIGWINCH, so that full-screen programs ask the size of
  // the terminal they are on now and redraw.
  void ask_redraw(const std::vector<pid_t> &pids) const;

private:
  SavedTerminal saved_;
  int fd_ = -1;
};

} // namespace cpr::engine
