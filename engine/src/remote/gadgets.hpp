// Instructions cpr borrows from a process's own code, found by their bytes
// in its executable mappings (the vDSO first).
#pragma once

#include <cstdint>
#include <sys/types.h>

namespace cpr::engine {

// The address of a `syscall` instruction in the process's vDSO, or in any
// other executable mapping if it has none.
std::uint64_t find_syscall_insn(pid_t pid);

// What lets a thread stopped outside cpr's work area go back to its own
// state should cpr die: `restorer` runs rt_sigreturn (`mov $15,%rax;
// syscall`, as libc's __restore_rt); `syscall_ret` is `syscall; ret`, a
// call that returns through the address on top of the stack. 0: none found.
struct WayBack {
  std::uint64_t restorer = 0;
  std::uint64_t syscall_ret = 0;
};
WayBack find_way_back(pid_t pid);

} // namespace cpr::engine
