// Remote system calls: a stopped thread executes one `syscall` instruction
// with registers the engine chose. At restart it single-steps over it; at
// checkpoint (use_frame) the call runs in the work area's code, which ends
// in a stop that is harmless without a tracer and then in rt_sigreturn from
// a frame holding the thread's own state (remote_code.S, sigframe.hpp).
#pragma once

#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/tracee.hpp>

#include <cstdint>
#include <functional>
#include <sched.h>
#include <sys/user.h>
#include <utility>
#include <vector>

namespace cpr::engine {

class RemoteProcess final : public sdk::Tracee {
public:
  // A signal frame (sigframe.hpp) and where it is in the tracee.
  struct Frame {
    std::uint64_t at = 0;
    std::vector<std::uint8_t> bytes;
  };
  // `insn`: where a `syscall` instruction is in the tracee; `base`: the
  // registers it was stopped with, which every call starts from.
  RemoteProcess(pid_t pid, std::uint64_t insn, const user_regs_struct &base);
  ~RemoteProcess() override;
  RemoteProcess(const RemoteProcess &) = delete;
  RemoteProcess &operator=(const RemoteProcess &) = delete;

  pid_t pid() const override { return pid_; }
  long syscall(long nr, std::uint64_t a1, std::uint64_t a2, std::uint64_t a3,
               std::uint64_t a4, std::uint64_t a5, std::uint64_t a6) override;
  std::uint64_t scratch(std::size_t size) override;
  std::vector<sdk::Range> reserved() const override { return reserved_; }
  void read(std::uint64_t addr, void *buf, std::size_t len) override;
  void write(std::uint64_t addr, const void *buf, std::size_t len) override;

  const user_regs_struct &base_registers() const { return base_; }
  std::uint64_t syscall_insn() const { return insn_; }
  // Where a thread cloned remotely waits: `syscall` and a spin.
  std::uint64_t clone_gadget() const;
  // clone(2) with `flags` (CLONE_PTRACE among them) from the work area
  // (use_frame): the child never runs the thread's own code, and exits if
  // it runs at all. Returns what clone returned.
  long fork_snapshot(std::uint64_t flags);
  sdk::Range scratch_area() const { return scratch_; }
  void use_syscall_insn(std::uint64_t insn) { insn_ = insn; }
  void use_scratch(sdk::Range area) { scratch_ = area; }

  // Maps `pages` read-write pages at a spot far from everything in `avoid`
  // and from the tracee's current mappings; returns where. The area is
  // reserved until unmap().
  sdk::Range map_private_area(const std::vector<sdk::Range> &avoid,
                              std::size_t pages);
  void unmap(sdk::Range area);

  // The calls, one after another inside the tracee, in one go when it has
  // a work area (see install_work_area), else one remote call each. Returns
  // every result, errors included. Only for calls that do not block: a
  // signal that arrives meanwhile is held back, as with syscall().
  std::vector<long> syscalls(const std::vector<Call> &calls) override;
  // A work area laid out by install_work_area, shared by the threads of
  // one process.
  sdk::Range work_area() const { return work_area_; }
  void use_work_area(sdk::Range area);

