#include "tmux.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

namespace cpr_test {

Tmux::Tmux(const fs::path &cwd) : socket_(cwd / "tmux.sock"), cwd_(cwd) {
  // A known prompt, no rc files: the same shell wherever the tests run.
  tmux({"new-session", "-d", "-s", "t", "-x", "100", "-y", "30", "-c",
        cwd.string(), "env PS1='ready> ' bash --norc --noprofile -i"});
  if (!wait_for_text(0, "ready>"))
    throw HarnessError("tmux: the shell did not start");
}

Tmux::~Tmux() {
  try {
    tmux({"kill-server"});
  } catch (...) {
  }
}

CommandResult Tmux::tmux(std::vector<std::string> args) {
  std::vector<std::string> argv{"/usr/bin/tmux", "-S", socket_.string(), "-f",
                                "/dev/null"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = run_command(argv, {}, 10s, {"TERM=xterm"});
  if (!r.status.success())
    throw HarnessError("tmux " + args.front() + " failed: " + r.describe());
  return r;
}

std::string Tmux::target(int window) const {
  return fmt::format("t:{}", window);
}

int Tmux::new_window() {
  // "t:" is the session, so the window goes to the next free index; a bare
  // "t" may be taken for a window (tmux also matches window names), and
  // new-window then failed once with "create window failed: index 0 in use".
  CommandResult r =
      tmux({"new-window", "-P", "-F", "#{window_index}", "-t", "t:", "-c",
            cwd_.string(), "env PS1='ready> ' bash --norc --noprofile -i"});
  int window = std::stoi(r.out);
  if (!wait_for_text(window, "ready>"))
    throw HarnessError("tmux: the shell of the new window did not start");
  return window;
}

void Tmux::kill_window(int window) {
  tmux({"kill-window", "-t", target(window)});
}

void Tmux::type(int window, const std::string &text) {
  tmux({"send-keys", "-t", target(window), "-l", text});
}

void Tmux::type_line(int window, const std::string &text) {
  type(window, text);
  press(window, "Enter");
}

void Tmux::press(int window, const std::string &key) {
  tmux({"send-keys", "-t", target(window), key});
}

std::string Tmux::screen(int window) {
  return tmux({"capture-pane", "-p", "-t", target(window)}).out;
}

bool Tmux::wait_for_text(int window, const std::string &text,
                         milliseconds timeout) {
  return wait_until(
      [&] { return screen(window).find(text) != std::string::npos; }, timeout);
}

pid_t Tmux::shell_pid(int window) {
  return std::stoi(
      tmux({"display-message", "-p", "-t", target(window), "#{pane_pid}"}).out);
}

std::string Tmux::terminal_path(int window) {
  std::string path =
      tmux({"display-message", "-p", "-t", target(window), "#{pane_tty}"}).out;
  while (!path.empty() && path.back() == '\n')
    path.pop_back();
  return path;
}

dev_t Tmux::terminal(int window) {
  struct stat st {};
  if (::stat(terminal_path(window).c_str(), &st) != 0)
    throw HarnessError("tmux: no terminal for window " +
                       std::to_string(window));
  return st.st_rdev;
}

} // namespace cpr_test
