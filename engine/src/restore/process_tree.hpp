// ProcessTree: the first life of restored processes: copies of cpr, forked
// with their saved PIDs in tree order, each forking its own children, so
// that parents, sessions and process groups come out as they were. Each
// sets up from inside what is simplest done there (HelperSetup) and stops
// for the engine to rebuild the rest. Zombies are born and die at once.
#pragma once

#include "dispatch/registry.hpp"
#include "restore/failure_pipe.hpp"
#include "restore/helper_setup.hpp"
#include "restore/inherited_files.hpp"
#include "restore/pid_namespace_init.hpp"
#include "restore/session_standins.hpp"
#include "restore/tree_node.hpp"

#include <sys/types.h>
#include <vector>

namespace cpr::engine {

class ProcessTree {
public:
  // Creates every process and waits until each live one has set itself up
  // and stopped under ptrace. Throws with the failing process's own error.
  // `new_pid_namespace`: the processes keep their PIDs inside a new PID
  // namespace, whose init is a small process of cpr's that reaps them.
  // `terminals`: how its sessions meet terminals (sdk/terminals.hpp).
  ProcessTree(std::vector<PlannedProcess> plan, const Registry &registry,
              bool new_pid_namespace, const sdk::SessionTerminals &terminals);
  // Unless released, kills them all: a failed restart leaves nothing behind.
  ~ProcessTree();
  ProcessTree(const ProcessTree &) = delete;
  ProcessTree &operator=(const ProcessTree &) = delete;

  // The PID a saved process (or thread) has now, as cpr sees it.
  pid_t live_pid(pid_t saved) const;
  pid_t live_tid(pid_t saved_pid, pid_t saved_tid) const;
  // Whether the process's parent is restored with it (not cpr, a stand-in or
  // the namespace's init).
  bool parent_restored(pid_t saved) const;
  // A thread the engine added (its live TID); let go with its process.
  void add_thread(pid_t tid) { extra_threads_.push_back(tid); }
  void release();

private:
  void plan_tree(std::vector<PlannedProcess> plan);
  void plan_shared_tables();
  void open_go_pipes();
  // By cpr, or by the namespace's init.
  void fork_roots();
  void start(int index);
  void wait_until_stopped(pid_t pid);
  void let_builder_go_on(int sharer);
  pid_t forked_root(const TreeNode &root);
  void kill_all();

  std::vector<TreeNode> nodes_; // parents before children
  bool in_namespace_;
  FailurePipe failures_;
  InheritedFiles files_;
  HelperSetup helper_;
  SessionStandins standins_;
  PidNamespaceInit init_;
  std::vector<pid_t> extra_threads_;
  bool released_ = false;
};

} // namespace cpr::engine
