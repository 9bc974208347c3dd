// The checkpoint and restart events of the guide: SIGCKPT before a
// checkpoint, waited for until every handler has returned, and SIGRESTART
// where the processes go on. Sent only to a process that catches it.
#pragma once

#include <chrono>
#include <sys/types.h>
#include <vector>

namespace cpr::engine {

bool catches_signal(pid_t pid, int sig);

class CheckpointNotice {
public:
  // Sends SIGCKPT to each process of `pids` that catches it (not to one
  // stopped by job control: it could not run a handler) and waits until
  // each handler has returned, or its process has exited. Past `timeout`,
  // sends SIGRESTART to them and throws "Resource busy".
  CheckpointNotice(const std::vector<pid_t> &pids,
                   std::chrono::seconds timeout);
  // Unless dismissed, a checkpoint that did not happen: SIGRESTART, so the
  // handlers reopen what the SIGCKPT handlers closed.
  ~CheckpointNotice();
  CheckpointNotice(const CheckpointNotice &) = delete;
  CheckpointNotice &operator=(const CheckpointNotice &) = delete;

  // The processes go on after the checkpoint (WILL CONT): SIGRESTART now.
  void processes_go_on();
  // The processes are gone (WILL EXIT, KILL): nothing more to send.
  void dismiss() { notified_.clear(); }

private:
  void send_restart();
  std::vector<pid_t> notified_;
};

} // namespace cpr::engine
