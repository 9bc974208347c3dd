// `cpr -c sf -p ID[:TYPE],...`: every IDtype of the guide's Table 1-1.
#include "ids.hpp"
#include "proc.hpp"

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

enum class IdType { pid, gid, sid, hid, sgp, jid, ash };

struct TypeName {
  std::string_view name;
  IdType type;
  std::string_view meaning; // for messages: "'x' is not a <meaning>"
};

constexpr TypeName type_names[] = {
    {"PID", IdType::pid, "process ID"},
    {"GID", IdType::gid, "process group ID"},
    {"SID", IdType::sid, "session ID"},
    {"HID", IdType::hid, "process ID"},
    {"SGP", IdType::sgp, "process ID"},
    {"JID", IdType::jid, "job ID (cgroup path or hex cgroup id)"},
    {"ASH", IdType::ash, "array session ID"},
};

struct Item {
  std::string text; // as written, for messages
  std::string id;
  IdType type = IdType::pid;
};

[[noreturn]] void invalid(const std::string &what) {
  throw sdk::Error(EINVAL, "Invalid argument: " + what);
}

[[noreturn]] void not_an_id(const Item &item) {
  for (const auto &t : type_names)
    if (t.type == item.type)
      invalid(fmt::format("'{}' is not a {}", item.text, t.meaning));
  invalid("'" + item.text + "'");
}

IdType parse_type(const std::string &type, const std::string &item) {
  for (const auto &t : type_names)
    if (t.name == type)
      return t.type;
  invalid(fmt::format("unknown ID type '{}' in '{}' (use PID, GID, SID, ASH, "
                      "HID, SGP or JID)",
                      type, item));
}

std::vector<std::string> split_commas(const std::string &list) {
  std::vector<std::string> pieces(1);
  for (char c : list)
    if (c == ',')
      pieces.emplace_back();
    else
      pieces.back() += c;
  return pieces;
}

// A cgroup path may hold ',' (but no ':'): a piece that starts a path runs on
// to the piece that carries its ":JID".
std::vector<std::string> split_items(const std::string &list) {
  std::vector<std::string> items;
  bool in_path = false;
  for (auto &piece : split_commas(list)) {
    if (in_path)
      items.back() += "," + piece;
    else
      items.push_back(std::move(piece));
    const std::string &item = items.back();
    in_path = !item.empty() && item.front() == '/' &&
              item.find(':') == std::string::npos;
  }
  return items;
}

Item parse_item(const std::string &text, const std::string &list) {
  if (text.empty())
    invalid(fmt::format("an empty item in the ID list '{}'", list));
  Item item{text, text, IdType::pid};
  if (auto colon = text.rfind(':'); colon != std::string::npos) {
    item.id = text.substr(0, colon);
    item.type = parse_type(text.substr(colon + 1), text);
  }
  if (item.id.empty())
    not_an_id(item);
  return item;
}

std::vector<Item> parse_items(const std::string &list) {
  std::vector<Item> items;
  for (const auto &text : split_items(list))
    items.push_back(parse_item(text, list));
  return items;
}

pid_t parse_pid(const Item &item) {
  auto value = parse_number(item.id);
  if (!value || *value == 0 || *value > INT_MAX)
    not_an_id(item);
  return static_cast<pid_t>(*value);
}

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

std::string cgroup_dir(const Item &item) {
  if (item.id.front() == '/')
    return item.id;
  auto id = parse_number(item.id, 16);
  if (!id)
    not_an_id(item);
  return cgroup_with_id(*id);
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

std::vector<pid_t> job(const Item &item, ProcessTable &table) {
  const std::string dir = cgroup_dir(item);
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec))
    return {};
  if (!fs::exists(dir + "/cgroup.procs", ec))
    invalid(fmt::format("'{}' is not a cgroup", item.text));
  auto members = cgroup_tree_procs(dir);
  return table.where([&](const Process &p) {
    return std::binary_search(members.begin(), members.end(), p.pid);
  });
}

constexpr std::uint64_t unset_audit_session = 4294967295; // AUDIT_SID_UNSET

std::optional<std::uint64_t> audit_session(pid_t pid) {
  auto text = sdk::try_read_file(fmt::format("/proc/{}/sessionid", pid));
  if (!text)
    return std::nullopt;
  return parse_number(text->substr(0, text->find_first_of(" \n")));
}

std::vector<pid_t> array_session(const Item &item, ProcessTable &table) {
  auto ash = parse_number(item.id);
  if (!ash)
    not_an_id(item);
  if (*ash == unset_audit_session)
    invalid(fmt::format("'{}' is the unset audit session", item.text));
  return table.where(
      [&](const Process &p) { return audit_session(p.pid) == ash; });
}

std::vector<pid_t> resolve_item(const Item &item, ProcessTable &table) {
  switch (item.type) {
  case IdType::pid:
    return process_of(parse_pid(item));
  case IdType::gid:
    return table.where(
        [id = parse_pid(item)](const Process &p) { return p.pgid == id; });
  case IdType::sid:
    return table.where(
        [id = parse_pid(item)](const Process &p) { return p.sid == id; });
  case IdType::hid:
    return process_tree(parse_pid(item), table);
  case IdType::sgp:
    return share_group(parse_pid(item), table);
  case IdType::jid:
    return job(item, table);
  case IdType::ash:
    return array_session(item, table);
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

std::vector<IdItem> split_id_list(const std::string &ids) {
  std::vector<IdItem> items;
  for (const auto &item : parse_items(ids))
    for (const auto &t : type_names)
      if (t.type == item.type)
        items.push_back({std::string(t.name), item.id});
  return items;
}

std::vector<pid_t> resolve_ids(const std::string &ids) {
  if (ids.empty())
    throw sdk::Error(ESRCH, "No such process: the ID list is empty");
  ProcessTable table;
  std::vector<pid_t> pids;
  for (const auto &item : parse_items(ids)) {
    auto found = without_cpr(resolve_item(item, table));
    if (found.empty())
      throw sdk::Error(ESRCH, "No such process: " + item.text);
    pids.insert(pids.end(), found.begin(), found.end());
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

} // namespace cpr::engine
