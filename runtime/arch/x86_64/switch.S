/* runtime/arch/x86_64/switch.S: the coroutine context switch for x86-64 (System V ABI).
 *
 * Follows the System V AMD64 psABI (1.0), section 3.2 "Function Calling Sequence":
 *   - saved: the callee-saved registers rbx, rbp, r12, r13, r14, r15 and rsp; the MXCSR
 *     control bits and the x87 control word ("the control bits of MXCSR and the x87 CW are
 *     callee-saved"). Everything else is caller-saved, so the C caller already spilled it.
 *   - the context (struct corio__ctx in runtime/coro.h) holds, at these byte offsets:
 *       0 rsp   8 rip   16 rbx   24 rbp   32 r12   40 r13   48 r14   56 r15
 *       64 mxcsr (4 bytes)   68 x87 control word (2 bytes)
 *   - alignment: at a function's first instruction rsp + 8 is a multiple of 16. A new
 *     context starts in corio__ctx_entry with rsp 16-byte aligned; its `call` pushes the
 *     return slot and the entry function sees the ABI's alignment.
 *
 * Resuming: the switch stores the caller's return address as the saved rip and the rsp
 * it will have after returning, then resumes the other context with an indirect `jmp`,
 * not `ret`. A `ret` after a stack swap is always mispredicted by the return-stack
 * predictor (~8 ns here); an indirect jmp is predicted by the branch target buffer
 * (~2 ns). The call into corio__ctx_switch is then never matched by a ret, so the
 * return-stack predictor holds one stale entry per switch: the coroutine's next return
 * mispredicts once, which the benchmark `switch` includes.
 */
	.text

	/* void corio__ctx_switch(struct corio__ctx *from, const struct corio__ctx *to) */
	.globl	corio__ctx_switch
	.hidden	corio__ctx_switch
	.type	corio__ctx_switch, @function
	.p2align 4
corio__ctx_switch:
	.cfi_startproc
	movq	(%rsp), %rax		/* where the caller resumes */
	leaq	8(%rsp), %rcx		/* the caller's rsp once "returned" */
	movq	%rcx, 0(%rdi)
	movq	%rax, 8(%rdi)
	movq	%rbx, 16(%rdi)
	movq	%rbp, 24(%rdi)
	movq	%r12, 32(%rdi)
	movq	%r13, 40(%rdi)
	movq	%r14, 48(%rdi)
	movq	%r15, 56(%rdi)
	stmxcsr	64(%rdi)
	fnstcw	68(%rdi)

	movq	16(%rsi), %rbx
	movq	24(%rsi), %rbp
	movq	32(%rsi), %r12
	movq	40(%rsi), %r13
	movq	48(%rsi), %r14
	movq	56(%rsi), %r15
	/* Loaded unconditionally: comparing first reads back what stmxcsr/fnstcw just
	 * stored and measured slower here (6-7 ns against 4.8-5 ns per switch). */
	ldmxcsr	64(%rsi)
	fldcw	68(%rsi)
	movq	0(%rsi), %rsp
	jmp	*8(%rsi)
	.cfi_endproc
	.size	corio__ctx_switch, .-corio__ctx_switch

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
