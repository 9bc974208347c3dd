// The processes a -p list names, found in /proc (and the cgroup tree).
#include "select/ids.hpp"
#include "process/proc.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <fmt/format.h>
#include <linux/kcmp.h>
#include <optional>
#include <sstream>
#include <string_view>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::engine {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void invalid(const std::string &what) {
  throw sdk::Error(EINVAL, "Invalid argument: " + what);
}

pid_t pid_of(const Id &id) { return static_cast<pid_t>(id.number); }

// One line of the process table: what /proc/PID/stat says.
struct Process {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
  bool zombie = false;
};

constexpr unsigned long pf_kthread = 0x00200000; // PF_KTHREAD in stat flags

bool is_kernel_thread(pid_t pid, const proc::Stat &stat) {
  return pid == 2 || stat.field(4) == 2 ||
         (std::stoul(stat.fields.at(8)) & pf_kthread) != 0;
}

// std::nullopt for a process that is gone or a kernel thread.
std::optional<Process> read_process(pid_t pid) {
  auto stat = proc::stat(pid);
  if (!stat || is_kernel_thread(pid, *stat))
    return std::nullopt;
  return Process{pid, static_cast<pid_t>(stat->field(4)),
                 static_cast<pid_t>(stat->field(5)),
                 static_cast<pid_t>(stat->field(6)), stat->state == 'Z'};
}

std::vector<pid_t> listed_pids() {
  std::vector<pid_t> pids;
  for (const auto &entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (auto pid = parse_number(name); pid && *pid <= INT_MAX)
      pids.push_back(static_cast<pid_t>(*pid));
  }
  return pids;
}

// One scan of /proc, made when the first item needs it.
class ProcessTable {
public:
  template <class Pred> std::vector<pid_t> where(Pred matches) {
    std::vector<pid_t> pids;
    for (const auto &p : all())
      if (matches(p))
        pids.push_back(p.pid);
    return pids;
  }

private:
  const std::vector<Process> &all() {
    if (!processes_) {
      processes_.emplace();
      for (pid_t pid : listed_pids())
        if (auto p = read_process(pid))
          processes_->push_back(*p);
    }
    return *processes_;
  }

  std::optional<std::vector<Process>> processes_;
};

std::optional<pid_t> tgid_of(pid_t id) {
  auto status = sdk::try_read_file(fmt::format("/proc/{}/status", id));
  auto at = status ? status->find("\nTgid:") : std::string::npos;
  if (at == std::string::npos)
    return std::nullopt;
  return static_cast<pid_t>(std::strtol(status->c_str() + at + 6, nullptr, 10));
}

// The process of a process or thread ID.
std::vector<pid_t> process_of(pid_t id) {
  auto tgid = tgid_of(id);
  if (!tgid || !read_process(*tgid))
    return {};
  return {*tgid};
}

std::vector<pid_t> process_tree(pid_t id, ProcessTable &table) {
  std::vector<pid_t> tree = process_of(id);
  for (size_t i = 0; i < tree.size(); ++i) {
    auto children =
        table.where([&](const Process &p) { return p.ppid == tree[i]; });
    tree.insert(tree.end(), children.begin(), children.end());
  }
  return tree;
}

bool shares_address_space(pid_t a, pid_t b) {
  return ::syscall(SYS_kcmp, a, b, KCMP_VM, 0, 0) == 0;
}

std::vector<pid_t> share_group(pid_t id, ProcessTable &table) {
  std::vector<pid_t> group = process_of(id);
  if (group.empty())
    return {};
  // Zombies have no address space left, so kcmp finds any two of them equal.
  auto sharers = table.where([&](const Process &p) {
    return p.pid != group[0] && !p.zombie && shares_address_space(id, p.pid);
  });
  group.insert(group.end(), sharers.begin(), sharers.end());
  return group;
}

