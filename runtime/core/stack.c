/* runtime/core/stack.c: coroutine stacks (guarded and packed), the free lists that recycle
 * them, and the SIGSEGV handler that turns a guard-page hit into a clear message. */
#include "runtime/core/stack.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CORIO_HAVE_VALGRIND 1
#endif
#endif

#define DEFAULT_STACK (64u * 1024u)
#define DEFAULT_GUARDED_MAX 4096u
#define SLAB_BYTES (4u * 1024u * 1024u)
#define GUARDED_PER_SLAB 64u

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

__thread uintptr_t corio__guard_lo;
__thread uintptr_t corio__guard_hi;

struct corio__slab {
	corio__slab *next;
	void *base;
	size_t len;
};

static bool guard_markers(size_t page);

void corio__stack_pool_init(corio__stack_pool *p, const corio_config *cfg)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = cfg->stack_size ? cfg->stack_size : DEFAULT_STACK;

	memset(p, 0, sizeof *p);
	if (size < 4 * page)
		size = 4 * page;
	p->page = page;
	p->size = (size + page - 1) & ~(page - 1);
	p->mode = cfg->stack_kind;
	p->guarded_max = cfg->guarded_max ? cfg->guarded_max : DEFAULT_GUARDED_MAX;
	p->markers = p->mode != CORIO_STACK_PACKED && guard_markers(page);
}

/* Free stacks are linked through a node in their top 16 bytes (already resident). */
static void **top_node(void *lo, size_t size)
{
	return (void **)((char *)lo + size - 16);
}

static void *node_lo(void *node, size_t size)
{
	return (char *)node + 16 - size;
}

/* A packed stack gives its top 16 bytes to the canary of the stack above it. */
static size_t usable(const corio__stack_pool *p, uint8_t kind)
{
	return kind == CORIO__STACK_PACKED ? p->size - CORIO__CANARY_BYTES : p->size;
}

/* Whether this kernel installs guard regions without a mapping of their own
 * (MADV_GUARD_INSTALL, 6.13): probed once per process. CORIO_STACK_GUARD=mprotect keeps the
 * older way (one mapping per guarded stack), which the tests use to cover both. */
static bool guard_markers(size_t page)
{
	static int known; /* 0 unknown, 1 yes, -1 no; racing probes agree */
	int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
	const char *env;

	if (!k && (env = getenv("CORIO_STACK_GUARD")) && strcmp(env, "mprotect") == 0)
		k = -1;
	if (!k) {
		void *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		k = -1;
		if (m != MAP_FAILED) {
			if (madvise(m, page, MADV_GUARD_INSTALL) == 0)
				k = 1;
			munmap(m, 2 * page);
		}
	}
	__atomic_store_n(&known, k, __ATOMIC_RELAXED);
	return k > 0;
}

static int slab_add(corio__stack_pool *p, size_t len, char **next, size_t *left)
{
	corio__slab *s = malloc(sizeof *s);
	void *base;

	if (!s)
		return -ENOMEM;
	base = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (base == MAP_FAILED) {
		free(s);
		return -ENOMEM;
	}
	*s = (corio__slab){ .next = p->slabs, .base = base, .len = len };
	p->slabs = s;
	*next = base;
	*left = len;
	return 0;
}

/* With guard markers, guarded stacks are carved from slabs too, each above a marker page:
 * one mapping per 64 stacks instead of two per stack (no vm.max_map_count limit), and one
 * madvise per stack instead of mmap + mprotect + munmap (4096 stacks: 23 -> 10 ms to make,
 * 19 -> 1.6 ms to unmap, measured here). */
static int guarded_from_slab(corio__stack_pool *p, corio__stack *st)
{
	size_t slot = p->page + p->size;
	char *guard;

	if (p->gslab_left < slot &&
	    slab_add(p, slot * GUARDED_PER_SLAB, &p->gslab_next, &p->gslab_left) != 0)
		return -ENOMEM;
	guard = p->gslab_next;
	if (madvise(guard, p->page, MADV_GUARD_INSTALL) != 0)
		return -ENOMEM;
	p->gslab_next += slot;
	p->gslab_left -= slot;
	st->lo = guard + p->page;
	return 0;
}

/* Without: a mapping of its own with a PROT_NONE page below. */
static int guarded_mapping(corio__stack_pool *p, corio__stack *st)
{
	size_t len = p->size + p->page;
	char *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

	if (base == MAP_FAILED)
		return -ENOMEM;
	/* Splits the mapping in two: this is what costs the second vm.max_map_count entry. */
	if (mprotect(base, p->page, PROT_NONE) != 0) {
		munmap(base, len);
		return -ENOMEM;
	}
	st->lo = base + p->page;
	return 0;
}

static int guarded_new(corio__stack_pool *p, corio__stack *st)
{
	return p->markers ? guarded_from_slab(p, st) : guarded_mapping(p, st);
}

