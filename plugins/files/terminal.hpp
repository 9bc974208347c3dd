#pragma once

#include "device_records.hpp"

#include <cpr/sdk/handler.hpp>

#include <optional>

namespace cpr::files {

// A terminal whose other side is outside the set: a pty slave whose master
// another program holds (a terminal window, tmux, sshd), a virtual console,
// a serial line. At restart with cpr -j, the set's controlling terminal is
// the one cpr runs on; any other terminal (and, without -j, that one too)
// is reopened if it still exists and has the same owner, else the fd reads
// and writes /dev/null: never a terminal that is now someone else's. A pty
// slave whose master the set holds comes back with it (pty.hpp).
class TerminalHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "files.terminal"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
  // Made in cpr before it forks: a pty slave with its master (pty.hpp).
  bool open_before_fork() const override { return true; }
};

// What /proc/PID/stat says of a process's session and controlling terminal
// (tty 0: none); std::nullopt if it is gone or a zombie.
struct SessionOfProcess {
  pid_t pid = 0, pgid = 0, sid = 0, tpgid = 0;
  std::uint64_t tty = 0;
};
std::optional<SessionOfProcess> session_of(pid_t pid);
// An fd of `pid` open on the character device `rdev`, or -1.
int fd_on_device(pid_t pid, std::uint64_t rdev);
// The usual name of a pty's slave device ("/dev/pts/N"), or "".
std::string pty_name(std::uint64_t rdev);

// The controlling terminal of a process being checkpointed (rdev 0: none).
TerminalRef controlling_terminal(pid_t pid);
// The terminal `tty` was, as described above, opened with `flags`.
int reopen_terminal(const TerminalRef &tty, std::uint32_t flags,
                    const sdk::RestoreContext &ctx);

} // namespace cpr::files
