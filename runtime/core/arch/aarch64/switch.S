/* runtime/core/arch/aarch64/switch.S: the coroutine context switch for AArch64 (AAPCS64).
 *
 * Follows the Procedure Call Standard for the Arm 64-bit Architecture (AAPCS64),
 * section 6.1 "Machine Registers":
 *   - saved: x19-x28 (callee-saved), x29 (frame pointer), x30 (link register, the resume
 *     address), sp, the low 64 bits of v8-v15 (d8-d15, callee-saved), and FPCR (rounding
 *     mode and trap enables, which the standard gives "global" status and which a coroutine
 *     must not leak to another).
 *   - the context (struct corio__ctx in switch.h beside this file, which asserts these
 *     offsets) holds, at these byte offsets:
 *       0 sp   8 x30   16..88 x19-x28   96 x29   104..160 d8-d15   168 fpcr
 *   - alignment: sp is always a multiple of 16 (the architecture faults otherwise); a new
 *     context starts in corio__ctx_entry with sp 16-byte aligned.
 *
 * Resuming uses `br x30`, an indirect branch predicted by the branch target buffer,
 * instead of `ret`, which consults the return-stack predictor that a stack swap always
 * defeats (see the x86-64 file for the measurement).
 */
	.text

	/* void corio__ctx_switch(struct corio__ctx *from, const struct corio__ctx *to) */
	.globl	corio__ctx_switch
	.hidden	corio__ctx_switch
	.type	corio__ctx_switch, %function
	.p2align 4
corio__ctx_switch:
	.cfi_startproc
	mov	x9, sp
	str	x9, [x0, #0]
	str	x30, [x0, #8]
	stp	x19, x20, [x0, #16]
	stp	x21, x22, [x0, #32]
	stp	x23, x24, [x0, #48]
	stp	x25, x26, [x0, #64]
	stp	x27, x28, [x0, #80]
	str	x29, [x0, #96]
	stp	d8, d9, [x0, #104]
	stp	d10, d11, [x0, #120]
	stp	d12, d13, [x0, #136]
	stp	d14, d15, [x0, #152]
	mrs	x9, fpcr
	str	x9, [x0, #168]

	ldp	x19, x20, [x1, #16]
	ldp	x21, x22, [x1, #32]
	ldp	x23, x24, [x1, #48]
	ldp	x25, x26, [x1, #64]
	ldp	x27, x28, [x1, #80]
	ldr	x29, [x1, #96]
	ldp	d8, d9, [x1, #104]
	ldp	d10, d11, [x1, #120]
	ldp	d12, d13, [x1, #136]
	ldp	d14, d15, [x1, #152]
	/* Writing FPCR can be slow; it almost never differs between coroutines. */
	ldr	x9, [x1, #168]
	ldr	x10, [x0, #168]
	cmp	x9, x10
	b.eq	1f
	msr	fpcr, x9
1:	ldr	x9, [x1, #0]
	mov	sp, x9
	ldr	x30, [x1, #8]
	br	x30
	.cfi_endproc
	.size	corio__ctx_switch, .-corio__ctx_switch

	/* First instruction of every new context: x19 = argument, x20 = function. The
	 * function never returns; brk traps if it ever did. */
	.globl	corio__ctx_entry
	.hidden	corio__ctx_entry
	.type	corio__ctx_entry, %function
	.p2align 4
corio__ctx_entry:
	.cfi_startproc
	.cfi_undefined x30
	mov	x29, #0
	mov	x30, #0
	mov	x0, x19
	blr	x20
	brk	#0
	.cfi_endproc
	.size	corio__ctx_entry, .-corio__ctx_entry

	.section .note.GNU-stack, "", %progbits
