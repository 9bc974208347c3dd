/* Code cpr copies into the first page of a tracee's work area (never run
   in cpr itself, hence .rodata).

   offset 0: `syscall` followed by a spin: the instruction remote calls
   single-step, where a thread cloned remotely waits to be seized.

   cpr_batch_loop: runs %r12 system calls described by a table at %rbx, one
   64-byte entry each (nr, six arguments, result), writing each result into
   its entry, and stops on the int3 at the end. A whole batch costs one
   PTRACE_CONT instead of a single-step round trip per call. */
        .section .rodata
        .globl  cpr_remote_code, cpr_batch_loop, cpr_remote_code_end
cpr_remote_code:
        syscall
1:      jmp     1b
cpr_batch_loop:
2:      test    %r12, %r12
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
        dec     %r12
        jmp     2b
3:      int3
cpr_remote_code_end:
        .section .note.GNU-stack,"",@progbits
