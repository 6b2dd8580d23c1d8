/* runtime/core/stack.h: the coroutine stack pool.
 *
 * Owns every stack mapping of a loop. Two kinds: guarded (an inaccessible page below: an
 * overflow faults at once and the SIGSEGV handler names it) and packed (carved from 4 MiB
 * slabs, no guard, a canary below the bottom checked at every switch). Where the kernel has
 * MADV_GUARD_INSTALL (6.13) guarded stacks share slabs with a guard marker each; elsewhere
 * each is a mapping of its own with a PROT_NONE page, two entries of vm.max_map_count
 * (65530 by default). Either way AUTO mode gives guarded stacks up to a limit and packed
 * ones beyond it, and falls back to packed when a mapping fails: a spawn never fails for
 * lack of mappings. Released stacks are kept on free lists and reused; everything is
 * unmapped when the loop ends.
 *
 * Memory after a burst: a released stack keeps the pages its task touched ("warm": the next
 * task on it takes no fault). Warm stacks that nobody needed for a whole trim period
 * beyond CORIO__STACK_WARM_KEEP per kind are released whole ("cold", their pages given
 * back) by corio__stack_pool_trim, which the loop calls when it is about to sleep
 * (loop.c). So 5 000 connections come and gone leave 64 warm stacks, not 5 000, and a
 * steady load that reuses its stacks never pays a trim.
 */
#ifndef CORIO_STACK_H
#define CORIO_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/runtime.h>

enum { CORIO__STACK_GUARDED = 1, CORIO__STACK_PACKED = 2 };

typedef struct corio__stack {
	void *lo;        /* lowest usable byte (just above the guard page, or the canary) */
	size_t size;     /* usable bytes */
	uint8_t kind;
	unsigned vg_id;  /* valgrind stack id */
} corio__stack;

typedef struct corio__slab corio__slab;

/* Free stacks of one kind. Warm ones are linked through their top words (resident: their
 * task wrote them) and taken first; cold ones hold no page, so they are listed in an array
 * of their top words' addresses. */
typedef struct corio__stack_free {
	void *warm;
	void **cold;
	unsigned ncold, coldcap;
	unsigned nwarm;
	unsigned low;            /* the fewest warm ones since the last trim: never needed */
} corio__stack_free;

#define CORIO__STACK_WARM_KEEP 64u /* warm stacks per kind a trim never touches */

typedef struct corio__stack_pool {
	size_t size;             /* usable bytes per stack */
	size_t page;
	corio_stack_kind mode;
	unsigned guarded_max;
	uint64_t live_guarded, live_packed;
	corio__stack_free free[2]; /* [kind - 1] */
	corio__slab *slabs;      /* slabs (packed stacks; guarded ones too with markers) */
	char *slab_next;         /* unused part of the newest packed slab */
	size_t slab_left;
	bool markers;            /* guarded stacks come from slabs with MADV_GUARD_INSTALL */
	char *gslab_next;        /* unused part of the newest guarded slab */
	size_t gslab_left;
} corio__stack_pool;

void corio__stack_pool_init(corio__stack_pool *p, const corio_config *cfg);
void corio__stack_pool_fini(corio__stack_pool *p);
/* 0 or -ENOMEM. */
int corio__stack_get(corio__stack_pool *p, corio__stack *st);
void corio__stack_put(corio__stack_pool *p, corio__stack *st);
/* Whether a trim would release anything: warm stacks beyond CORIO__STACK_WARM_KEEP. */
bool corio__stack_pool_excess(const corio__stack_pool *p);
/* Trims the warm stacks no task took since the previous call (beyond the ones kept),
 * oldest first: one madvise(MADV_DONTNEED) each. Returns how many. Never parks. */
unsigned corio__stack_pool_trim(corio__stack_pool *p);
/* Releases the pages of st strictly below below (the running task's frames are above):
 * they read as zero when touched again. One madvise; no effect when nothing is whole. */
void corio__stack_release_below(const corio__stack_pool *p, const corio__stack *st,
				const void *below);
/* False when a packed stack's canary was overwritten. The canary is the 16 bytes just
 * below the stack's lowest usable byte, staying zero: the first thing an overflow writes.
 * Packed stacks sit back to back, so these bytes are the top 16 of the slot below (kept
 * out of that stack's usable size), on the page where the stack below keeps its first
 * frames: resident as soon as that stack ran. Reading the canary then costs neither a page
 * fault nor memory, where a canary on the stack's own bottom page would cost a fault per
 * task (and a written value, a resident page per task). No frame of a stack that has not
 * overflowed reaches these bytes, so a reused stack keeps them zero. Inline: it runs at
 * every switch. */
#define CORIO__CANARY_BYTES 16u

static inline bool corio__stack_canary_ok(const corio__stack *st)
{
	const volatile uint64_t *w = (const volatile uint64_t *)st->lo - 2;

	return st->kind != CORIO__STACK_PACKED || (w[0] | w[1]) == 0;
}
/* Aborts with "corio: coroutine stack overflow" (canary found broken at a switch). */
void corio__stack_overflow_abort(void) __attribute__((noreturn));

/* Installs the SIGSEGV handler (once per process) and an alternate signal stack for this
 * thread if it has none. Returns a token for corio__stack_signals_fini. */
void *corio__stack_signals_init(void);
void corio__stack_signals_fini(void *token);

/* The bounds of the guard page of the stack the current thread's task runs on, kept up to
 * date by the scheduler so the signal handler can tell an overflow from another fault. */
extern __thread uintptr_t corio__guard_lo __attribute__((tls_model("initial-exec")));
extern __thread uintptr_t corio__guard_hi __attribute__((tls_model("initial-exec")));

#endif
