#include "proc_file.hpp"

#include "fdinfo.hpp"
#include "file_records.hpp"
#include "open_flags.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/tracee.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::files {
namespace {

constexpr std::string_view proc = "/proc/";

dev_t proc_device() {
  struct stat st {};
  return ::stat("/proc", &st) == 0 ? st.st_dev : 0;
}

// "/proc/123/status" -> 123 and "status"; 0 for a file of no process.
std::pair<pid_t, std::string> split(const std::string &path) {
  std::string_view rest = std::string_view(path).substr(proc.size());
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
  if (ec != std::errc() || end == rest.data() ||
      (end != rest.data() + rest.size() && *end != '/'))
    return {0, path};
  std::string_view after(end, rest.data() + rest.size() - end);
  return {pid, std::string(after.empty() ? after : after.substr(1))};
}

std::string saved_path(const ProcFile &rec) {
  if (!rec.pid)
    return rec.path;
  return fmt::format("/proc/{}{}{}", rec.pid, rec.path.empty() ? "" : "/",
                     rec.path);
}

// False in a new PID namespace: there a process's own PID differs from the
// one /proc (cpr's) knows it by.
bool proc_shows_own_pid() {
  char link[32] = "";
  ssize_t n = ::readlink("/proc/self", link, sizeof link - 1);
  return n > 0 && std::to_string(::syscall(SYS_getpid)) == std::string(link, n);
}

pid_t parent_of(pid_t pid) {
  auto text = sdk::try_read_file(fmt::format("/proc/{}/stat", pid));
  auto close = text ? text->rfind(')') : std::string::npos;
  if (close == std::string::npos)
    return 0;
  char state = 0;
  int ppid = 0;
  std::sscanf(text->c_str() + close + 1, " %c %d", &state, &ppid);
  return ppid;
}

// The restart makes a process's ancestors, and its children, before the
// process opens its files: their /proc files can be opened then.
bool made_before_its_files(pid_t holder, pid_t pid) {
  if (parent_of(pid) == holder)
    return true;
  for (pid_t at = holder; at > 1; at = parent_of(at))
    if (at == pid)
      return true;
  return false;
}

} // namespace

bool in_proc(const std::string &path, const struct stat &st) {
  static const dev_t device = proc_device();
  return path.starts_with(proc) && st.st_dev == device &&
         (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
}

bool ProcFileHandler::claims(const sdk::OpenFile &file) const {
  return in_proc(file.path, file.st);
}

sdk::Saved ProcFileHandler::save(const sdk::OpenFile &file,
                                 sdk::SaveContext &ctx) const {
  ProcFile rec;
  auto [pid, rest] = split(file.path);
  bool of_the_set = pid && std::find(ctx.processes.begin(), ctx.processes.end(),
                                     pid) != ctx.processes.end();
  rec.pid = of_the_set ? pid : 0;
  rec.path = of_the_set ? rest : file.path;
  if (of_the_set && !made_before_its_files(file.pid, pid))
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: process {} fd {} is {}, "
                                 "a file of process {}, which is neither its "
                                 "ancestor nor its child: cpr cannot reopen "
                                 "it",
                                 file.pid, file.fd, file.path, pid));
  if (of_the_set && rest.starts_with("task/") &&
      !rest.starts_with(fmt::format("task/{}/", pid)) &&
      rest != fmt::format("task/{}", pid))
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: process {} fd {} is {}, "
                                 "a file of one of its threads, which cpr "
                                 "cannot reopen",
                                 file.pid, file.fd, file.path));
  rec.flags = file.flags;
  rec.pos = file.pos;
  rec.directory = S_ISDIR(file.st.st_mode);
  return {sdk::to_payload(rec),
          fmt::format("{}{} (offset {})", file.path,
                      of_the_set ? ", reopened for its process" : "", rec.pos)};
}

void ProcFileHandler::check(const sdk::Record &record,
                            const sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<ProcFile>(record.payload);
  if (rec.pid)
    return; // its process is made by the restart
  if (::access(rec.path.c_str(), F_OK) != 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: open file " + rec.path, errno);
}

int ProcFileHandler::open(const sdk::Record &record,
                          sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<ProcFile>(record.payload);
  std::string path = rec.path;
  if (rec.pid) {
    bool self = rec.pid == static_cast<pid_t>(::syscall(SYS_getpid));
    if (!self && !proc_shows_own_pid())
      throw sdk::Error(sdk::Code::component_unavailable,
                       fmt::format("component unavailable: {} (in a new PID "
                                   "namespace, /proc does not show process "
                                   "{})",
                                   saved_path(rec), rec.pid));
    path = fmt::format("/proc/{}/{}",
                       self ? std::string("self")
                            : std::to_string(ctx.live_pid(rec.pid)),
                       rec.path);
  }
  int fd = ::open(path.c_str(),
                  reopen_flags(rec.flags) | (rec.directory ? O_DIRECTORY : 0));
  if (fd < 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: cannot reopen " + saved_path(rec),
                     errno);
  // A directory's offset is an index; a file's waits (ProcOffsetsHandler).
  if (rec.directory && rec.pos && ::lseek(fd, rec.pos, SEEK_SET) < 0) {
    int err = errno;
    ::close(fd);
    sdk::throw_errno("cannot seek in " + saved_path(rec), err);
  }
  return fd;
}

} // namespace cpr::files

namespace cpr::files {

sdk::Saved ProcOffsetsHandler::save(sdk::Tracee &process,
                                    sdk::SaveContext &) const {
  ProcOffsets rec;
  std::error_code ec;
  for (const auto &e : std::filesystem::directory_iterator(
           fmt::format("/proc/{}/fd", process.pid()), ec)) {
    // The path first: most fds are no /proc file, and need nothing more.
    std::string path = std::filesystem::read_symlink(e.path(), ec).string();
    struct stat st {};
    if (ec || !path.starts_with(proc) || ::stat(e.path().c_str(), &st) != 0 ||
        !S_ISREG(st.st_mode) || !in_proc(path, st))
      continue;
    sdk::OpenFile file;
    file.pid = process.pid();
    file.fd = std::stoi(e.path().filename().string());
    file.path = path;
    auto pos = static_cast<std::int64_t>(FdInfo(file).number("pos:", 10));
    if (pos > 0)
      rec.offsets.push_back({file.fd, pos});
  }
  return {sdk::to_payload(rec),
          rec.offsets.empty()
              ? ""
              : fmt::format("{} /proc file offsets", rec.offsets.size())};
}

void ProcOffsetsHandler::restore(sdk::Tracee &process,
                                 const sdk::Record &record,
                                 sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<ProcOffsets>(record.payload);
  for (const ProcOffset &o : rec.offsets)
    sdk::remote_call(
        process, fmt::format("seek in its /proc file (fd {})", o.fd), SYS_lseek,
        o.fd, static_cast<std::uint64_t>(o.pos), SEEK_SET);
}

} // namespace cpr::files
