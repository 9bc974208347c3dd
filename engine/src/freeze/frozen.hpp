// A process held still under ptrace, every thread of it, for the length of
// a checkpoint.
#pragma once

#include "remote/gadgets.hpp"
#include "remote/remote.hpp"

#include <cpr/sdk/procfs.hpp>

#include <cstdint>
#include <memory>
#include <sys/types.h>
#include <sys/user.h>
#include <utility>
#include <vector>

namespace cpr::engine {

class FrozenProcess {
public:
  // Which threads are held: all, or (for a call that any thread can make)
  // only the main one while the others run on.
  enum class Hold { every_thread, main_thread };
  // Seizes and stops every thread, again and again until no new one
  // appears (a thread may start threads while the others are being seized).
  explicit FrozenProcess(pid_t pid, Hold hold = Hold::every_thread);
  // Unless released, puts the process back exactly as it was.
  ~FrozenProcess();
  FrozenProcess(const FrozenProcess &) = delete;
  FrozenProcess &operator=(const FrozenProcess &) = delete;

  pid_t pid() const { return pid_; }
  bool was_stopped() const { return was_stopped_; }
  // The signal that stopped it (SIGSTOP, SIGTSTP, ...), if it was and that
  // could be seen; else 0.
  int stopped_by() const { return stopped_by_; }
  std::vector<pid_t> tids() const;
  // Ready for remote calls in thread `tid`; all threads of the process share
  // one work area mapped in it, where each has a frame that puts it back as
  // it was should cpr die (sigframe.hpp).
  RemoteProcess &remote(pid_t tid);
  // remote() for every thread: each is kill-safe from then on. Work areas a
  // killed cpr left are removed, unless the address space is shared.
  void prepare();
  // Other processes share its address space: their threads may be in
  // what looks like another cpr's work area.
  void shares_address_space() { shares_address_space_ = true; }
  // The thread's own signal mask (while held, cpr blocks signals).
  std::uint64_t sigmask(pid_t tid) { return thread(tid).sigmask; }
  // Signals a thread was about to take when it stopped, or that came while
  // it was held (siginfo_t each); they are pending in the statefile.
  std::vector<std::vector<std::uint8_t>> in_flight(pid_t tid);

  void resume(); // WILL CONT: as it was, running again
  void kill();   // WILL EXIT / KILL

private:
  struct Thread {
    pid_t tid;
    user_regs_struct regs{};
    std::uint64_t sigmask = 0;
    std::vector<std::vector<std::uint8_t>> caught;
    std::unique_ptr<RemoteProcess> remote;
  };
  bool seize_new_threads();
  Thread &thread(pid_t tid);
  int choose_stop_signal() const;
  RemoteProcess::Frame frame_of(const Thread &t, sdk::Range area) const;
  void remove_stale_work_areas();
  void queue_held_back(Thread &t);
  Thread *unmapping_thread();
  void release_quietly();

  pid_t pid_;
  Hold hold_;
  bool was_stopped_ = false;
  int stopped_by_ = 0;
  std::vector<Thread> threads_;
  sdk::Range work_area_{};
  int stop_signal_ = 0;
  std::size_t frame_slot_ = 0;
  WayBack way_back_;
  std::vector<sdk::Mapping> maps_; // when its first thread was prepared
  bool released_ = false;
  bool shares_address_space_ = false;
};

} // namespace cpr::engine
