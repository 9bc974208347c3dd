#pragma once

#include <cpr/sdk/handler.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cpr::files {

// The set's controlling terminals, as sessions have them.
//
// One outside the set (a terminal window, tmux, sshd, a console): the
// processes on it, its name and modes. Without cpr -j they come back with no
// controlling terminal; with -j they stay in cpr's session and group, on the
// terminal cpr runs on, with the saved modes, in its foreground (job_terminal
// .hpp). Only the first such terminal of a set is recorded.
//
// A pty whose master the set holds goes with the set: each session leader
// on it takes it back through one of its fds before it forks, and the group
// that was in its foreground is again.
struct ControllingTerminals {
  std::uint64_t rdev = 0; // the outside one; 0: none
  std::string path;
  std::vector<std::uint8_t> modes; // struct termios, as tcgetattr gives it
  std::vector<std::int32_t> on_it; // the processes it was the terminal of
  std::map<std::int32_t, std::int32_t> leader_fd; // pty of the set
  std::vector<std::int32_t> foreground;           // pty of the set

  template <class A> void serialize(A &ar, unsigned) {
    ar &rdev &path &modes &on_it &leader_fd &foreground;
  }
};

class ControllingTerminalHandler final : public sdk::SetHandler {
public:
  std::string kind() const override { return "files.controlling-terminal"; }
  unsigned version() const override { return 1; }
  std::vector<sdk::Saved> save(sdk::SaveContext &ctx) const override;
  // With -j, fails if cpr has no controlling terminal to put them on.
  void restore(const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::files
