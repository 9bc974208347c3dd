// InheritedFiles: the fds a restored process gets from an ancestor instead
// of opening them itself, parked above every fd number of the set until its
// helper installs its fds.
#pragma once

#include "dispatch/registry.hpp"
#include "restore/tree_node.hpp"

#include <cpr/sdk/pages.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cpr::engine {

// An open file several processes share is opened once, by the helper of the
// first process whose subtree holds all of them, before it forks: they
// inherit it, and share its offset as before. (Processes of two different
// roots each open their own.) Objects whose handler says open_before_fork()
// are opened by cpr itself.
class InheritedFiles {
public:
  // `nodes`: the tree, planned before find_shared_files().
  InheritedFiles(const std::vector<TreeNode> &nodes, const Registry &registry);
  ~InheritedFiles();
  InheritedFiles(const InheritedFiles &) = delete;
  InheritedFiles &operator=(const InheritedFiles &) = delete;

  // Which objects several processes hold, and where fds are parked.
  void find_shared_files();
  // Objects whose handler says open_before_fork(), opened by cpr itself.
  void open_before_fork();
  void close_opened_by_cpr();
  // In the helper of node `index`: the shared files its subtree holds that
  // no ancestor opened.
  void open_shared_files(int index);

  // Parked for processes of `manifest`: object id -> fd.
  std::map<std::uint64_t, int> opened_for(const Manifest *manifest) const;
  // The fd parked for object `id` of `manifest`; -1 if none is.
  int parked(const Manifest *manifest, std::uint64_t id) const;
  // What a handler opens a process's objects in, before any memory.
  sdk::RestoreContext restore_context(const std::string &statefile,
                                      sdk::PageSource &pages) const;

private:
  using ObjectKey = std::pair<const Manifest *, std::uint64_t>;
  // Object `id` of `pp`'s statefile, opened by cpr and parked for the set to
  // inherit, once (also one only in flight in a socket): a new fd to it.
  int open_in_cpr(const PlannedProcess &pp, std::uint64_t id);

  const std::vector<TreeNode> &nodes_;
  const Registry &registry_;
  std::set<ObjectKey> shared_files_;
  std::map<ObjectKey, int> opened_above_; // by an ancestor: its fd here
  int park_fds_from_ = 3;                 // above every fd number of the set
  std::vector<int> opened_by_cpr_;
};

} // namespace cpr::engine
