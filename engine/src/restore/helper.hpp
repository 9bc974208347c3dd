// The first life of restored processes: copies of cpr, forked with their
// saved PIDs in tree order, each forking its own children, so that parents,
// sessions and process groups come out as they were. Each sets up from
// inside what is simplest done there (fds, cwd, session, limits) and stops
// for the engine to rebuild the rest. Zombies are born and die at once.
#pragma once

#include "dispatch/registry.hpp"
#include "process/terminal.hpp"
#include "statefile/manifest.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace cpr::engine {

// Sends a failure of a process of the tree up the error pipe `fd`, its code
// with it.
void send_failure(int fd, const std::exception &e);

// A child with the given PID (clone3 set_tid) and clone `flags` (CLONE_FS,
// CLONE_FILES); throws "unavailable PID".
pid_t clone_with_pid(pid_t pid, std::uint64_t flags = 0);

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
  // `terminal`: cpr -j's, whose processes stay in cpr's session and group.
  ProcessTree(std::vector<PlannedProcess> plan, const Registry &registry,
              bool new_pid_namespace, const JobTerminal &terminal);
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
  struct Node {
    PlannedProcess p;
    int parent = -1;
    std::vector<int> children;
    int go_read = -1, go_write = -1;
    pid_t live = 0;
    // A root whose session or group leader is not restored: forked by a
    // stand-in with that leader's PID, which makes the session (sid = its
    // PID) and waits until the set is released.
    pid_t standin = 0;
    // A root that stays in the session of cpr, which is its own and has
    // no controlling terminal: there is nothing to cut it off from.
    bool stays = false;
    // One fd table shared with its parent (CLONE_FILES): the first process
    // of the group builds it, once every other member has set itself up in
    // it and stopped, and closes what they left there.
    int table_builder = -1;  // that first process; -1: a table of its own
    int sharers_waiting = 0; // of a builder: members not yet stopped
  };
  void plan_tree(std::vector<PlannedProcess> plan);
  void plan_shared_tables();
  sdk::RestoreContext restore_context(const std::string &statefile,
                                      sdk::PageSource &pages) const;
  // Sessions and process groups (sessions.cpp).
  void plan_standins();
  void fork_roots();
  [[noreturn]] void run_standin(pid_t standin, const std::vector<int> &roots);
  void lead_session_or_group(int index) const;
  void take_controlling_terminal(int index) const;
  static void take_foreground();
  void let_standins_go();
  // An open file several processes share is opened once, by the helper of
  // the first process whose subtree holds all of them, before it forks:
  // they inherit it, and share its offset as before. (Processes of two
  // different roots each open their own.)
  using ObjectKey = std::pair<const Manifest *, std::uint64_t>;
  void find_shared_files();
  // Objects whose handler says open_before_fork(), opened by cpr itself.
  void open_before_fork();
  // Object `id` of `pp`'s statefile, opened by cpr and parked for the set to
  // inherit, once (also one only in flight in a socket): a new fd to it.
  int open_in_cpr(const PlannedProcess &pp, std::uint64_t id);
  void close_opened_by_cpr();
  void open_shared_files(int index);
  [[noreturn]] void run_inside(int index);
  pid_t expected_parent(int index) const;
  // Entry of a child cloned into its parent's address space.
  static void run_shared_child(void *index);
  static ProcessTree *building_;
  void start(int index);
  void wait_until_stopped(pid_t pid);
  void let_builder_go_on(int sharer);
  void kill_all();
  void start_namespace_init();
  pid_t forked_root(const Node &root);
  [[noreturn]] void run_namespace_init(int talk, int ack);

  std::vector<Node> nodes_; // parents before children
  std::set<ObjectKey> shared_files_;
  std::map<ObjectKey, int> opened_above_; // by an ancestor: its fd here
  int park_fds_from_ = 3;                 // above every fd number of the set
  std::vector<int> opened_by_cpr_;
  const Registry &registry_;
  const JobTerminal &terminal_;
  pid_t cpr_pid_;
  int job_terminal_fd_ = -1; // parked above every fd of the set
  std::vector<pid_t> standins_;
  int standin_read_ = -1, standin_write_ = -1;
  int err_read_ = -1, err_write_ = -1;
  std::vector<pid_t> extra_threads_;
  bool in_namespace_ = false;
  pid_t init_ = 0;
  int talk_init_ = -1, init_ack_ = -1;
  bool released_ = false;
};

} // namespace cpr::engine
