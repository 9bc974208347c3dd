#include "identity.hpp"

#include <cpr/sdk/error.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

namespace cpr::sockets {

CreatingAs::CreatingAs(const Identity &who) {
  if (::geteuid() != 0)
    return; // not privileged: everything is made as cpr's own user
  uid_t uid = ::getuid() == 0 ? who.uid : ::getuid();
  gid_t gid = ::getuid() == 0 ? who.gid : ::getgid();
  if (::getuid() == 0 && !who.known)
    return;
  euid_ = ::geteuid();
  egid_ = ::getegid();
  fsuid_ = static_cast<uid_t>(::syscall(SYS_setfsuid, -1));
  fsgid_ = static_cast<gid_t>(::syscall(SYS_setfsgid, -1));
  if (::syscall(SYS_setresgid, -1, gid, -1) != 0)
    sdk::throw_errno("cannot take the group of a socket's owner", errno);
  switched_ = true;
  if (::syscall(SYS_setresuid, -1, uid, -1) != 0)
    sdk::throw_errno("cannot take the user of a socket's owner", errno);
  // setresuid() sets the filesystem ids too: the caller's (ActingAs) stay.
  ::syscall(SYS_setfsuid, fsuid_);
  ::syscall(SYS_setfsgid, fsgid_);
}

CreatingAs::~CreatingAs() {
  if (!switched_)
    return;
  // Back to root through the real or saved uid; capabilities come back with
  // it. cpr cannot go on as another user if that fails.
  if (::syscall(SYS_setresuid, -1, euid_, -1) != 0 ||
      ::syscall(SYS_setresgid, -1, egid_, -1) != 0)
    std::abort();
  ::syscall(SYS_setfsuid, fsuid_);
  ::syscall(SYS_setfsgid, fsgid_);
}

} // namespace cpr::sockets