std::uint64_t inode_of(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// A cgroup's id is the inode number of its directory.
std::string cgroup_with_id(std::uint64_t id) {
  const std::string root = cgroup2_root();
  if (root.empty() || inode_of(root) == id)
    return root;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end;
       it.increment(ec))
    if (it->is_directory(ec) && inode_of(it->path()) == id)
      return it->path().string();
  return "";
}

std::string cgroup_dir(const Id &id) {
  return id.cgroup_path.empty() ? cgroup_with_id(id.number) : id.cgroup_path;
}

std::vector<pid_t> cgroup_tree_procs(const std::string &top) {
  std::vector<std::string> dirs{top};
  std::error_code ec;
  for (fs::recursive_directory_iterator it(top, ec), end; !ec && it != end;
       it.increment(ec))
    if (it->is_directory(ec))
      dirs.push_back(it->path().string());
  std::vector<pid_t> pids;
  for (const auto &dir : dirs) {
    std::istringstream in(
        sdk::try_read_file(dir + "/cgroup.procs").value_or(""));
    for (pid_t pid; in >> pid;)
      pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::vector<pid_t> job(const Id &id, ProcessTable &table) {
  const std::string dir = cgroup_dir(id);
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec))
    return {};
  if (!fs::exists(dir + "/cgroup.procs", ec))
    invalid(fmt::format("'{}' is not a cgroup", id.text));
  auto members = cgroup_tree_procs(dir);
  return table.where([&](const Process &p) {
    return std::binary_search(members.begin(), members.end(), p.pid);
  });
}

std::optional<std::uint64_t> audit_session(pid_t pid) {
  auto text = sdk::try_read_file(fmt::format("/proc/{}/sessionid", pid));
  if (!text)
    return std::nullopt;
  return parse_number(text->substr(0, text->find_first_of(" \n")));
}

std::vector<pid_t> array_session(const Id &id, ProcessTable &table) {
  return table.where(
      [&](const Process &p) { return audit_session(p.pid) == id.number; });
}

std::vector<pid_t> resolve_item(const Id &id, ProcessTable &table) {
  switch (id.type) {
  case IdType::pid:
    return process_of(pid_of(id));
  case IdType::pgid:
    return table.where(
        [pgid = pid_of(id)](const Process &p) { return p.pgid == pgid; });
  case IdType::sid:
    return table.where(
        [sid = pid_of(id)](const Process &p) { return p.sid == sid; });
  case IdType::hid:
    return process_tree(pid_of(id), table);
  case IdType::sgp:
    return share_group(pid_of(id), table);
  case IdType::jid:
    return job(id, table);
  case IdType::ash:
    return array_session(id, table);
  }
  return {};
}

// cpr never checkpoints itself.
std::vector<pid_t> without_cpr(std::vector<pid_t> pids) {
  pids.erase(std::remove(pids.begin(), pids.end(), ::getpid()), pids.end());
  return pids;
}

} // namespace

std::optional<std::uint64_t> parse_number(std::string_view text,
                                          int bare_base) {
  int base = bare_base;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  std::uint64_t value = 0;
  const char *end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value, base);
  if (text.empty() || ec != std::errc() || stop != end)
    return std::nullopt;
  return value;
}

std::string cgroup2_root() {
  std::istringstream in(sdk::read_file("/proc/self/mountinfo"));
  for (std::string line; std::getline(in, line);) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0)
      continue;
    std::istringstream fields(line);
    std::string field;
    for (int i = 0; i < 5; ++i) // field 5 is the mount point
      fields >> field;
    return field;
  }
  return "";
}

std::vector<pid_t> resolve_ids(const IdList &ids) {
  if (ids.empty())
    throw sdk::Error(ESRCH, "No such process: the ID list is empty");
  ProcessTable table;
  std::vector<pid_t> pids;
  for (const Id &id : ids.items()) {
    auto found = without_cpr(resolve_item(id, table));
    if (found.empty())
      throw sdk::Error(ESRCH, "No such process: " + id.text);
    pids.insert(pids.end(), found.begin(), found.end());
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

} // namespace cpr::engine
