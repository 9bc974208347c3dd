// SessionStandins: sessions and process groups at restart, and the
// stand-ins that make a missing session or group leader's session. Without
// -j the set is cut off from the terminal cpr runs on: each root starts a
// session of its own, or is forked by a stand-in with the PID of its session
// or group leader when that leader is not restored, so that the group keeps
// its original id. A PID names a group for as long as a member is left, so
// the stand-in may exit once the set runs. A root restarted from its own
// session, when that session has no terminal, simply stays in it. With -j
// the processes on the replaced terminal stay in cpr's session and group
// (the guide: "the original process group ID cannot be restored").
#pragma once

#include "restore/failure_pipe.hpp"
#include "restore/helper_setup.hpp"
#include "restore/tree_node.hpp"
#include <cpr/sdk/terminals.hpp>

#include <sys/types.h>
#include <vector>

namespace cpr::engine {

class SessionStandins {
public:
  // `in_namespace`: stand-ins are forked by the init of a new PID namespace.
  SessionStandins(const sdk::SessionTerminals &terminals, bool in_namespace,
                  const FailurePipe &failures, HelperSetup &helper);
  ~SessionStandins();
  SessionStandins(const SessionStandins &) = delete;
  SessionStandins &operator=(const SessionStandins &) = delete;

  // Which roots a stand-in forks (TreeNode::standin) and which stay in
  // cpr's session (TreeNode::stays).
  void plan(std::vector<TreeNode> &nodes) const;
  void open_pipe();
  // Stand-in `standin`, which leads a session and forks `roots` (nodes) in it.
  void fork(pid_t standin, const std::vector<int> &roots);
  // Once the set is released.
  void let_go();
  void kill() const;
  void reap() const;

private:
  [[noreturn]] void run(pid_t standin, const std::vector<int> &roots);

  const sdk::SessionTerminals &terminals_;
  bool in_namespace_;
  pid_t cpr_pid_;
  const FailurePipe &failures_;
  HelperSetup &helper_;
  std::vector<pid_t> standins_;
  int read_ = -1, write_ = -1; // their end of file lets them go
};

} // namespace cpr::engine
