#include "process/terminal.hpp"

#include "process/proc.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

// The slave devices of the ptys whose master a process of the set holds.
std::set<std::uint64_t> ptys_of_the_set(const std::vector<ProcessRecord> &ps) {
  std::set<std::uint64_t> slaves;
  for (const ProcessRecord &p : ps)
    for (const FdRef &ref : p.fds)
      if (int index = sdk::pty_master_index(p.pid, ref.fd); index >= 0)
        slaves.insert(sdk::pty_slave_device(index));
  return slaves;
}

bool is_on(const ProcessRecord &p, int fd, std::uint64_t rdev) {
  struct stat st {};
  return ::stat(fmt::format("/proc/{}/fd/{}", p.pid, fd).c_str(), &st) == 0 &&
         S_ISCHR(st.st_mode) && st.st_rdev == rdev;
}

// An fd of a process of the set open on the device, as /proc/PID/fd/N.
std::string fd_on(const std::vector<ProcessRecord> &ps, std::uint64_t rdev) {
  for (const ProcessRecord &p : ps)
    for (const FdRef &ref : p.fds)
      if (is_on(p, ref.fd, rdev))
        return fmt::format("/proc/{}/fd/{}", p.pid, ref.fd);
  return {};
}

void mark_pty_of_the_set(ProcessRecord &p) {
  p.pty_of_the_set = true;
  for (const FdRef &ref : p.fds)
    if (is_on(p, ref.fd, p.tty_nr)) {
      p.ctty_fd = ref.fd;
      return;
    }
}

void read_modes(const std::string &path, SavedTerminal &t) {
  sdk::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK));
  termios modes{};
  if (fd.get() < 0 || ::tcgetattr(fd.get(), &modes) != 0)
    return; // nothing to restore but the terminal itself
  t.termios.resize(sizeof modes);
  std::memcpy(t.termios.data(), &modes, sizeof modes);
}

} // namespace

SavedTerminal note_terminals(std::vector<ProcessRecord> &processes) {
  SavedTerminal t;
  std::set<std::uint64_t> own_ptys;
  bool looked = false;
  for (ProcessRecord &p : processes) {
    if (p.zombie || p.tty_nr == 0)
      continue;
    if (!looked) {
      own_ptys = ptys_of_the_set(processes);
      looked = true;
    }
    if (own_ptys.count(p.tty_nr))
      mark_pty_of_the_set(p);
    if (own_ptys.count(p.tty_nr) || t.rdev != 0)
      continue;
    t.rdev = p.tty_nr;
    std::string fd = fd_on(processes, t.rdev);
    if (!fd.empty())
      t.path = proc::readlink(fd);
    else if (int index = sdk::pty_slave_index(t.rdev); index >= 0)
      t.path = fmt::format("/dev/pts/{}", index);
    read_modes(fd.empty() ? t.path : fd, t);
  }
  return t;
}

namespace {

// The device of cpr's controlling terminal itself rather than /dev/tty, so
// that a process asking the name of its terminal (ttyname) gets it.
int open_own_terminal() {
  int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0)
    throw sdk::Error(EINVAL,
                     "Invalid argument: -j (interactive restart) needs a "
                     "controlling terminal, and cpr has none");
  auto own = proc::stat(::getpid());
  auto rdev = static_cast<dev_t>(own ? own->field(7) : 0);
  for (int fd = 0; fd <= 2; ++fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != rdev)
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

JobTerminal::JobTerminal(bool wanted,
                         const std::vector<const Manifest *> &manifests) {
  if (!wanted)
    return;
  for (const Manifest *m : manifests)
    if (m->header.terminal.rdev != 0) {
      saved_ = m->header.terminal;
      break;
    }
  if (saved_.rdev != 0)
    fd_ = open_own_terminal();
}

JobTerminal::~JobTerminal() {
  if (fd_ >= 0)
    ::close(fd_);
}

void JobTerminal::take_foreground() const {
  if (!active())
    return;
  // From the background, changing the terminal would stop cpr (SIGTTOU):
  // the guide's -j brings the job to the foreground wherever cpr ran.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGTTOU, &ignore, &old);
  if (saved_.termios.size() == sizeof(termios)) {
    termios modes{};
    std::memcpy(&modes, saved_.termios.data(), sizeof modes);
    ::tcsetattr(fd_, TCSANOW, &modes);
  }
  ::tcsetpgrp(fd_, ::getpgrp());
  ::sigaction(SIGTTOU, &old, nullptr);
}

void JobTerminal::ask_redraw(const std::vector<pid_t> &pids) const {
  for (pid_t pid : pids)
    ::kill(pid, SIGWINCH);
}

} // namespace cpr::engine
