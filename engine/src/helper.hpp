// The first life of restored processes: copies of cpr, forked with their
// saved PIDs in tree order, each forking its own children, so that parents,
// sessions and process groups come out as they were. Each sets up from
// inside what is simplest done there (fds, cwd, session, limits) and stops
// for the engine to rebuild the rest. Zombies are born and die at once.
#pragma once

#include "manifest.hpp"
#include "registry.hpp"

#include <string>
#include <sys/types.h>
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
  ProcessTree(std::vector<PlannedProcess> plan, const Registry &registry);
  // Unless released, kills them all: a failed restart leaves nothing behind.
  ~ProcessTree();
  ProcessTree(const ProcessTree &) = delete;
  ProcessTree &operator=(const ProcessTree &) = delete;

  // A thread the engine added; it is let go with its process.
  void add_thread(pid_t tid) { extra_threads_.push_back(tid); }
  void release();

private:
  struct Node {
    PlannedProcess p;
    int parent = -1;
    std::vector<int> children;
    int go_read = -1, go_write = -1;
  };
  void plan_tree(std::vector<PlannedProcess> plan);
  [[noreturn]] void run_inside(int index);
  void start(int index);
  void kill_all();

  std::vector<Node> nodes_;  // parents before children
  const Registry &registry_;
  int err_read_ = -1, err_write_ = -1;
  std::vector<pid_t> extra_threads_;
  bool released_ = false;
};

} // namespace cpr::engine
