#include "controlling_terminal.hpp"

#include "job_terminal.hpp"
#include "terminal.hpp"

#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <set>
#include <termios.h>

namespace cpr::files {
namespace {

// The slave devices of the ptys whose master a process of the set holds.
std::set<std::uint64_t> ptys_of_the_set(const std::vector<pid_t> &pids) {
  std::set<std::uint64_t> slaves;
  for (pid_t pid : pids)
    for (int fd : sdk::fds_of(pid))
      if (int index = sdk::pty_master_index(pid, fd); index >= 0)
        slaves.insert(sdk::pty_slave_device(index));
  return slaves;
}

// Its name and modes, read through a process's fd on it if one has one.
void note_outside(ControllingTerminals &t, const std::vector<pid_t> &pids) {
  std::string through;
  for (pid_t pid : pids)
    if (int fd = fd_on_device(pid, t.rdev); fd >= 0) {
      through = fmt::format("/proc/{}/fd/{}", pid, fd);
      std::error_code ec;
      t.path = std::filesystem::read_symlink(through, ec).string();
      break;
    }
  if (through.empty())
    through = t.path = pty_name(t.rdev);
  sdk::UniqueFd fd(::open(through.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK));
  termios modes{};
  if (fd.get() < 0 || ::tcgetattr(fd.get(), &modes) != 0)
    return; // nothing to restore but the terminal itself
  t.modes.resize(sizeof modes);
  std::memcpy(t.modes.data(), &modes, sizeof modes);
}

void note_pty_of_the_set(ControllingTerminals &t, const SessionOfProcess &p) {
  if (p.sid == p.pid)
    if (int fd = fd_on_device(p.pid, p.tty); fd >= 0)
      t.leader_fd[p.pid] = fd;
  if (p.pgid == p.pid && p.tpgid == p.pid)
    t.foreground.push_back(p.pid);
}

std::string summary(const ControllingTerminals &t) {
  std::string s;
  if (t.rdev != 0)
    s = fmt::format("{}, the controlling terminal of {} process(es) (cpr -j "
                    "restarts them on yours)",
                    t.path.empty() ? "unnamed" : t.path, t.on_it.size());
  if (!t.leader_fd.empty())
    s += fmt::format("{}a pty of the set, the controlling terminal of {} "
                     "session(s)",
                     s.empty() ? "" : "; ", t.leader_fd.size());
  return s.empty() ? "a pty of the set, a controlling terminal" : s;
}

} // namespace

std::vector<sdk::Saved>
ControllingTerminalHandler::save(sdk::SaveContext &ctx) const {
  ControllingTerminals t;
  std::set<std::uint64_t> own_ptys;
  bool looked = false;
  for (pid_t pid : ctx.processes) {
    auto p = session_of(pid);
    if (!p || p->tty == 0)
      continue;
    if (!looked) {
      own_ptys = ptys_of_the_set(ctx.processes);
      looked = true;
    }
    if (own_ptys.count(p->tty)) {
      note_pty_of_the_set(t, *p);
      continue;
    }
    if (t.rdev == 0) {
      t.rdev = p->tty;
      note_outside(t, ctx.processes);
    }
    if (p->tty == t.rdev)
      t.on_it.push_back(pid);
  }
  if (t.rdev == 0 && t.leader_fd.empty() && t.foreground.empty())
    return {};
  return {{sdk::to_payload(t), summary(t)}};
}

void ControllingTerminalHandler::restore(const sdk::Record &record,
                                         sdk::RestoreContext &ctx) const {
  auto t = sdk::from_payload<ControllingTerminals>(record.payload);
  for (const auto &[leader, fd] : t.leader_fd)
    ctx.terminals->controlling_fd[leader] = fd;
  ctx.terminals->foreground.insert(t.foreground.begin(), t.foreground.end());
  if (t.rdev == 0 || !ctx.options.flag("interactive"))
    return;
  JobTerminal &job = job_terminal(ctx.sessions);
  if (!job.take_place_of(t.rdev, t.modes, ctx.live_pid))
    return; // only one terminal is restored: the first statefile's
  ctx.terminals->join_caller.insert(t.on_it.begin(), t.on_it.end());
  job.redraw(t.on_it);
}

} // namespace cpr::files