static int packed_new(corio__stack_pool *p, corio__stack *st)
{
	if (p->slab_left < p->size) {
		size_t len = p->size * 16 > SLAB_BYTES ? p->size * 16 : SLAB_BYTES;

		if (slab_add(p, len + p->page, &p->slab_next, &p->slab_left) != 0)
			return -ENOMEM;
		/* The first slot's canary is the last 16 bytes of a leading page. */
		p->slab_next += p->page;
		p->slab_left -= p->page;
	}
	st->lo = p->slab_next;
	p->slab_next += p->size;
	p->slab_left -= p->size;
	return 0;
}

static bool want_guarded(const corio__stack_pool *p)
{
	if (p->mode == CORIO_STACK_GUARDED)
		return true;
	if (p->mode == CORIO_STACK_PACKED)
		return false;
	return p->live_guarded < p->guarded_max;
}

/* 1 while MADV_POPULATE_WRITE works (5.14+), 0 once the kernel refused it: per process. */
static int populate_ok = 1;

/* A new stack's top page is written by the task's first run whatever happens: it is made
 * resident here with MADV_POPULATE_WRITE instead of by that first touch. The same page,
 * but a fault trap is what costs on a VM: 12.6 us a first touch against 2.4 us a madvise
 * here, which is most of what 100 000 new tasks cost (bench sleepers). A refusal (before
 * 5.14) leaves the page to its first touch, as before. */
