#include "acting_as.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/tracee.hpp>

#include <fmt/format.h>
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
  int n = ::getgroups(0, nullptr);
  groups_.resize(static_cast<std::size_t>(std::max(n, 0)));
  n = ::getgroups(static_cast<int>(groups_.size()), groups_.data());
  groups_.resize(static_cast<std::size_t>(std::max(n, 0)));
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
  const Credentials &c = p.creds;
  if (c.uids.size() != 4 || c.gids.size() != 4)
    throw sdk::Error(fmt::format("damaged statefile: process {} has no "
                                 "credentials",
                                 p.pid));
  std::uint64_t buf = t.scratch(sizeof(std::uint32_t) * (c.groups.size() + 1));
  if (!c.groups.empty())
    t.write(buf, c.groups.data(), c.groups.size() * sizeof(std::uint32_t));
  sdk::remote_call(t, "take its groups", SYS_setgroups, c.groups.size(), buf);
  sdk::remote_call(t, "take its fsgid", SYS_setfsgid, c.gids[3]);
  sdk::remote_call(t, "take its fsuid", SYS_setfsuid, c.uids[3]);
}

} // namespace cpr::engine
