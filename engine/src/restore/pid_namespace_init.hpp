// PidNamespaceInit: the init of the new PID namespace a restart forks its
// tree in (--fork-any with a PID taken), a small process of cpr's. It forks
// the roots of the tree (cpr cannot: a process that unshares its PID
// namespace may not start threads, and cpr uses threads), and reaps whatever
// is reparented to it later.
#pragma once

#include "restore/failure_pipe.hpp"

#include <functional>
#include <sys/types.h>

namespace cpr::engine {

class PidNamespaceInit {
public:
  explicit PidNamespaceInit(const FailurePipe &failures)
      : failures_(failures) {}
  ~PidNamespaceInit();
  PidNamespaceInit(const PidNamespaceInit &) = delete;
  PidNamespaceInit &operator=(const PidNamespaceInit &) = delete;

  // Creates the namespace, whose init runs `fork_roots`.
  void start(const std::function<void()> &fork_roots);
  // As cpr sees it; 0 if not started, or reaped.
  pid_t pid() const { return pid_; }
  // It died and cpr waited for it.
  void reaped() { pid_ = 0; }
  // And with it, the whole namespace.
  void kill() const;
  void reap() const;
  // The restart succeeded: the init outlives cpr from now on.
  void let_outlive_cpr();

private:
  [[noreturn]] void run(int talk, int ack,
                        const std::function<void()> &fork_roots);

  const FailurePipe &failures_;
  pid_t pid_ = 0;
  int talk_ = -1, ack_ = -1;
};

} // namespace cpr::engine
