#include "process/deleted_dirs.hpp"

#include "process/proc.hpp"

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

constexpr std::string_view deleted_suffix = " (deleted)";

// The directory behind /proc/PID/<link>: its path, and whether it is gone
// (a removed directory has no links, and the kernel says so in its path).
bool read_directory(const std::string &link, std::string &path,
                    std::uint32_t *mode) {
  path = proc::readlink(link);
  struct stat st {};
  if (::stat(link.c_str(), &st) != 0 || st.st_nlink != 0 ||
      !path.ends_with(deleted_suffix))
    return false;
  path.resize(path.size() - deleted_suffix.size());
  if (mode)
    *mode = st.st_mode & 07777;
  return true;
}

// Where a stand-in for a removed directory is made: its own path if it is
// free, else a hidden name beside it, else in /tmp.
std::string make_stand_in(const std::string &path, std::uint32_t mode,
                          pid_t pid) {
  if (::mkdir(path.c_str(), mode) == 0)
    return path;
  std::string name = fmt::format(".cpr-deleted-cwd-{}", pid);
  auto slash = path.rfind('/');
  std::string beside =
      slash == std::string::npos ? name : path.substr(0, slash + 1) + name;
  for (const std::string &at : {beside, "/tmp/" + name})
    if (::mkdir(at.c_str(), mode) == 0)
      return at;
  sdk::throw_errno(sdk::Code::component_unavailable,
                   fmt::format("component unavailable: cannot make the "
                               "deleted working directory {} of process {} "
                               "again",
                               path, pid),
                   errno);
}

} // namespace

void collect_directories(pid_t pid, ProcessRecord &p) {
  const std::string dir = fmt::format("/proc/{}", pid);
  p.cwd_deleted = read_directory(dir + "/cwd", p.cwd, &p.cwd_mode);
  p.root_deleted = read_directory(dir + "/root", p.root, nullptr);
  if (p.root_deleted && !(p.cwd_deleted && p.cwd == p.root))
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: the root directory {} of "
                                 "process {} was deleted, and the process "
                                 "works outside it",
                                 p.root, pid));
}

void enter_working_directory(const ProcessRecord &p) {
  if (!p.cwd_deleted) {
    if (::chdir(p.cwd.c_str()) != 0)
      sdk::throw_errno(sdk::Code::component_unavailable,
                       fmt::format("component unavailable: the working "
                                   "directory {} of process {}",
                                   p.cwd, p.pid),
                       errno);
    return;
  }
  std::string made = make_stand_in(p.cwd, p.cwd_mode, p.pid);
  if (::chdir(made.c_str()) != 0 || ::rmdir(made.c_str()) != 0) {
    int err = errno;
    ::rmdir(made.c_str());
    sdk::throw_errno(fmt::format("cannot enter the deleted working directory "
                                 "{} of process {} again",
                                 p.cwd, p.pid),
                     err);
  }
}

} // namespace cpr::engine
