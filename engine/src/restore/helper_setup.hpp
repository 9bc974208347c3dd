// HelperSetup: what runs inside a helper, the first life of a restored
// process (a copy of cpr), from its fork until it stops for the engine:
// its session and group, the shared files its subtree inherits, its
// children forked, then its fds, working directory, name and limits.
#pragma once

#include "dispatch/registry.hpp"
#include "restore/failure_pipe.hpp"
#include "restore/inherited_files.hpp"
#include "restore/tree_node.hpp"
#include <cpr/sdk/terminals.hpp>

#include <cstdint>
#include <sys/types.h>
#include <vector>

namespace cpr::engine {

class HelperSetup {
public:
  // `in_namespace`: roots are forked by the init of a new PID namespace.
  HelperSetup(const std::vector<TreeNode> &nodes, InheritedFiles &files,
              const Registry &registry, const sdk::SessionTerminals &terminals,
              const FailurePipe &failures, bool in_namespace);
  HelperSetup(const HelperSetup &) = delete;
  HelperSetup &operator=(const HelperSetup &) = delete;

  // A child with node `index`'s saved PID, which runs run_inside(); its
  // PID here.
  pid_t fork(int index, std::uint64_t flags = 0);
  // Sets the process up and stops it; its failure goes up the error pipe.
  [[noreturn]] void run_inside(int index);

private:
  void fork_children(int index);
  pid_t expected_parent(int index) const;
  // Sessions and process groups, before its children are forked.
  void lead_session_or_group(int index) const;
  void take_controlling_terminal(int index) const;
  // Entry of a child cloned into its parent's address space.
  static void run_shared_child(void *index);
  static HelperSetup *building_;

  const std::vector<TreeNode> &nodes_;
  InheritedFiles &files_;
  const Registry &registry_;
  const sdk::SessionTerminals &terminals_;
  const FailurePipe &failures_;
  bool in_namespace_;
  pid_t cpr_pid_;
};

} // namespace cpr::engine
