/* runtime/time/sleep.c: corio_sleep and corio_sleep_until on kernel timers (IORING_OP_TIMEOUT,
 * absolute), shared by the sleeps that end together.
 *
 * A sleep's deadline is rounded up to a grid: the largest power of two not above a
 * thousandth of the sleep, at most 65.5 us (Linux gives nanosleep 50 us of slack by
 * default for the same reason). Sleeps of one loop whose rounded deadlines are equal share
 * one kernel timer, a "bucket": a burst of 100 000 tasks sleeping 1 s arms about 3 000
 * timers instead of 100 000, and their wake-ups come as one CQE per bucket. A sleep never
 * ends early. Sleeps inside a timeout scope, short ones (under ~1 ms, whose grid would be
 * under 1 us: exact instead) and sleeps while fault injection is on keep a timer of their
 * own, as every other operation does.
 *
 * Ownership: a bucket belongs to the loop from its submission until its CQE (the kernel
 * holds its timespec); its members are on the sleeping tasks' stacks and leave it when
 * woken or cancelled. */
#include <errno.h>
#include <stdlib.h>

#include "runtime/core/ktimer.h"
#include "runtime/core/op.h"

typedef struct sleeper sleeper;

struct corio__sleep_bucket {
	corio__ktimer k;
	uint64_t at;
	corio__list members;              /* sleeper, in arrival order */
	corio__loop *loop;
	bool fired;                       /* its CQE came: no new members */
	struct corio__sleep_bucket *next_free;
};

struct sleeper {
	corio__wait w;
	corio__lnode link;                /* on b->members */
	corio__sleep_bucket *b;           /* NULL once off it */
};

#define MAX_GRID 65536u
#define MIN_GRID 1024u /* below (sleeps under ~1 ms) the deadline is kept exact */

static uint64_t grid_for(uint64_t duration)
{
	uint64_t g = duration / 1024;

	if (g > MAX_GRID)
		g = MAX_GRID;
	return g < MIN_GRID ? 0 : 1ull << (63 - __builtin_clzll(g));
}

static unsigned slot_of(uint64_t at)
{
	return (unsigned)((at * 0x9E3779B97F4A7C15ull) >> 60) % CORIO__SLEEP_SLOTS;
}

static void member_remove(sleeper *s)
{
	corio__list_remove(&s->b->members, &s->link);
	s->b = NULL;
}

/* Cancelled or timed out while parked (corio__wait's unlink). */
static void member_unlink(corio__wait *w)
{
	sleeper *s = w->data;

	if (s->b)
		member_remove(s);
}

static void sleep_free(corio__loop *l);

static void bucket_fired(corio__completion *c, int32_t res, uint32_t flags)
{
	corio__sleep_bucket *b = CORIO__CONTAINER_OF(c, corio__sleep_bucket, k.c);
	corio__loop *l = b->loop;
	unsigned k = slot_of(b->at);

	(void)flags;
	b->fired = true;
	if (l->sleep_slots[k] == b)
		l->sleep_slots[k] = NULL;
	while (b->members.head) {
		sleeper *s = CORIO__CONTAINER_OF(b->members.head, sleeper, link);

		member_remove(s);
		corio__wait_wake(&s->w, res == -ETIME ? 0 : res);
	}
	b->next_free = l->free_buckets;
	l->free_buckets = b;
}

/* The open bucket for deadline at, made and armed if there is none. NULL: no memory. */
static corio__sleep_bucket *bucket_for(corio__loop *l, uint64_t at)
{
	unsigned k = slot_of(at);
	corio__sleep_bucket *b = l->sleep_slots[k];

	if (b && b->at == at)
		return b;
	if ((b = l->free_buckets))
		l->free_buckets = b->next_free;
	else if (!(b = malloc(sizeof *b)))
		return NULL;
	else
		corio__loop_on_fini(l, &l->sleep_fini, sleep_free); /* the spares are freed with the loop */
	*b = (corio__sleep_bucket){ .at = at, .loop = l };
	corio__ktimer_at(l, &b->k, at, bucket_fired);
	l->sleep_slots[k] = b; /* replaces an older bucket in the slot: that one still fires */
	return b;
}

/* Parks t in the bucket of its rounded deadline. 0, -ECANCELED, or 1 when no bucket
 * could be had (the caller falls back to a timer of its own). */
static int sleep_shared(corio__loop *l, struct corio_task *t, uint64_t at)
{
	corio__sleep_bucket *b = bucket_for(l, at);
	sleeper s = { .w = { .task = t, .unlink = member_unlink, .what = "sleep" } };

	if (!b)
		return 1;
	s.w.data = &s;
	s.b = b;
	corio__list_push_back(&b->members, &s.link);
	return corio__wait_park(&s.w);
}

/* A timer of its own for the nearer of the sleep's and the scope's deadlines. */
static int sleep_own(struct corio_task *t, uint64_t when, uint64_t scope)
{
	uint64_t until = scope < when ? scope : when;
	struct __kernel_timespec ts;
	corio__op op;
	int rc;

	corio__ktimer_prep(corio__op_sqe(&op), &ts, until);
	rc = corio__op_await(&op, CORIO__OP_NOLINK);
	if (rc == -ETIME)
		return until < when ? corio__cancel_timed_out(t, until) : 0;
	return rc;
}

/* The sleep until when, given the clock read once by the caller. A sleep of a positive length
 * always goes to the kernel, however late its task runs: corio_sleep(ns) computes when from
 * the same reading (now + ns > now), so whether it submits a timer never depends on how much
 * time passed between two clock reads (the fault injector keys on the operation count, so a
 * replayed seed must see the same operations). */
static int sleep_at(uint64_t when, uint64_t now)
{
	corio__loop *l = corio__loop_get();
	struct corio_task *t = l ? l->current : NULL;
	uint64_t scope, grid;
	int rc;

	if (!t)
		return -EPERM;
	/* NOINTR: an interrupted task's sleep fails once it parks, not before (a sleep that
	 * is due only yields). */
	rc = corio__cancel_check(t, CORIO__CHECK_NOINTR, &scope);
	if (rc != 0)
		return rc;
	if (when <= now) {
		corio_yield();
		return 0;
	}
	grid = grid_for(when - now);
	if (scope != UINT64_MAX || l->faults.nrules || !grid || when > UINT64_MAX - grid)
		return sleep_own(t, when, scope);
	rc = sleep_shared(l, t, (when + grid - 1) & ~(grid - 1));
	return rc == 1 ? sleep_own(t, when, scope) : rc;
}

int corio_sleep_until(uint64_t when)
{
	return sleep_at(when, corio_now());
}

int corio_sleep(uint64_t ns)
{
	uint64_t now = corio_now();

	/* sleep(0) yields: sleep_at does that for a deadline already reached. */
	return sleep_at(ns > UINT64_MAX - now ? UINT64_MAX : now + ns, now);
}

/* The loop's teardown hook (registered with the first bucket): frees the spares. */
static void sleep_free(corio__loop *l)
{
	while (l->free_buckets) {
		corio__sleep_bucket *b = l->free_buckets;

		l->free_buckets = b->next_free;
		free(b);
	}
}
