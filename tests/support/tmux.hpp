// A private tmux server: terminals for the end-to-end tests of job control,
// driven as a user would (send-keys) and read back (capture-pane).
#pragma once

#include "harness.hpp"

#include <string>
#include <sys/types.h>

namespace cpr_test {

class Tmux {
public:
  // One session, its first window running an interactive bash in `cwd`.
  explicit Tmux(const fs::path &cwd);
  ~Tmux();
  Tmux(const Tmux &) = delete;
  Tmux &operator=(const Tmux &) = delete;

  // Another window with its own bash (its own terminal); returns its index.
  int new_window();
  void kill_window(int window);
  // Typed as is, then Enter.
  void type_line(int window, const std::string &text);
  // Keys by tmux's names: "C-c", "C-z", "Escape", "Enter".
  void press(int window, const std::string &key);
  void type(int window, const std::string &text);
  std::string screen(int window);
  // Polls the screen until it shows `text`.
  bool wait_for_text(int window, const std::string &text,
                     milliseconds timeout = 10s);
  pid_t shell_pid(int window);
  // The device of the window's terminal (st_rdev of its pty).
  dev_t terminal(int window);
  std::string terminal_path(int window);

private:
  CommandResult tmux(std::vector<std::string> args);
  std::string target(int window) const;

  fs::path socket_, cwd_;
};

} // namespace cpr_test
