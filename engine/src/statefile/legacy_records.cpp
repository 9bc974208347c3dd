#include "statefile/legacy_records.hpp"

#include <cpr/sdk/payload.hpp>

#include <algorithm>
#include <boost/serialization/map.hpp>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <map>

namespace cpr::engine {
namespace {

ObjectRecord &add_record(Manifest &m, std::string kind, std::string payload) {
  m.objects.push_back(
      {m.objects.size() + 1, std::move(kind), 1, std::move(payload), ""});
  return m.objects.back();
}

bool pending_for_the_process(const ProcessRecord &p, int signo) {
  return std::any_of(p.shared_pending.begin(), p.shared_pending.end(),
                     [&](const std::vector<std::uint8_t> &info) {
                       std::int32_t si_signo = 0;
                       if (info.size() >= sizeof si_signo)
                         std::memcpy(&si_signo, info.data(), sizeof si_signo);
                       return si_signo == signo;
                     });
}

// The kernel re-arms a periodic ITIMER_REAL only as its SIGALRM is taken:
// one that expired while the process was frozen was saved as if disarmed
// (no time left, its interval kept), its signal pending. It is armed again
// for one interval, as plugins/timers saves such a timer now; else it would
// never fire again. Per timer: interval (s, µs), then time left.
void rearm_expired_real(std::vector<std::int64_t> &itimers,
                        const ProcessRecord &p) {
  if (itimers.size() < 4 || itimers[2] != 0 || itimers[3] != 0 ||
      (itimers[0] == 0 && itimers[1] == 0) ||
      !pending_for_the_process(p, SIGALRM))
    return;
  itimers[2] = itimers[0];
  itimers[3] = itimers[1];
}

// As plugins/timers' own summaries say it.
std::string interval_summary(const std::vector<std::int64_t> &itimers) {
  constexpr const char *names[] = {"real", "virtual", "prof"};
  std::string out;
  for (std::size_t which = 0; which < 3 && which * 4 + 3 < itimers.size();
       ++which) {
    const std::int64_t *f = &itimers[which * 4];
    if (f[2] != 0 || f[3] != 0)
      out += fmt::format("{}{} timer in {}.{:06} s", out.empty() ? "" : ", ",
                         names[which], f[2], f[3]);
  }
  return out;
}

void move_legacy_timers(Manifest &m, ProcessRecord &p) {
  LegacyTimers &old = p.legacy_timers;
  rearm_expired_real(old.itimers, p);
  if (std::any_of(old.itimers.begin(), old.itimers.end(),
                  [](std::int64_t v) { return v != 0; })) {
    ObjectRecord &rec =
        add_record(m, "timers.interval", sdk::to_payload(old.itimers));
    rec.summary = interval_summary(old.itimers);
    p.objects.push_back(rec.id);
  }
  if (!old.posix_timers.empty()) {
    ObjectRecord &rec =
        add_record(m, "timers.posix", sdk::to_payload(old.posix_timers));
    rec.summary = fmt::format("{} POSIX timer{}", old.posix_timers.size(),
                              old.posix_timers.size() == 1 ? "" : "s");
    p.objects.push_back(rec.id);
  }
  old = {};
}

// Its record comes first: checking it puts the restart in a new namespace.
void move_legacy_ipc_namespace(Manifest &m) {
  if (!m.header.legacy_own_ipc_namespace)
    return;
  ObjectRecord &rec = add_record(m, "shm.ipc-namespace", sdk::to_payload(true));
  rec.summary = "its own IPC namespace";
  m.set_objects.insert(m.set_objects.begin(), rec.id);
  m.header.legacy_own_ipc_namespace = false;
}

// The payload of plugins/files' files.controlling-terminal, version 1.
struct ControllingTerminals {
  std::uint64_t rdev = 0;
  std::string path;
  std::vector<std::uint8_t> modes;
  std::vector<std::int32_t> on_it;
  std::map<std::int32_t, std::int32_t> leader_fd;
  std::vector<std::int32_t> foreground;

  template <class A> void serialize(A &ar, unsigned) {
    ar &rdev &path &modes &on_it &leader_fd &foreground;
  }
};

void note_legacy_tty(ControllingTerminals &t, const ProcessRecord &p) {
  const LegacyTty &tty = p.legacy_tty;
  if (tty.tty_nr == 0)
    return;
  if (tty.pty_of_the_set && p.sid == p.pid && tty.ctty_fd >= 0)
    t.leader_fd[p.pid] = tty.ctty_fd;
  if (tty.pty_of_the_set && p.pgid == p.pid && tty.tpgid == p.pid)
    t.foreground.push_back(p.pid);
  if (t.rdev != 0 && tty.tty_nr == t.rdev && !p.zombie)
    t.on_it.push_back(p.pid);
}

void move_legacy_terminal(Manifest &m) {
  ControllingTerminals t;
  LegacyTerminal &old = m.header.legacy_terminal;
  t.rdev = old.rdev;
  t.path = old.path;
  t.modes = old.termios;
  for (ProcessRecord &p : m.processes) {
    note_legacy_tty(t, p);
    p.legacy_tty = {};
  }
  old = {};
  if (t.rdev == 0 && t.leader_fd.empty() && t.foreground.empty())
    return;
  ObjectRecord &rec =
      add_record(m, "files.controlling-terminal", sdk::to_payload(t));
  rec.summary = t.rdev == 0 ? "a pty of the set, a controlling terminal"
                            : fmt::format("{}, the controlling terminal of {} "
                                          "process(es) (cpr -j restarts them "
                                          "on yours)",
                                          t.path.empty() ? "unnamed" : t.path,
                                          t.on_it.size());
  m.set_objects.push_back(rec.id);
}

} // namespace

void move_legacy_records(Manifest &manifest) {
  for (ProcessRecord &p : manifest.processes)
    move_legacy_timers(manifest, p);
  move_legacy_ipc_namespace(manifest);
  move_legacy_terminal(manifest);
}

} // namespace cpr::engine
