#pragma once

#include <cpr/sdk/session.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::files {

// cpr -j (the guide's Job Control Option): the terminal cpr runs on takes the
// place of the set's controlling terminal. Kept for one restart, in cpr and
// (a copy) in the processes as their fds are opened.
class JobTerminal final : public sdk::Session {
public:
  ~JobTerminal() override;

  // Opens cpr's terminal to stand for `replaced`, unless another statefile's
  // terminal took that place first (false: only one is restored). Throws if
  // cpr has no controlling terminal.
  bool take_place_of(std::uint64_t replaced, std::vector<std::uint8_t> modes,
                     std::function<pid_t(pid_t)> live_pid);
  // These processes get SIGWINCH once they are about to run, so that
  // full-screen programs ask the size of the terminal and redraw.
  void redraw(const std::vector<std::int32_t> &saved_pids);
  // cpr's terminal, opened with `how`, if `rdev` is the terminal it
  // replaces; else -1.
  int reopen(std::uint64_t rdev, int how) const;
  // Before the processes run: the saved modes on cpr's terminal, and cpr's
  // process group (theirs now) in its foreground; then SIGWINCH.
  void restart_over(bool succeeded) override;

private:
  int fd_ = -1; // the real device, not /dev/tty, so that ttyname() names it
  std::uint64_t replaced_ = 0;
  std::uint64_t own_rdev_ = 0;
  std::string own_path_;
  pid_t cpr_pid_ = 0;
  std::vector<std::uint8_t> modes_;
  std::vector<std::int32_t> redraw_;
  std::function<pid_t(pid_t)> live_pid_;
};

// The restart's JobTerminal, shared by the files plugin's handlers.
JobTerminal &job_terminal(sdk::Sessions &sessions);

} // namespace cpr::files
