// Files a restart opens for a process are opened with that process's own
// rights, not cpr's: a statefile naming /etc/shadow gets a user nothing.
#pragma once

#include "remote/remote.hpp"
#include "statefile/manifest.hpp"

#include <sys/types.h>
#include <vector>

namespace cpr::engine {

// For its lifetime, this thread's filesystem uid, gid and groups are the
// process's (setfsuid drops CAP_DAC_OVERRIDE and the other file
// capabilities with it); cpr's own come back at the end.
class ActingAs {
public:
  explicit ActingAs(const Credentials &creds);
  ~ActingAs();
  ActingAs(const ActingAs &) = delete;
  ActingAs &operator=(const ActingAs &) = delete;

private:
  bool switched_ = false;
  uid_t fsuid_ = 0;
  gid_t fsgid_ = 0;
  std::vector<gid_t> groups_;
};

// The same inside a process being rebuilt, until its credentials are set.
void act_as_owner(RemoteProcess &t, const ProcessRecord &p);

} // namespace cpr::engine
