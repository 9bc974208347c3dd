// The namespaces a set lives in. A set in an IPC namespace of its own (as
// `unshare --ipc` starts it) is saved from inside that namespace and
// restarted into a new one, with the same objects; a namespace of any other
// kind that differs from cpr's is refused by name.
#pragma once

#include <sys/types.h>
#include <vector>

namespace cpr::engine {

// Whether the processes live in an IPC namespace other than cpr's. Throws a
// Checkpoint error naming the process and the namespace when one is in a
// namespace of another kind of its own, or when they are not all in one
// IPC namespace.
bool own_ipc_namespace(const std::vector<pid_t> &pids);

// While it lives, the calling thread is in the IPC namespace of `pid`
// (System V objects and /proc/sysvipc are seen from there); then in its own
// again.
class InIpcNamespaceOf {
public:
  explicit InIpcNamespaceOf(pid_t pid);
  ~InIpcNamespaceOf();
  InIpcNamespaceOf(const InIpcNamespaceOf &) = delete;
  InIpcNamespaceOf &operator=(const InIpcNamespaceOf &) = delete;

private:
  int own_ = -1;
};

} // namespace cpr::engine
