/* runtime/core/coro.h: the machine context of a coroutine and the switch between two of them.
 *
 * Owns nothing but the register save area; the stack a context runs on belongs to the
 * task (runtime/core/task.c) and comes from the pool (runtime/core/stack.c). The context
 * struct and the switch are in runtime/core/arch/<cpu>/switch.h: inline asm on x86-64,
 * switch.S on AArch64 (whose header asserts the offsets the assembly uses).
 */
#ifndef CORIO_CORO_H
#define CORIO_CORO_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#include "runtime/core/arch/x86_64/switch.h" /* struct corio__ctx and the inline corio__ctx_switch */
#elif defined(__aarch64__)
#include "runtime/core/arch/aarch64/switch.h" /* struct corio__ctx; corio__ctx_switch is in switch.S */
#else
#error "corio: no context switch for this CPU (runtime/core/arch/ has x86_64 and aarch64 only)"
#endif

/* First instruction of a context that has never run (runtime/core/arch/<cpu>/switch.S). */
void corio__ctx_entry(void);

/* Prepares ctx to run fn(arg) on the stack [lo, lo + size) the first time it is resumed.
 * fn must never return: it ends by switching away for good. */
static inline void corio__ctx_make(corio__ctx *ctx, void *lo, size_t size, void (*fn)(void *),
				   void *arg)
{
	uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;

	*ctx = (corio__ctx){ 0 };
	ctx->sp = (void *)top;
	ctx->pc = (void *)corio__ctx_entry;
#if defined(__x86_64__)
	ctx->r12 = (uint64_t)(uintptr_t)arg;
	ctx->r13 = (uint64_t)(uintptr_t)fn;
	ctx->mxcsr = 0x1f80; /* ABI initial state: all exceptions masked, round to nearest */
	ctx->fpucw = 0x037f; /* x87: extended precision, all exceptions masked */
#else
	ctx->x19_x28[0] = (uint64_t)(uintptr_t)arg;
	ctx->x19_x28[1] = (uint64_t)(uintptr_t)fn;
	ctx->fpcr = 0; /* round to nearest, no traps */
#endif
}

#endif