static void populate_top(const corio__stack_pool *p, void *lo, size_t size)
{
	char *top = (char *)lo + size;
	char *page = (char *)((uintptr_t)(top - 1) & ~(uintptr_t)(p->page - 1));

	if (__atomic_load_n(&populate_ok, __ATOMIC_RELAXED) &&
	    madvise(page, (size_t)(top - page), MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
		__atomic_store_n(&populate_ok, 0, __ATOMIC_RELAXED);
}

/* Pops a free stack of the list at *list, NULL when empty. */
static void *pop(void **list)
{
	void *node = *list;

	if (node)
		*list = *(void **)node;
	return node;
}

static int take(corio__stack_pool *p, corio__stack *st, uint8_t kind)
{
	corio__stack_free *f = &p->free[kind - 1];
	void *node = pop(&f->warm);
	int rc;

	if (node) {
		if (--f->nwarm < f->low)
			f->low = f->nwarm;
		st->lo = node_lo(node, usable(p, kind));
		return 0;
	}
	if (f->ncold) { /* no page resident: the top one made so at once, as a new stack's */
		st->lo = node_lo(f->cold[--f->ncold], usable(p, kind));
		populate_top(p, st->lo, usable(p, kind));
		return 0;
	}
	rc = kind == CORIO__STACK_GUARDED ? guarded_new(p, st) : packed_new(p, st);
	if (rc == 0)
		populate_top(p, st->lo, usable(p, kind));
	return rc;
}

int corio__stack_get(corio__stack_pool *p, corio__stack *st)
{
	uint8_t kind = want_guarded(p) ? CORIO__STACK_GUARDED : CORIO__STACK_PACKED;
	int rc = take(p, st, kind);

	/* Out of mappings (vm.max_map_count) for a guarded stack: a packed one still works. */
	if (rc != 0 && kind == CORIO__STACK_GUARDED && p->mode == CORIO_STACK_AUTO) {
		kind = CORIO__STACK_PACKED;
		rc = take(p, st, kind);
	}
	if (rc != 0)
		return rc;
	st->size = usable(p, kind);
	st->kind = kind;
	if (kind == CORIO__STACK_GUARDED) {
		p->live_guarded++;
	} else {
		p->live_packed++;
	}
#ifdef CORIO_HAVE_VALGRIND
	st->vg_id = VALGRIND_STACK_REGISTER(st->lo, (char *)st->lo + st->size);
#endif
	return 0;
}

void corio__stack_put(corio__stack_pool *p, corio__stack *st)
{
	void **node = top_node(st->lo, st->size);
	corio__stack_free *f = &p->free[st->kind - 1];

#ifdef CORIO_HAVE_VALGRIND
	VALGRIND_STACK_DEREGISTER(st->vg_id);
#endif
	if (st->kind == CORIO__STACK_GUARDED)
		p->live_guarded--;
	else
		p->live_packed--;
	*node = f->warm;
	f->warm = node;
	f->nwarm++;
	st->lo = NULL;
}

void corio__stack_release_below(const corio__stack_pool *p, const corio__stack *st,
				const void *below)
{
	uintptr_t mask = ~(uintptr_t)(p->page - 1);
	uintptr_t lo = ((uintptr_t)st->lo + p->page - 1) & mask;
	uintptr_t hi = (uintptr_t)below & mask;

	/* Both ends on page boundaries inside the stack: a packed stack's lowest page holds
	 * nothing of its neighbours (its canary is in the slot below, which is not touched). */
	if (hi > lo && hi <= (uintptr_t)st->lo + st->size)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

bool corio__stack_pool_excess(const corio__stack_pool *p)
{
	return p->free[0].nwarm > CORIO__STACK_WARM_KEEP ||
	       p->free[1].nwarm > CORIO__STACK_WARM_KEEP;
}

/* Room in the cold array for n more; false when it cannot grow (the stacks stay warm). */
static bool cold_reserve(corio__stack_free *f, unsigned n)
{
	unsigned cap = f->coldcap ? f->coldcap : 64;
	void **a;

	if (f->ncold + n <= f->coldcap)
		return true;
	while (cap < f->ncold + n)
		cap *= 2;
	if (!(a = realloc(f->cold, cap * sizeof *a)))
		return false;
	f->cold = a;
	f->coldcap = cap;
	return true;
}

/* The warm list is newest first: the first nwarm - n stay, the n after them (the oldest)
 * give their pages back, top page and link included, and go to the cold array. A slot
 * starts on a page boundary for both kinds; a packed slot's top 16 bytes are the canary
 * of the stack above, which reads zero again, as it must. */
static unsigned trim_kind(corio__stack_pool *p, corio__stack_free *f, uint8_t kind)
{
	unsigned n = f->low > CORIO__STACK_WARM_KEEP ? f->low - CORIO__STACK_WARM_KEEP : 0;
	void **link = &f->warm;

	if (!n || !cold_reserve(f, n)) {
		f->low = f->nwarm; /* a new period starts either way */
		return 0;
	}
	for (unsigned i = n; i < f->nwarm; i++)
		link = (void **)*link;
	for (unsigned i = 0; i < n; i++) {
		void *node = pop(link);

		madvise(node_lo(node, usable(p, kind)), p->size, MADV_DONTNEED);
		f->cold[f->ncold++] = node;
	}
	f->nwarm -= n;
	f->low = f->nwarm;
	return n;
}

unsigned corio__stack_pool_trim(corio__stack_pool *p)
{
	return trim_kind(p, &p->free[0], CORIO__STACK_GUARDED) +
	       trim_kind(p, &p->free[1], CORIO__STACK_PACKED);
}

static void unmap_own(corio__stack_pool *p, void *node)
{
	char *lo = node_lo(node, p->size);

	munmap(lo - p->page, p->size + p->page);
}

void corio__stack_pool_fini(corio__stack_pool *p)
{
	/* Guarded stacks with a mapping of their own; with markers they go with their slabs. */
	for (void *node = p->markers ? NULL : p->free[0].warm; node;) {
		void *next = *(void **)node;

		unmap_own(p, node);
		node = next;
	}
	for (unsigned i = 0; !p->markers && i < p->free[0].ncold; i++)
		unmap_own(p, p->free[0].cold[i]);
	free(p->free[0].cold);
	free(p->free[1].cold);
	while (p->slabs) {
		corio__slab *s = p->slabs;

		p->slabs = s->next;
		munmap(s->base, s->len);
		free(s);
	}
	memset(p, 0, sizeof *p);
}

/* The one message that bypasses the logger (runtime/core/log.c): it is written from the
 * SIGSEGV handler (or just before abort at a broken canary), where only async-signal-safe
 * calls are allowed, so it goes straight to fd 2 with write(2). */
static const char overflow_msg[] = "corio: coroutine stack overflow\n";

void corio__stack_overflow_abort(void)
{
	ssize_t n = write(STDERR_FILENO, overflow_msg, sizeof overflow_msg - 1);

	(void)n;
	abort();
}

static struct sigaction old_segv;
static pthread_once_t segv_once = PTHREAD_ONCE_INIT;

/* Runs on the alternate signal stack: the faulting stack has no room left. Only
 * async-signal-safe calls here. */
static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;

	if (corio__guard_hi && a >= corio__guard_lo && a < corio__guard_hi)
		corio__stack_overflow_abort();
	if (old_segv.sa_flags & SA_SIGINFO) {
		old_segv.sa_sigaction(sig, si, uc);
	} else if (old_segv.sa_handler != SIG_DFL && old_segv.sa_handler != SIG_IGN) {
		old_segv.sa_handler(sig);
	} else {
		/* Not ours: restore the default and let the instruction fault again. */
		signal(SIGSEGV, SIG_DFL);
	}
}

static void install_segv(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
}

#define ALTSTACK_BYTES (64u * 1024u)

void *corio__stack_signals_init(void)
{
	stack_t cur, ss;
	void *mem;

	pthread_once(&segv_once, install_segv);
	if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
		return NULL; /* the thread already has one (ASan installs its own) */
	mem = mmap(NULL, ALTSTACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (mem == MAP_FAILED)
		return NULL;
	ss = (stack_t){ .ss_sp = mem, .ss_size = ALTSTACK_BYTES, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL) != 0) {
		munmap(mem, ALTSTACK_BYTES);
		return NULL;
	}
	return mem;
}

void corio__stack_signals_fini(void *token)
{
	stack_t ss = { .ss_flags = SS_DISABLE };

	if (!token)
		return;
	sigaltstack(&ss, NULL);
	munmap(token, ALTSTACK_BYTES);
}
