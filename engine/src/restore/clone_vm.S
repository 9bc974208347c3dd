/* long cpr_clone3_on_stack(struct clone_args *args, unsigned long size,
                            void (*fn)(void *), void *arg)

   clone3 for a child that shares the caller's address space: the child
   starts on the stack given in args, calls fn(arg), and exits if fn ever
   returns. The parent gets clone3's result. (A C wrapper cannot do this:
   the child would return into a frame of the parent's stack.) */
        .text
        .globl  cpr_clone3_on_stack
        .type   cpr_clone3_on_stack, @function
cpr_clone3_on_stack:
        mov     %rdx, %r8
        mov     %rcx, %r9
        mov     $435, %eax          /* SYS_clone3 */
        syscall
        test    %rax, %rax
        jz      1f
        ret
1:      xor     %ebp, %ebp
        mov     %r9, %rdi
        call    *%r8
        mov     $60, %eax           /* SYS_exit */
        xor     %edi, %edi
        syscall
        hlt
        .size   cpr_clone3_on_stack, .-cpr_clone3_on_stack
        .section .note.GNU-stack,"",@progbits