  // Kill-safe calls: the thread's frame is at `frame` in the work area;
  // `stop_signal` (one the process does not catch, or 0: stop at syscall
  // exits instead) ends every call; while the thread is held, everything
  // else is blocked. A thread whose tracer dies between calls goes back to
  // the frame's state (see remote_code.S).
  void use_frame(Frame frame, int stop_signal);
  // Puts the thread's own registers and signal mask back (in a stop the
  // kernel restarts an interrupted call from), once no remote call is left.
  void restore(const user_regs_struct &regs, std::uint64_t sigmask);
  // One call with every signal blocked, through syscall stops.
  long syscall_all_blocked(long nr, std::uint64_t a1, std::uint64_t a2,
                           std::uint64_t a3, std::uint64_t a4);
  // The last remote call: unmaps the work area, then leaves the thread in a
  // stop with `regs` and `sigmask`, ready to be detached.
  void unmap_and_restore(sdk::Range area, const user_regs_struct &regs,
                         std::uint64_t sigmask);
  // A work area with `frame_pages` more pages for frames, mapped by one
  // call; `frame_of(area)` is this thread's frame (sigframe.hpp). From then
  // on the thread rests in the area, kill-safe (use_frame with
  // `stop_signal`). `own_mask`: the thread's signal mask. A frame outside
  // the area (on the thread's own stack, returning through a restorer) is
  // written first, and with a `syscall; ret` (use_way_back) the call itself
  // returns through it should cpr die: no moment is unsafe. Else the call
  // is made at the syscall instruction, unsafe until it has returned.
  using FrameMaker = std::function<Frame(sdk::Range)>;
  sdk::Range map_safe_work_area(std::size_t frame_pages,
                                const FrameMaker &frame_of, int stop_signal,
                                std::uint64_t own_mask);
  void use_way_back(std::uint64_t syscall_ret) { syscall_ret_ = syscall_ret; }

  // Signals that reached the thread while it ran remote calls. They were
  // held back; whoever releases the thread queues them again.
  std::vector<std::vector<std::uint8_t>> take_deferred_signals();

private:
  std::uint64_t free_spot(const std::vector<sdk::Range> &avoid,
                          std::uint64_t size) const;
  long first_call(long nr, const std::uint64_t (&args)[6]);
  bool returns_through_stack() const;
  long call_through_stack_frame(long nr, const std::uint64_t (&args)[6],
                                std::uint64_t mask);
  void back_to_event_stop();
  user_regs_struct call_registers(std::uint64_t rip, long nr,
                                  const std::uint64_t (&args)[6]) const;
  long single_step_call(user_regs_struct regs);
  user_regs_struct run_to_stop(user_regs_struct regs);
  user_regs_struct run_to_syscall_exit(const user_regs_struct &regs,
                                       std::uint64_t mask);
  void hold_back(int status, const char *what);
  void run_batch(std::size_t count);
  pid_t pid_;
  std::uint64_t insn_;
  user_regs_struct base_;
  sdk::Range scratch_{};
  sdk::Range work_area_{};
  std::vector<sdk::Range> reserved_;
  std::vector<std::vector<std::uint8_t>> deferred_;
  int mem_fd_ = -1;
  std::uint64_t frame_ = 0;
  std::vector<std::uint8_t> frame_bytes_;
  std::uint64_t syscall_ret_ = 0;
  int stop_signal_ = 0;
  pid_t tgid_ = 0;
  bool masked_ = false;
  bool at_syscall_exit_ = false;
};

// Runs the calling thread on the CPU the tracee last ran on, while it lives
// (and, if asked, the tracee too): a remote call between two threads on one
// CPU costs about a fifth of one across CPUs. Threads started meanwhile
// inherit the pin: see allow_any_cpu().
class CpuPin {
public:
  CpuPin(pid_t tracee, bool pin_tracee);
  ~CpuPin();
  CpuPin(const CpuPin &) = delete;
  CpuPin &operator=(const CpuPin &) = delete;

private:
  cpu_set_t saved_;
  bool pinned_ = false;
};

// A work area: page 0 holds cpr's code (remote_code.S), page 1 the table of
// a batch of calls, pages 2 and 3 are scratch memory; at checkpoint the
// threads' frames follow.
inline constexpr std::size_t work_area_pages = 4;
// Maps a work area at a spot far from `avoid` and from everything the
// tracee has, fills in its code, and makes `t` use it.
sdk::Range install_work_area(RemoteProcess &t,
                             const std::vector<sdk::Range> &avoid);
// The work areas a cpr which died left mapped, among `maps` of process
// `pid`.
std::vector<sdk::Range> stale_work_areas(pid_t pid,
                                         const std::vector<sdk::Mapping> &maps);
// For a worker thread started while its creator was pinned.
void allow_any_cpu();
// For worker `k` of a few that must run at once: on the k-th CPU (the
// scheduler, left to itself, often keeps two fresh threads on one).
void run_on_own_cpu(unsigned k);

} // namespace cpr::engine
