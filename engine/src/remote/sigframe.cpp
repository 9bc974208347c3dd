#include "remote/sigframe.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <cpuid.h>
#include <cstring>

namespace cpr::engine {
namespace {

// The kernel's x86_64 layouts (arch/x86/include/uapi/asm/sigcontext.h and
// asm/sigframe.h); glibc's ucontext_t differs (a 128-byte sigset_t).
struct Sigcontext {
  std::uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  std::uint64_t di, si, bp, bx, dx, ax, cx, sp, ip, flags;
  std::uint16_t cs, gs, fs, ss;
  std::uint64_t err, trapno, oldmask, cr2, fpstate, reserved1[8];
};
struct Stack {
  std::uint64_t sp;
  std::int32_t flags;
  std::uint64_t size;
};
struct Ucontext {
  std::uint64_t flags, link;
  Stack stack;
  Sigcontext mcontext;
  std::uint64_t sigmask;
};
struct RtSigframe {
  std::uint64_t pretcode;
  Ucontext uc;
  std::uint8_t info[128];
};
static_assert(sizeof(Sigcontext) == 256 && sizeof(Ucontext) == 304);

// struct _fpx_sw_bytes, in the fxsave area's software-reserved bytes.
struct FpxSwBytes {
  std::uint32_t magic1, extended_size;
  std::uint64_t xfeatures;
  std::uint32_t xstate_size, padding[7];
};
constexpr std::size_t sw_bytes_at = 464;
constexpr std::uint32_t fp_xstate_magic1 = 0x46505853;
constexpr std::uint32_t fp_xstate_magic2 = 0x46505845;
constexpr std::size_t magic2_size = 4;
constexpr std::uint64_t uc_fp_xstate = 1, uc_sigcontext_ss = 2,
                        uc_strict_restore_ss = 4;
// An invalid ss_flags: rt_sigreturn ignores the error and leaves the
// thread's alternate stack alone.
constexpr std::int32_t keep_altstack = 3;
constexpr std::size_t fpstate_at = (sizeof(RtSigframe) + 63) / 64 * 64;

Sigcontext sigcontext_of(const user_regs_struct &r, std::uint64_t fpstate) {
  Sigcontext sc{};
  sc.r8 = r.r8, sc.r9 = r.r9, sc.r10 = r.r10, sc.r11 = r.r11;
  sc.r12 = r.r12, sc.r13 = r.r13, sc.r14 = r.r14, sc.r15 = r.r15;
  sc.di = r.rdi, sc.si = r.rsi, sc.bp = r.rbp, sc.bx = r.rbx;
  sc.dx = r.rdx, sc.ax = r.rax, sc.cx = r.rcx, sc.sp = r.rsp;
  sc.ip = r.rip, sc.flags = r.eflags;
  sc.cs = static_cast<std::uint16_t>(r.cs);
  sc.ss = static_cast<std::uint16_t>(r.ss);
  sc.fpstate = fpstate;
  return sc;
}

constexpr std::size_t xsave_header_at = 512, legacy_and_header = 576;
constexpr int cpuid_xstate_leaf = 0xd;
constexpr unsigned xfd_capable = 1u << 2; // CPUID(0xd, i).ecx

// What the kernel takes from a frame is at most the thread's own
// fpstate->user_size: without permission for a dynamic feature (AMX tile
// data, turned on by arch_prctl) that is less than the regset, which holds
// every feature. An image that states more is restored as legacy state
// only, the upper halves of YMM lost: the dynamic features not in use are
// left out.
std::vector<std::uint8_t> trimmed_to_use(std::vector<std::uint8_t> xstate) {
  std::uint64_t xcr0 = 0, in_use = 0;
  std::memcpy(&xcr0, xstate.data() + sw_bytes_at, sizeof xcr0);
  std::memcpy(&in_use, xstate.data() + xsave_header_at, sizeof in_use);
  std::size_t size = legacy_and_header;
  bool trimmed = false;
  for (unsigned i = 2; i < 64; ++i) {
    if (!(xcr0 & (1ULL << i)))
      continue;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    __cpuid_count(cpuid_xstate_leaf, i, eax, ebx, ecx, edx);
    if ((ecx & xfd_capable) && !(in_use & (1ULL << i))) {
      xcr0 &= ~(1ULL << i);
      trimmed = true;
      continue;
    }
    size = std::max<std::size_t>(size, std::size_t{ebx} + eax);
  }
  if (trimmed && size < xstate.size()) {
    xstate.resize(size);
    std::memcpy(xstate.data() + sw_bytes_at, &xcr0, sizeof xcr0);
  }
  return xstate;
}

} // namespace

std::size_t sigframe_size(const std::vector<std::uint8_t> &xstate) {
  return fpstate_at + trimmed_to_use(xstate).size() + magic2_size;
}

std::vector<std::uint8_t>
build_sigframe(std::uint64_t at, const user_regs_struct &regs,
               std::uint64_t sigmask, const std::vector<std::uint8_t> &regset,
               std::uint64_t pretcode) {
  if (at % 64 != 0 || regset.size() < legacy_and_header)
    throw sdk::Error("internal error: a signal frame without XSAVE state");
  std::vector<std::uint8_t> xstate = trimmed_to_use(regset);
  std::vector<std::uint8_t> out(fpstate_at + xstate.size() + magic2_size);
  RtSigframe frame{};
  frame.pretcode = pretcode;
  frame.uc.flags = uc_fp_xstate | uc_sigcontext_ss | uc_strict_restore_ss;
  frame.uc.stack.flags = keep_altstack;
  frame.uc.mcontext = sigcontext_of(regs, at + fpstate_at);
  frame.uc.sigmask = sigmask;
  std::memcpy(out.data(), &frame, sizeof frame);
  std::uint8_t *fp = out.data() + fpstate_at;
  std::memcpy(fp, xstate.data(), xstate.size());
  // The regset carries XCR0 where a signal frame carries these.
  FpxSwBytes sw{};
  std::memcpy(&sw.xfeatures, xstate.data() + sw_bytes_at, sizeof sw.xfeatures);
  sw.magic1 = fp_xstate_magic1;
  sw.xstate_size = static_cast<std::uint32_t>(xstate.size());
  sw.extended_size = sw.xstate_size + magic2_size;
  std::memcpy(fp + sw_bytes_at, &sw, sizeof sw);
  std::memcpy(fp + xstate.size(), &fp_xstate_magic2, magic2_size);
  return out;
}

} // namespace cpr::engine
