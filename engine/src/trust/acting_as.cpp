#include "trust/acting_as.hpp"

#include "process/process_state.hpp"
#include "trust/credentials_bound.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/tracee.hpp>

#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

// Raw system calls: glibc's setgroups() and setfs*() would act on every
// thread of cpr, and these are for this one alone.
long set_groups(const std::vector<gid_t> &groups) {
  return ::syscall(SYS_setgroups, groups.size(), groups.data());
}

} // namespace

ActingAs::ActingAs(const Credentials &c) {
  if (c.uids.size() != 4 || c.gids.size() != 4 || ::geteuid() != 0 ||
      (c.uids[3] == 0 && c.gids[3] == 0))
    return;
  groups_ = own_groups();
  fsuid_ = static_cast<uid_t>(::syscall(SYS_setfsuid, -1));
  fsgid_ = static_cast<gid_t>(::syscall(SYS_setfsgid, -1));
  switched_ = true;
  std::vector<gid_t> theirs(c.groups.begin(), c.groups.end());
  if (set_groups(theirs) != 0)
    sdk::throw_errno("cannot take the groups of the process", errno);
  ::syscall(SYS_setfsgid, c.gids[3]);
  ::syscall(SYS_setfsuid, c.uids[3]);
}

ActingAs::~ActingAs() {
  if (!switched_)
    return;
  ::syscall(SYS_setfsuid, fsuid_);
  ::syscall(SYS_setfsgid, fsgid_);
  set_groups(groups_);
}

void act_as_owner(RemoteProcess &t, const ProcessRecord &p) {
  const Credentials &c = saved_credentials(p);
  restore_groups(t, c);
  sdk::remote_call(t, "take its fsgid", SYS_setfsgid, c.gids[3]);
  sdk::remote_call(t, "take its fsuid", SYS_setfsuid, c.uids[3]);
}

} // namespace cpr::engine
