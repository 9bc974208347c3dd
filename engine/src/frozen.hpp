// A process held still under ptrace for the length of a checkpoint.
#pragma once

#include "remote.hpp"

#include <cstdint>
#include <memory>
#include <sys/types.h>
#include <sys/user.h>
#include <vector>

namespace cpr::engine {

class FrozenProcess {
public:
  // Seizes and stops the process. It must be single-threaded.
  explicit FrozenProcess(pid_t pid);
  // Unless released, puts the process back exactly as it was.
  ~FrozenProcess();
  FrozenProcess(const FrozenProcess &) = delete;
  FrozenProcess &operator=(const FrozenProcess &) = delete;

  pid_t pid() const { return pid_; }
  // Ready for remote calls, with scratch memory mapped in the process.
  RemoteProcess &remote();
  // Signals the process was about to take when it stopped, or that came
  // while it was held (siginfo_t each); they are pending in the statefile.
  std::vector<std::vector<std::uint8_t>> in_flight();

  void resume();  // WILL CONT: as it was, running again
  void kill();    // WILL EXIT / KILL

private:
  void wait_until_frozen();
  void release_quietly();
  void requeue(const std::vector<std::vector<std::uint8_t>> &signals);

  pid_t pid_;
  user_regs_struct regs_{};
  std::vector<std::vector<std::uint8_t>> caught_;
  std::unique_ptr<RemoteProcess> remote_;
  sdk::Range scratch_area_{};
  bool released_ = false;
};

} // namespace cpr::engine
