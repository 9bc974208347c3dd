#include "locks.hpp"

#include "lock_records.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <linux/kcmp.h>
#include <optional>
#include <sstream>
#include <sys/file.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace cpr::files {
namespace {

constexpr int attempts = 10;
constexpr auto between_attempts = std::chrono::milliseconds(100);

const char *kind_name(LockKind kind) {
  switch (kind) {
  case LockKind::posix:
    return "POSIX";
  case LockKind::ofd:
    return "OFD";
  case LockKind::flock:
    return "flock";
  }
  return "?";
}

std::string describe(const HeldLock &l) {
  std::string range = l.end < 0 ? fmt::format("bytes {} to EOF", l.start)
                                : fmt::format("bytes {}-{}", l.start, l.end);
  return fmt::format(
      "{} {} lock{} on {}", kind_name(LockKind(l.kind)),
      l.write ? "write" : "read",
      LockKind(l.kind) == LockKind::flock ? "" : " (" + range + ")", l.path);
}

// One "lock:" line of /proc/PID/fdinfo/N, as /proc/locks has them:
// "lock:\t1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF". Nothing for a
// lock being checked (ACCESS), which is no lock held.
std::optional<HeldLock> parse_lock(const std::string &line, pid_t pid, int fd) {
  std::istringstream in(line);
  std::string tag, id, kind, advisory, type, holder, inode, start, end;
  in >> tag >> id >> kind >> advisory >> type >> holder >> inode >> start >>
      end;
  HeldLock l;
  if (kind == "POSIX")
    l.kind = static_cast<std::uint8_t>(LockKind::posix);
  else if (kind == "OFDLCK")
    l.kind = static_cast<std::uint8_t>(LockKind::ofd);
  else if (kind == "FLOCK")
    l.kind = static_cast<std::uint8_t>(LockKind::flock);
  else if (kind == "ACCESS")
    return std::nullopt;
  else
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: process {} fd {} holds "
                                 "a {} on its file, which cpr cannot restore",
                                 pid, fd, kind == "LEASE" ? "lease" : kind));
  if (!in || (type != "READ" && type != "WRITE"))
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: process {} fd {}: "
                                 "unexpected lock line '{}'",
                                 pid, fd, line));
  l.fd = fd;
  l.write = type == "WRITE";
  l.start = std::stoll(start);
  l.end = end == "EOF" ? -1 : std::stoll(end);
  return l;
}

std::vector<HeldLock> locks_of(pid_t pid, int fd) {
  auto info = sdk::try_read_file(fmt::format("/proc/{}/fdinfo/{}", pid, fd));
  std::vector<HeldLock> out;
  std::istringstream lines(info.value_or(""));
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("lock:"))
      if (auto l = parse_lock(line, pid, fd))
        out.push_back(*l);
  return out;
}

bool same_open_file(pid_t pid, int a, int b) {
  return ::syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b) == 0;
}

// Every fd of one open file shows its locks: they are read from the first.
std::vector<HeldLock> held_by(pid_t pid) {
  std::vector<HeldLock> held;
  std::vector<int> seen;
  for (int fd : sdk::fds_of(pid)) {
    std::vector<HeldLock> locks = locks_of(pid, fd);
    if (locks.empty() || std::any_of(seen.begin(), seen.end(), [&](int s) {
          return same_open_file(pid, s, fd);
        }))
      continue;
    seen.push_back(fd);
    std::error_code gone;
    std::string path = std::filesystem::read_symlink(
                           fmt::format("/proc/{}/fd/{}", pid, fd), gone)
                           .string();
    for (HeldLock &l : locks) {
      l.path = path;
      held.push_back(std::move(l));
    }
  }
  return held;
}

// The kernel's struct flock for a byte-range lock, in the tracee.
std::uint64_t remote_flock(sdk::Tracee &t, const HeldLock &l, short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = l.start;
  fl.l_len = l.end < 0 ? 0 : l.end - l.start + 1;
  std::uint64_t at = t.scratch(sizeof fl);
  t.write(at, &fl, sizeof fl);
  return at;
}

// The result of one try: 0, or a negative errno.
long try_lock(sdk::Tracee &t, const HeldLock &l) {
  auto fd = static_cast<std::uint64_t>(l.fd);
  short type = l.write ? F_WRLCK : F_RDLCK;
  switch (LockKind(l.kind)) {
  case LockKind::posix:
    return t.syscall(SYS_fcntl, fd, F_SETLK, remote_flock(t, l, type));
  case LockKind::ofd:
    return t.syscall(SYS_fcntl, fd, F_OFD_SETLK, remote_flock(t, l, type));
  case LockKind::flock:
    return t.syscall(SYS_flock, fd, (l.write ? LOCK_EX : LOCK_SH) | LOCK_NB);
  }
  return -EINVAL;
}

// Who holds what stops a byte-range lock, if the kernel says.
std::string holder_of(sdk::Tracee &t, const HeldLock &l) {
  if (LockKind(l.kind) == LockKind::flock)
    return "another process holds it";
  std::uint64_t at = remote_flock(t, l, l.write ? F_WRLCK : F_RDLCK);
  int cmd = LockKind(l.kind) == LockKind::posix ? F_GETLK : F_OFD_GETLK;
  struct flock fl {};
  if (t.syscall(SYS_fcntl, static_cast<std::uint64_t>(l.fd), cmd, at) < 0)
    return "another process holds it";
  t.read(at, &fl, sizeof fl);
  if (fl.l_type == F_UNLCK || fl.l_pid <= 0)
    return "another process holds it";
  return fmt::format("process {} holds it", fl.l_pid);
}

void take_again(sdk::Tracee &t, const HeldLock &l) {
  for (int attempt = 1;; ++attempt) {
    long r = try_lock(t, l);
    if (r == 0)
      return;
    bool busy = r == -EAGAIN || r == -EACCES || r == -EWOULDBLOCK;
    if (!busy)
      sdk::throw_errno("cannot take the " + describe(l) + " again",
                       static_cast<int>(-r));
    if (attempt == attempts)
      throw sdk::Error(EAGAIN,
                       fmt::format("Resource temporarily unavailable: cannot "
                                   "take the {} again: {} (tried {} times)",
                                   describe(l), holder_of(t, l), attempts));
    std::this_thread::sleep_for(between_attempts);
  }
}

} // namespace

sdk::Saved LocksHandler::save(sdk::Tracee &process, sdk::SaveContext &) const {
  HeldLocks rec{held_by(process.pid())};
  std::vector<std::string> names;
  for (const HeldLock &l : rec.locks)
    names.push_back(fmt::format("{} (fd {})", describe(l), l.fd));
  return {sdk::to_payload(rec),
          names.empty() ? "" : fmt::format("{}", fmt::join(names, "; "))};
}

void LocksHandler::restore(sdk::Tracee &process, const sdk::Record &record,
                           sdk::RestoreContext &) const {
  for (const HeldLock &l : sdk::from_payload<HeldLocks>(record.payload).locks)
    take_again(process, l);
}

} // namespace cpr::files
