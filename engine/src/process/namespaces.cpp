#include "process/namespaces.hpp"

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <iterator>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

struct Kind {
  const char *file; // under /proc/PID/ns
  const char *name; // in a message
};

// Every kind but IPC, which a set may have of its own.
constexpr Kind refused[] = {
    {"mnt", "mount"}, {"net", "network"},   {"pid", "PID"},   {"user", "user"},
    {"uts", "UTS"},   {"cgroup", "cgroup"}, {"time", "time"},
};

// The namespace's inode, 0 where the kernel has no such kind.
ino_t namespace_of(const std::string &pid, const char *file) {
  struct stat st {};
  std::string path = fmt::format("/proc/{}/ns/{}", pid, file);
  if (::stat(path.c_str(), &st) == 0)
    return st.st_ino;
  if (errno == ENOENT && pid == "self")
    return 0;
  sdk::throw_errno(sdk::Code::checkpoint_error,
                   fmt::format("Checkpoint error: cannot read {}", path),
                   errno);
}

} // namespace

void check_namespaces(const std::vector<pid_t> &pids) {
  std::vector<ino_t> cprs;
  for (const Kind &k : refused)
    cprs.push_back(namespace_of("self", k.file));
  ino_t set_ipc = 0;
  pid_t first = 0;
  for (pid_t pid : pids) {
    std::string p = std::to_string(pid);
    for (std::size_t i = 0; i < std::size(refused); ++i) {
      const Kind &k = refused[i];
      ino_t own = cprs[i];
      ino_t its = own ? namespace_of(p, k.file) : 0;
      if (its != own)
        throw sdk::Error(sdk::Code::checkpoint_error,
                         fmt::format("Checkpoint error: process {} is in a "
                                     "{} namespace of its own ({}:[{}]), "
                                     "which cpr cannot checkpoint",
                                     pid, k.name, k.file, its));
    }
    ino_t ipc = namespace_of(p, "ipc");
    if (first && ipc != set_ipc)
      throw sdk::Error(sdk::Code::checkpoint_error,
                       fmt::format("Checkpoint error: processes {} and {} are "
                                   "in different IPC namespaces",
                                   first, pid));
    first = first ? first : pid;
    set_ipc = ipc;
  }
}

} // namespace cpr::engine
