#include "restore/ipc_namespace.hpp"

#include <cpr/sdk/error.hpp>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

namespace cpr::engine {

void IpcNamespace::enter_new() {
  int own = ::open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
  if (own < 0)
    sdk::throw_errno("cannot open cpr's IPC namespace", errno);
  if (::unshare(CLONE_NEWIPC) != 0) {
    int err = errno;
    ::close(own);
    sdk::throw_errno("cannot make a new IPC namespace", err);
  }
  own_ = own;
}

IpcNamespace::~IpcNamespace() {
  if (own_ < 0)
    return;
  (void)::setns(own_, CLONE_NEWIPC);
  ::close(own_);
}

} // namespace cpr::engine
