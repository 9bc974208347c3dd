// Every process the IDs name, frozen, with every thread; over and over
// until a round finds nothing new (a process of a tree may fork meanwhile).
// Zombies, which cannot be traced, are recorded from /proc.
#pragma once

#include "freeze/frozen.hpp"
#include "statefile/manifest.hpp"

#include <cpr/engine/id_list.hpp>

#include <map>
#include <memory>
#include <set>
#include <sys/types.h>
#include <vector>

namespace cpr::engine {

struct FrozenSet {
  std::vector<std::unique_ptr<FrozenProcess>> processes;
  std::vector<ProcessRecord> zombies;

  bool has(pid_t pid) const;
  void freeze(const IdList &ids);
  // Parents before children, breadth first, as restart builds them: memory
  // shared by several processes is saved with, and rebuilt by, the first.
  void order_as_tree();
  // Processes sharing one fs struct (CLONE_FS) or one fd table
  // (CLONE_FILES) with their parent, which restart clones them from: every
  // member of a group but the first must be a child of another.
  std::set<pid_t> sharing_with_parent(int kcmp_type, const char *what) const;
  // Processes sharing one address space without being threads of one
  // process (clone with CLONE_VM, a vfork child before its exec): each to
  // the first of its group, which must be its parent (restart builds it by
  // a clone of its parent's). Call after order_as_tree().
  std::map<pid_t, pid_t> share_groups() const;
  // A child outside the set would be missing after restart.
  void check_children();

private:
  // Processes grouped by a kernel object they share (KCMP_VM, _FS, _FILES),
  // each group in tree order.
  std::vector<std::vector<pid_t>> sharing(int kcmp_type) const;
};

} // namespace cpr::engine
