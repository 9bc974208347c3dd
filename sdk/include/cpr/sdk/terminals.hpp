// How the sessions of a restarted set meet terminals. The controlling
// terminal is a session's, given to its leader before the leader forks the
// rest of it: the engine shapes the sessions, a set handler (plugins/files)
// says how, as it restores its record (SetHandler::restore), before any
// process is made.
#pragma once

#include <map>
#include <set>
#include <sys/types.h>

namespace cpr::sdk {

struct SessionTerminals {
  // Saved PIDs of processes that stay in cpr's own session and process
  // group rather than in a session of their own (cpr -j: they ran on the
  // terminal cpr runs on now).
  std::set<pid_t> join_caller;
  // A session leader's saved PID → one of its fd numbers, open on a file
  // made before fork (FdHandler::open_before_fork): the leader takes that
  // file as its controlling terminal before it forks.
  std::map<pid_t, int> controlling_fd;
  // Saved PIDs of group leaders that put their group in the foreground of
  // the controlling terminal they then have.
  std::set<pid_t> foreground;
};

} // namespace cpr::sdk
