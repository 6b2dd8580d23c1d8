/* runtime/core/arch/aarch64/switch.h: the coroutine context of AArch64 (AAPCS64) and the
 * declaration of its switch, which is out of line in switch.S beside this file (read that
 * first: what is saved and why). Included by runtime/core/coro.h.
 *
 * switch.S addresses the fields by fixed byte offsets; the asserts below keep this struct
 * and those offsets in step, so a change to one that forgets the other does not compile.
 */
#ifndef CORIO_ARCH_AARCH64_SWITCH_H
#define CORIO_ARCH_AARCH64_SWITCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct corio__ctx {
	void *sp;
	void *pc; /* x30 */
	uint64_t x19_x28[10];
	uint64_t x29;
	uint64_t d8_d15[8];
	uint64_t fpcr;
} corio__ctx;

/* The offsets switch.S uses (its first comment lists them). */
_Static_assert(offsetof(corio__ctx, sp) == 0, "switch.S: sp at 0");
_Static_assert(offsetof(corio__ctx, pc) == 8, "switch.S: x30 at 8");
_Static_assert(offsetof(corio__ctx, x19_x28) == 16, "switch.S: x19-x28 at 16..88");
_Static_assert(offsetof(corio__ctx, x29) == 96, "switch.S: x29 at 96");
_Static_assert(offsetof(corio__ctx, d8_d15) == 104, "switch.S: d8-d15 at 104..160");
_Static_assert(offsetof(corio__ctx, fpcr) == 168, "switch.S: fpcr at 168");
_Static_assert(sizeof(corio__ctx) == 176, "switch.S: the context is 176 bytes");

/* Saves the running context into *from and resumes *to. Returns when something switches
 * back to *from. */
void corio__ctx_switch(corio__ctx *from, const corio__ctx *to);

#endif
