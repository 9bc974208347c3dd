#include "job_terminal.hpp"

#include <cpr/sdk/error.hpp>

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

namespace cpr::files {
namespace {

// The device of cpr's controlling terminal itself rather than /dev/tty, so
// that a process asking the name of its terminal (ttyname) gets it.
int open_own_terminal() {
  int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0)
    throw sdk::Error(EINVAL,
                     "Invalid argument: -j (interactive restart) needs a "
                     "controlling terminal, and cpr has none");
  struct stat own {};
  ::fstat(tty, &own);
  for (int fd = 0; fd <= 2; ++fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) ||
        st.st_rdev != own.st_rdev)
      continue;
    int real = ::open(fmt::format("/proc/self/fd/{}", fd).c_str(),
                      O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (real >= 0) {
      ::close(tty);
      return real;
    }
  }
  return tty;
}

} // namespace

JobTerminal::~JobTerminal() {
  if (fd_ >= 0 && ::getpid() == cpr_pid_)
    ::close(fd_);
}

bool JobTerminal::take_place_of(std::uint64_t replaced,
                                std::vector<std::uint8_t> modes,
                                std::function<pid_t(pid_t)> live_pid) {
  if (fd_ >= 0)
    return false;
  fd_ = open_own_terminal();
  cpr_pid_ = ::getpid();
  struct stat st {};
  ::fstat(fd_, &st);
  own_rdev_ = st.st_rdev;
  std::error_code ec;
  own_path_ =
      std::filesystem::read_symlink(fmt::format("/proc/self/fd/{}", fd_), ec)
          .string();
  replaced_ = replaced;
  modes_ = std::move(modes);
  live_pid_ = std::move(live_pid);
  return true;
}

void JobTerminal::redraw(const std::vector<std::int32_t> &saved_pids) {
  redraw_.insert(redraw_.end(), saved_pids.begin(), saved_pids.end());
}

int JobTerminal::reopen(std::uint64_t rdev, int how) const {
  if (fd_ < 0 || rdev != replaced_)
    return -1;
  // In a process being restored, cpr's fd may be one of its own by now:
  // the device by its name, checked.
  std::string path =
      ::getpid() == cpr_pid_ ? fmt::format("/proc/self/fd/{}", fd_) : own_path_;
  int fd = ::open(path.c_str(), how);
  struct stat st {};
  if (fd >= 0 && (::fstat(fd, &st) != 0 || st.st_rdev != own_rdev_)) {
    ::close(fd);
    fd = -1;
    errno = ENXIO;
  }
  if (fd < 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: cannot open the terminal cpr "
                     "runs on, " +
                         own_path_,
                     errno);
  return fd;
}

void JobTerminal::restart_over(bool succeeded) {
  if (!succeeded || fd_ < 0)
    return;
  // From the background, changing the terminal would stop cpr (SIGTTOU):
  // the guide's -j brings the job to the foreground wherever cpr ran.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGTTOU, &ignore, &old);
  if (modes_.size() == sizeof(termios)) {
    termios modes{};
    std::memcpy(&modes, modes_.data(), sizeof modes);
    ::tcsetattr(fd_, TCSANOW, &modes);
  }
  ::tcsetpgrp(fd_, ::getpgrp());
  ::sigaction(SIGTTOU, &old, nullptr);
  // Pending until they run.
  for (pid_t pid : redraw_)
    ::kill(live_pid_(pid), SIGWINCH);
}

JobTerminal &job_terminal(sdk::Sessions &sessions) {
  return sessions.of<JobTerminal>("files.controlling-terminal");
}

} // namespace cpr::files
