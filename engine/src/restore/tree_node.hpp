// PlannedProcess and TreeNode: a process of a restart, as the engine plans
// it, and its place in the tree being forked again.
#pragma once

#include "statefile/manifest.hpp"

#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::engine {

struct PlannedProcess {
  const ProcessRecord *record;
  const Manifest *manifest;
  std::string statefile;
};

// Nodes are indexes into the tree's vector, parents before children.
struct TreeNode {
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

} // namespace cpr::engine
