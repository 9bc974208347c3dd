// Who a unix socket's peer sees: the kernel takes a socket's SO_PEERCRED
// from the process that calls socketpair(), listen() or connect(). cpr makes
// the sockets, so it takes each saved identity for those calls: a restored
// process never finds its peer more privileged than it was (a daemon must
// not see a user's client as root).
#pragma once

#include <boost/serialization/serialization.hpp>

#include <cstdint>
#include <sys/types.h>

namespace cpr::sockets {

struct Identity {
  std::uint32_t uid = 0, gid = 0;
  bool known = false;

  bool operator==(const Identity &) const = default;
  template <class A> void serialize(A &ar, unsigned) { ar &uid &gid &known; }
};

// For its lifetime this thread's effective uid and gid are `who`'s (raw
// system calls: cpr's other threads keep theirs); its filesystem ids and
// effective uid and gid come back after. A caller who is not root only ever
// makes sockets as himself, whatever the statefile says.
class CreatingAs {
public:
  explicit CreatingAs(const Identity &who);
  ~CreatingAs();
  CreatingAs(const CreatingAs &) = delete;
  CreatingAs &operator=(const CreatingAs &) = delete;

private:
  bool switched_ = false;
  uid_t euid_ = 0, fsuid_ = 0;
  gid_t egid_ = 0, fsgid_ = 0;
};

} // namespace cpr::sockets
