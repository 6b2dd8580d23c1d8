/* runtime/core/arch/x86_64/switch.h: the coroutine context switch for x86-64 (System V ABI),
 * inline at each call site. Included by runtime/core/coro.h; corio__ctx_entry, where a new
 * context starts, is in switch.S beside this file.
 *
 * What is saved, per the System V AMD64 psABI (1.0), 3.2 "Function Calling Sequence":
 *   - rsp, the resume address, rbp, the MXCSR control bits and the x87 control word are
 *     stored in the context by the asm below;
 *   - rbx, r12-r15 (callee-saved) and every caller-saved register are named as clobbers,
 *     so the compiler itself spills whatever it keeps in them around the switch and only
 *     what is live is saved. rbp is saved by hand because a frame-pointer build may not
 *     name it as a clobber. The x87 and MMX stacks are clobbered too: the asm is not a call,
 *     so the compiler could otherwise keep a long double in st(0) across it.
 *   - r12 and r13 are loaded from the target: a context that has never run starts in
 *     corio__ctx_entry with r12 = argument, r13 = function (corio__ctx_make).
 *
 * Why inline and why `jmp`: a `call` into an out-of-line switch pushes a return-stack
 * predictor entry that no `ret` pops when another stack resumes, and every later return of
 * the resumed coroutine is then predicted one frame off (measured: IORING_OP_NOP through
 * 256 tasks 105 ns/op with an out-of-line switch, 80 ns inline). Resuming with `ret`
 * instead keeps the predictor balanced but mispredicts whenever the two sides switched
 * from different call sites (the raw ping-pong: 11.8 ns against 4.7). Here nothing is
 * called: the other context is entered with an indirect `jmp` the branch target buffer
 * predicts, and it resumes at the local label 1 of its own switch, with the return-stack
 * predictor exactly as its own calls left it.
 *
 * Offsets: the asm takes every field's offset from offsetof() (the "i" operands), and
 * switch.S reads no field, so the struct cannot drift from the code; unlike AArch64's
 * switch.S there are no hand-written offsets to assert.
 *
 * Red zone: the 128 bytes below a suspended rsp may hold the suspended function's data.
 * Nothing writes there while it is suspended: other contexts run on their own stacks and
 * signal handlers on the running one (or the alternate stack).
 */
#ifndef CORIO_ARCH_X86_64_SWITCH_H
#define CORIO_ARCH_X86_64_SWITCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct corio__ctx {
	void *sp;
	void *pc;
	uint64_t rbp, r12, r13;
	uint32_t mxcsr;
	uint16_t fpucw;
} corio__ctx;

#if defined(__AVX512F__)
#define CORIO__SWITCH_AVX512_CLOBBERS                                                        \
	, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",   \
	"xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3",    \
	"k4", "k5", "k6", "k7"
#else
#define CORIO__SWITCH_AVX512_CLOBBERS
#endif

/* Saves the running context into *from and resumes *to. Returns when something switches
 * back to *from. */
static inline __attribute__((always_inline)) void corio__ctx_switch(corio__ctx *from,
								    const corio__ctx *to)
{
	__asm__ volatile(
		"leaq	1f(%%rip), %%rax\n\t"
		"movq	%%rsp, %c[sp](%[from])\n\t"
		"movq	%%rax, %c[pc](%[from])\n\t"
		"movq	%%rbp, %c[rbp](%[from])\n\t"
		"stmxcsr	%c[mxcsr](%[from])\n\t"
		"fnstcw	%c[fpucw](%[from])\n\t"
		"movq	%c[rbp](%[to]), %%rbp\n\t"
		"movq	%c[r12](%[to]), %%r12\n\t"
		"movq	%c[r13](%[to]), %%r13\n\t"
		/* Loaded unconditionally: comparing first (reading back what was just stored)
		 * measured slower. */
		"ldmxcsr	%c[mxcsr](%[to])\n\t"
		"fldcw	%c[fpucw](%[to])\n\t"
		"movq	%c[sp](%[to]), %%rsp\n\t"
		"jmp	*%c[pc](%[to])\n"
		"1:"
		: [from] "+D"(from), [to] "+S"(to)
		: [sp] "i"(offsetof(corio__ctx, sp)), [pc] "i"(offsetof(corio__ctx, pc)),
		  [rbp] "i"(offsetof(corio__ctx, rbp)), [r12] "i"(offsetof(corio__ctx, r12)),
		  [r13] "i"(offsetof(corio__ctx, r13)), [mxcsr] "i"(offsetof(corio__ctx, mxcsr)),
		  [fpucw] "i"(offsetof(corio__ctx, fpucw))
		: "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
		  "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)", "st(2)",
		  "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", "mm0", "mm1", "mm2", "mm3", "mm4",
		  "mm5", "mm6", "mm7", "cc", "memory" CORIO__SWITCH_AVX512_CLOBBERS);
}

#endif
