// A signal frame, as the kernel would build one for a handler, that puts a
// frozen thread back as it was: rt_sigreturn from it restores the thread's
// registers, FPU state and signal mask. cpr keeps one in the work area for
// every thread it runs remote calls in, so that a thread whose tracer died
// between two calls returns to its own code (see remote_code.S).
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/user.h>
#include <vector>

namespace cpr::engine {

// Bytes a frame takes for `xstate`, the NT_X86_XSTATE regset.
std::size_t sigframe_size(const std::vector<std::uint8_t> &xstate);

// The frame to place at `at` (64-byte aligned); a thread resumes from it
// with rt_sigreturn and %rsp = at + 8. `regs` are the registers to resume
// with (already in their restartable form), `xstate` the NT_X86_XSTATE
// regset. The alternate signal stack is left as it is. `pretcode`, the
// frame's first word, is where a `ret` with the stack pointer at `at` goes.
std::vector<std::uint8_t>
build_sigframe(std::uint64_t at, const user_regs_struct &regs,
               std::uint64_t sigmask, const std::vector<std::uint8_t> &xstate,
               std::uint64_t pretcode = 0);

} // namespace cpr::engine
