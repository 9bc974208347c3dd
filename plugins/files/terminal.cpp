#include "terminal.hpp"

#include "job_terminal.hpp"
#include "open_flags.hpp"
#include "pty.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>

#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace cpr::files {
namespace {

bool is_terminal(dev_t rdev) {
  unsigned m = major(rdev);
  return sdk::pty_slave_index(rdev) >= 0 ||
         m == 4 ||   // virtual consoles, the first serial lines
         m == 166 || // USB modems (ttyACM)
         m == 188 || // USB serial (ttyUSB)
         m == 204;   // other serial lines (ttyAMA ...)
}

// Where /proc/PID/fd shows the terminal, or the pty's usual name.
std::string terminal_path(pid_t pid, dev_t rdev) {
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator(
           fmt::format("/proc/{}/fd", pid), ec)) {
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) == 0 && S_ISCHR(st.st_mode) &&
        st.st_rdev == rdev)
      return std::filesystem::read_symlink(entry.path(), ec).string();
  }
  int index = sdk::pty_slave_index(rdev);
  return index >= 0 ? fmt::format("/dev/pts/{}", index) : std::string();
}

int open_null(std::uint32_t flags) {
  int fd = ::open("/dev/null",
                  static_cast<int>(flags & (O_ACCMODE | O_APPEND)) | O_CLOEXEC);
  if (fd < 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: cannot open /dev/null", errno);
  return fd;
}

} // namespace

bool TerminalHandler::claims(const sdk::OpenFile &file) const {
  return S_ISCHR(file.st.st_mode) && is_terminal(file.st.st_rdev);
}

sdk::Saved TerminalHandler::save(const sdk::OpenFile &file,
                                 sdk::SaveContext &ctx) const {
  Terminal rec{{file.path, file.st.st_rdev, file.st.st_uid}, file.flags, -1};
  int index = sdk::pty_slave_index(file.st.st_rdev);
  if (index >= 0 && master_in_set(index, ctx))
    rec.pty_index = index;
  return {sdk::to_payload(rec),
          fmt::format("{} {} ({})",
                      rec.pty_index >= 0 ? "pty slave" : "terminal", file.path,
                      describe_flags(file.flags))};
}

int TerminalHandler::open(const sdk::Record &record,
                          sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<Terminal>(record.payload);
  if (rec.pty_index >= 0)
    return open_pty_slave(ctx, rec.pty_index, rec.flags);
  return reopen_terminal(rec.tty, rec.flags, ctx);
}

TerminalRef controlling_terminal(pid_t pid) {
  std::string stat = sdk::read_file(fmt::format("/proc/{}/stat", pid));
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string state;
  long ppid = 0, pgrp = 0, session = 0, tty_nr = 0;
  rest >> state >> ppid >> pgrp >> session >> tty_nr;
  TerminalRef tty;
  if (tty_nr == 0)
    return tty;
  tty.rdev = static_cast<std::uint64_t>(tty_nr);
  tty.path = terminal_path(pid, static_cast<dev_t>(tty_nr));
  struct stat st {};
  if (!tty.path.empty() && ::stat(tty.path.c_str(), &st) == 0)
    tty.uid = st.st_uid;
  return tty;
}

int reopen_terminal(const TerminalRef &tty, std::uint32_t flags,
                    const sdk::RestoreContext &ctx) {
  // Never made the controlling terminal by being opened: sessions get
  // theirs from the engine.
  int how = reopen_flags(flags) | O_NOCTTY;
  // cpr -j: the terminal cpr runs on takes the place of the set's
  // controlling terminal.
  if (int fd = job_terminal(ctx.sessions).reopen(tty.rdev, how); fd >= 0)
    return fd;
  struct stat st {};
  if (tty.rdev != 0 && !tty.path.empty() &&
      ::stat(tty.path.c_str(), &st) == 0 && S_ISCHR(st.st_mode) &&
      st.st_rdev == tty.rdev && st.st_uid == tty.uid) {
    int fd = ::open(tty.path.c_str(), how | O_NONBLOCK);
    if (fd >= 0) {
      ::fcntl(fd, F_SETFL, static_cast<int>(flags) & ~O_ACCMODE);
      return fd;
    }
  }
  return open_null(flags);
}

} // namespace cpr::files
