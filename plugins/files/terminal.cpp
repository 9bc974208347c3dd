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
std::string terminal_path(pid_t pid, std::uint64_t rdev) {
  int fd = fd_on_device(pid, rdev);
  if (fd < 0)
    return pty_name(rdev);
  std::error_code ec;
  return std::filesystem::read_symlink(fmt::format("/proc/{}/fd/{}", pid, fd),
                                       ec)
      .string();
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

std::optional<SessionOfProcess> session_of(pid_t pid) {
  auto stat = sdk::try_read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat)
    return std::nullopt;
  std::istringstream rest(stat->substr(stat->rfind(')') + 2));
  char state = 0;
  long ppid = 0, pgid = 0, sid = 0, tty = 0, tpgid = 0;
  rest >> state >> ppid >> pgid >> sid >> tty >> tpgid;
  if (state == 'Z')
    return std::nullopt;
  return SessionOfProcess{
      pid, static_cast<pid_t>(pgid), static_cast<pid_t>(sid),
      static_cast<pid_t>(tpgid),
      static_cast<std::uint64_t>(static_cast<unsigned long>(tty))};
}

int fd_on_device(pid_t pid, std::uint64_t rdev) {
  for (int fd : sdk::fds_of(pid)) {
    struct stat st {};
    if (::stat(fmt::format("/proc/{}/fd/{}", pid, fd).c_str(), &st) == 0 &&
        S_ISCHR(st.st_mode) && st.st_rdev == rdev)
      return fd;
  }
  return -1;
}

std::string pty_name(std::uint64_t rdev) {
  int index = sdk::pty_slave_index(static_cast<dev_t>(rdev));
  return index >= 0 ? fmt::format("/dev/pts/{}", index) : std::string();
}

TerminalRef controlling_terminal(pid_t pid) {
  TerminalRef tty;
  auto session = session_of(pid);
  if (!session || session->tty == 0)
    return tty;
  tty.rdev = session->tty;
  tty.path = terminal_path(pid, tty.rdev);
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
