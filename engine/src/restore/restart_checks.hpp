// What a restart checks before any process exists: everything that can be
// known to fail.
#pragma once

#include "dispatch/registry.hpp"
#include "restore/loaded_statefile.hpp"

#include <cpr/engine/engine.hpp>

#include <set>
#include <sys/types.h>
#include <vector>

namespace cpr::engine {

// The PIDs a restart needs: all free, or (FORK ANY) a new PID namespace.
class PidCheck {
public:
  explicit PidCheck(Fork fork) : fork_(fork) {}
  // Throws "unavailable PID" under FORK ORIGINAL for a PID in use.
  void need(pid_t pid, bool thread);
  bool new_namespace() const { return new_namespace_; }

private:
  Fork fork_;
  std::set<pid_t> claimed_;
  bool new_namespace_ = false;
};

// No process gets more than the statefile's maker had, nor more than the
// user restarting it has.
void check_credentials(const LoadedStatefile &l);

// Every record's handler check; every PID and pages file.
void check_records(LoadedStatefile &l, const Registry &registry,
                   PidCheck &pids);

// A record of a kind no handler has any more is read as its plugin's remap
// table says, converted once for the whole restart.
void remap_records(Manifest &m, const Registry &registry);

} // namespace cpr::engine
