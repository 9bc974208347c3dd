/* Code cpr copies into the first page of a tracee's work area (never run
   in cpr itself, hence .rodata).

   offset 0: one system call (registers as the engine set them), its result
   kept in %rbx, then the stop and the trailer. At restart the engine
   single-steps over the `syscall` alone.

   cpr_stop: tgkill(getpid(), gettid(), %r14) stops the thread under its
   tracer (a traced thread reports even a signal it ignores). The engine
   picks a signal the process does not catch: without a tracer it is
   dropped.

   cpr_trailer: rt_sigreturn from the frame at %rsp - 8, which the engine
   wrote for this thread: if cpr died, the thread goes back to its own
   registers, FPU state and signal mask.

   cpr_clone_gadget: `syscall` and a spin, where a thread cloned remotely
   at restart waits to be seized.

   cpr_snapshot_gadget: clone(2), then in the parent the stop with the
   result in %rbx; the child (stopped under cpr before it runs a single
   instruction) exits with status 99 as soon as it runs: when cpr lets it
   go, or dies (snapshot.hpp).

   cpr_batch_loop: runs %r15 system calls described by a table at %rbx, one
   64-byte entry each (nr, six arguments, result), writing each result into
   its entry; then the stop (or, with %r14 zero, the int3 at the end). A
   whole batch costs one PTRACE_CONT instead of a round trip per call. */
        .section .rodata
        .globl  cpr_remote_code, cpr_stop, cpr_trailer, cpr_clone_gadget
        .globl  cpr_batch_loop, cpr_snapshot_gadget, cpr_remote_code_end
cpr_remote_code:
        syscall
        mov     %rax, %rbx
cpr_stop:
4:      mov     $39, %eax               /* getpid, in its own namespace */
        syscall
        mov     %rax, %r12
        mov     $186, %eax              /* gettid */
        syscall
        mov     %rax, %rsi
        mov     %r12, %rdi
        mov     %r14, %rdx
        mov     $234, %eax              /* tgkill */
        syscall
cpr_trailer:
        mov     $15, %eax               /* rt_sigreturn */
        syscall
        ud2
cpr_clone_gadget:
        syscall
1:      jmp     1b
cpr_snapshot_gadget:
        syscall
        test    %rax, %rax
        jz      5f
        mov     %rax, %rbx
        jmp     4b
5:      mov     $231, %eax              /* exit_group(99) */
        mov     $99, %edi
        syscall
        ud2
cpr_batch_loop:
2:      test    %r15, %r15
        jz      3f
        mov     (%rbx), %rax
        mov     8(%rbx), %rdi
        mov     16(%rbx), %rsi
        mov     24(%rbx), %rdx
        mov     32(%rbx), %r10
        mov     40(%rbx), %r8
        mov     48(%rbx), %r9
        syscall
        mov     %rax, 56(%rbx)
        add     $64, %rbx
        dec     %r15
        jmp     2b
3:      test    %r14, %r14
        jnz     4b
        int3
cpr_remote_code_end:
        .section .note.GNU-stack,"",@progbits
