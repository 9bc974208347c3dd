#include "freeze/frozen_set.hpp"

#include "freeze/snapshot.hpp"
#include "process/proc.hpp"
#include "select/ids.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

// A zombie cannot be traced: /proc says all that it still is.
ProcessRecord zombie_record(pid_t pid) {
  auto st = proc::stat(pid);
  if (!st)
    throw sdk::Error(ESRCH, fmt::format("No such process: {}", pid));
  ProcessRecord p;
  p.pid = pid;
  p.comm = st->comm;
  p.ppid = static_cast<int>(st->field(4));
  p.pgid = static_cast<int>(st->field(5));
  p.sid = static_cast<int>(st->field(6));
  p.zombie = true;
  p.exit_status = static_cast<int>(st->field(52));
  return p;
}

pid_t parent_of(pid_t pid) {
  return static_cast<pid_t>(proc::stat(pid)->field(4));
}

} // namespace

bool FrozenSet::has(pid_t pid) const {
  return std::any_of(processes.begin(), processes.end(),
                     [&](auto &f) { return f->pid() == pid; }) ||
         std::any_of(zombies.begin(), zombies.end(),
                     [&](auto &z) { return z.pid == pid; });
}

void FrozenSet::freeze(const IdList &ids) {
  for (bool grew = true; grew;) {
    grew = false;
    for (pid_t pid : resolve_ids(ids)) {
      if (has(pid))
        continue;
      auto st = proc::stat(pid);
      if (st && left_by_killed_cpr(*st))
        continue; // collected by check_children()
      if (st && st->state == 'Z') {
        zombies.push_back(zombie_record(pid));
      } else {
        try {
          processes.push_back(std::make_unique<FrozenProcess>(pid));
        } catch (const sdk::Error &) {
          // A member of a group or tree that ended since it was listed
          // is no longer in the set; anything else fails the checkpoint.
          if (proc::stat(pid))
            throw;
          continue;
        }
      }
      grew = true;
    }
  }
  if (processes.empty() && zombies.empty())
    throw sdk::Error(ESRCH, "No such process: " + ids.text());
}

void FrozenSet::order_as_tree() {
  std::map<pid_t, pid_t> parent;
  for (const auto &f : processes)
    parent[f->pid()] = static_cast<pid_t>(proc::stat(f->pid())->field(4));
  auto depth = [&](pid_t pid) {
    int d = 0;
    for (auto it = parent.find(pid); it != parent.end();
         it = parent.find(it->second))
      ++d;
    return d;
  };
  std::stable_sort(processes.begin(), processes.end(),
                   [&](const auto &a, const auto &b) {
                     return depth(a->pid()) < depth(b->pid());
                   });
}

// kcmp orders the objects, so a sort finds the
// groups without comparing every pair while the set is frozen.
std::vector<std::vector<pid_t>> FrozenSet::sharing(int kcmp_type) const {
  auto compare = [kcmp_type](pid_t a, pid_t b) {
    return ::syscall(SYS_kcmp, a, b, kcmp_type, 0, 0);
  };
  std::vector<pid_t> pids;
  for (const auto &f : processes)
    pids.push_back(f->pid());
  std::stable_sort(pids.begin(), pids.end(),
                   [&](pid_t a, pid_t b) { return compare(a, b) == 1; });
  std::vector<std::vector<pid_t>> groups;
  for (size_t i = 0; i < pids.size(); ++i)
    if (i > 0 && compare(groups.back().front(), pids[i]) == 0)
      groups.back().push_back(pids[i]);
    else
      groups.push_back({pids[i]});
  std::erase_if(groups, [](const auto &g) { return g.size() < 2; });
  return groups;
}

std::set<pid_t> FrozenSet::sharing_with_parent(int kcmp_type,
                                               const char *what) const {
  std::set<pid_t> sharers;
  for (const auto &group : sharing(kcmp_type))
    for (size_t i = 1; i < group.size(); ++i) {
      if (std::find(group.begin(), group.end(), parent_of(group[i])) ==
          group.end())
        throw sdk::Error(
            sdk::Code::checkpoint_error,
            fmt::format(
                "Checkpoint error: process {} shares {} with {} without "
                "being "
                "a child of a process sharing it; cpr restores what a parent "
                "shares with its children",
                group[i], what, group.front()));
      sharers.insert(group[i]);
    }
  return sharers;
}

std::map<pid_t, pid_t> FrozenSet::share_groups() const {
  std::map<pid_t, pid_t> owner;
  for (const auto &group : sharing(KCMP_VM))
    for (size_t i = 1; i < group.size(); ++i) {
      if (parent_of(group[i]) != group.front())
        throw sdk::Error(
            sdk::Code::checkpoint_error,
            fmt::format(
                "Checkpoint error: process {} shares the address space of "
                "{}, "
                "which is not its parent; cpr restores share groups made by "
                "a parent",
                group[i], group.front()));
      owner[group[i]] = group.front();
    }
  return owner;
}

// A fork a killed cpr left is collected (snapshot.hpp).
void FrozenSet::check_children() {
  for (const auto &f : processes)
    for (pid_t child : proc::children(f->pid())) {
      if (has(child) || child == ::getpid()) // ckpt_create's own child
        continue;
      if (auto st = proc::stat(child); st && left_by_killed_cpr(*st))
        collect_left_fork(*f, child);
      else
        throw sdk::Error(sdk::Code::checkpoint_error,
                         fmt::format("Checkpoint error: process {} has a "
                                     "child {} outside the set; "
                                     "checkpoint the tree with {}:HID",
                                     f->pid(), child, f->pid()));
    }
}

} // namespace cpr::engine
