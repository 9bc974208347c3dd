// The first life of restored processes: copies of cpr, forked with their
// saved PIDs in tree order, each forking its own children, so that parents,
// sessions and process groups come out as they were. Each sets up from
// inside what is simplest done there (fds, cwd, session, limits) and stops
// for the engine to rebuild the rest. Zombies are born and die at once.
#pragma once

#include "manifest.hpp"
#include "registry.hpp"

#include <map>
#include <set>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace cpr::engine {

struct PlannedProcess {
  const ProcessRecord *record;
  const Manifest *manifest;
  std::string statefile;
};

class ProcessTree {
public:
  // Creates every process and waits until each live one has set itself up
  // and stopped under ptrace. Throws with the failing process's own error.
  // `new_pid_namespace`: the processes keep their PIDs inside a new PID
  // namespace, whose init is a small process of cpr's that reaps them.
  ProcessTree(std::vector<PlannedProcess> plan, const Registry &registry,
              bool new_pid_namespace);
  // Unless released, kills them all: a failed restart leaves nothing behind.
  ~ProcessTree();
  ProcessTree(const ProcessTree &) = delete;
  ProcessTree &operator=(const ProcessTree &) = delete;

  // The PID a saved process (or thread) has now, as cpr sees it.
  pid_t live_pid(pid_t saved) const;
  pid_t live_tid(pid_t saved_pid, pid_t saved_tid) const;
  // A thread the engine added (its live TID); let go with its process.
  void add_thread(pid_t tid) { extra_threads_.push_back(tid); }
  void release();

private:
  struct Node {
    PlannedProcess p;
    int parent = -1;
    std::vector<int> children;
    int go_read = -1, go_write = -1;
    pid_t live = 0;
  };
  void plan_tree(std::vector<PlannedProcess> plan);
  // An open file several processes share is opened once, by the helper of
  // the first process whose subtree holds all of them, before it forks:
  // they inherit it, and share its offset as before. (Processes of two
  // different roots each open their own.)
  using ObjectKey = std::pair<const Manifest *, std::uint64_t>;
  void find_shared_files();
  // Objects whose handler says open_before_fork(), opened by cpr itself.
  void open_before_fork();
  void close_opened_by_cpr();
  void open_shared_files(int index);
  [[noreturn]] void run_inside(int index);
  // Entry of a child cloned into its parent's address space.
  static void run_shared_child(void *index);
  static ProcessTree *building_;
  void start(int index);
  void kill_all();
  void start_namespace_init();
  pid_t root_in_namespace(pid_t saved);
  [[noreturn]] void run_namespace_init(int talk, int ack);

  std::vector<Node> nodes_; // parents before children
  std::set<ObjectKey> shared_files_;
  std::map<ObjectKey, int> opened_above_; // by an ancestor: its fd here
  int park_fds_from_ = 3;                 // above every fd number of the set
  std::vector<int> opened_by_cpr_;
  const Registry &registry_;
  int err_read_ = -1, err_write_ = -1;
  std::vector<pid_t> extra_threads_;
  bool in_namespace_ = false;
  pid_t init_ = 0;
  int talk_init_ = -1, init_ack_ = -1;
  bool released_ = false;
};

} // namespace cpr::engine
