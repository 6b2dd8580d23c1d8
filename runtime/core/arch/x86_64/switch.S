/* runtime/core/arch/x86_64/switch.S: where a new x86-64 context starts. The switch itself is
 * inline, in switch.h beside this file (read that first: what is saved and why).
 *
 * corio__ctx_make (runtime/core/coro.h) points a fresh context at corio__ctx_entry with r12 =
 * argument, r13 = function and rsp 16-byte aligned; the `call` below pushes the return
 * slot, so the function sees the ABI's alignment (rsp + 8 a multiple of 16 at its first
 * instruction).
 */
	.text

	/* First instruction of every new context: r12 = argument, r13 = function.
	 * The function never returns (it switches away for the last time); ud2 traps if
	 * it ever did. rip is marked undefined so unwinders and debuggers stop here. */
	.globl	corio__ctx_entry
	.hidden	corio__ctx_entry
	.type	corio__ctx_entry, @function
	.p2align 4
corio__ctx_entry:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	movq	%r12, %rdi
	call	*%r13
	ud2
	.cfi_endproc
	.size	corio__ctx_entry, .-corio__ctx_entry

	.section .note.GNU-stack, "", @progbits
