// Engine-side readers of /proc/PID.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::engine::proc {

struct Stat {
  std::string comm;
  char state = '?';
  std::vector<std::string> fields; // fields[i] is stat field i + 1
  long field(int number) const { return std::stol(fields.at(number - 1)); }
};

// std::nullopt if there is no such process.
std::optional<Stat> stat(pid_t pid);
// The value after "Key:" in /proc/PID/status, or "".
std::string status_field(pid_t pid, const std::string &key);
std::string readlink(const std::string &path);
std::vector<pid_t> threads(pid_t pid);
std::vector<pid_t> children(pid_t pid);
std::vector<int> fds(pid_t pid);
std::string cmdline(pid_t pid);
// Whether a PID number names a process or a process group (its leader
// gone, a member left), or is otherwise still taken.
bool pid_in_use(pid_t pid);
// The last entry of NSpid in /proc/PID/status: its PID in its own namespace.
pid_t inner_pid(const std::string &status_dir);
// The child of `parent` (both as cpr sees them) whose own PID is `inner`.
pid_t child_with_inner_pid(pid_t parent, pid_t inner);
// The thread of `pid` whose TID in its own namespace is `inner`.
pid_t task_with_inner_tid(pid_t pid, pid_t inner);

} // namespace cpr::engine::proc
