#include "trust/credentials_bound.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <unistd.h>

namespace cpr::engine {

std::vector<gid_t> own_groups() {
  int n = ::getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<std::size_t>(std::max(n, 0)));
  n = ::getgroups(static_cast<int>(groups.size()), groups.data());
  groups.resize(static_cast<std::size_t>(std::max(n, 0)));
  return groups;
}

Rights caller_rights() {
  Rights r{::getuid(), {::getgid()}};
  std::vector<gid_t> more = own_groups();
  r.groups.insert(r.groups.end(), more.begin(), more.end());
  return r;
}

void check_within(const ProcessRecord &p, const Rights &user,
                  const std::string &who) {
  if (user.root())
    return;
  auto refuse = [&](const std::string &what) {
    throw sdk::Error(EACCES,
                     fmt::format("Permission denied: process {} {}, which {} "
                                 "(uid {}) does not have",
                                 p.pid, what, who, user.uid));
  };
  for (std::uint32_t uid : p.creds.uids)
    if (uid != user.uid)
      refuse(fmt::format("has uid {}", uid));
  auto in_groups = [&](std::uint32_t gid) {
    return std::find(user.groups.begin(), user.groups.end(), gid) !=
           user.groups.end();
  };
  for (std::uint32_t gid : p.creds.gids)
    if (!in_groups(gid))
      refuse(fmt::format("has gid {}", gid));
  for (std::uint32_t gid : p.creds.groups)
    if (!in_groups(gid))
      refuse(fmt::format("is in group {}", gid));
  if (p.creds.cap_permitted || p.creds.cap_effective || p.creds.cap_inheritable)
    refuse("holds capabilities");
}

} // namespace cpr::engine
