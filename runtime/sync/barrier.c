/* runtime/sync/barrier.c: corio_barrier, like asyncio.Barrier: parties tasks meet, the last
 * to arrive releases the others, and the barrier starts its next round (cyclic); abort
 * breaks it (every waiter, parked or later, gets -EPIPE) until reset.
 *
 * Arrival indices are given at the release, not at arrival: a waiter that is cancelled or
 * times out leaves the round (the waitq's counted park takes it off the queue and out of
 * b->waiting at once), so indices taken at arrival could repeat. At the release the parked
 * waiters, in arrival order, get 0, 1, ... and the releasing task parties - 1: each round's
 * indices are a permutation of 0 .. parties-1.
 *
 * Invariant: b->waiting is the number of tasks on b->q, always below parties. */
#include <errno.h>
#include <limits.h>

#include "runtime/sync/waitq.h"

int corio_barrier_init(corio_barrier *b, size_t parties)
{
	/* Above INT_MAX an arrival index could not be returned. */
	if (!b || parties == 0 || parties > INT_MAX)
		return -EINVAL;
	corio__waitq_init(&b->q);
	b->parties = parties;
	b->waiting = 0;
	b->round = 0;
	b->broken = false;
	return 0;
}

/* The last arrival: hands every parked waiter its index and starts the next round. */
static int release(corio_barrier *b)
{
	struct corio__waiter *wt;
	int i = 0;

	while ((wt = corio__waitq_pop(&b->q)))
		corio__waiter_wake(wt, i++);
	b->waiting = 0;
	b->round++;
	return i;
}

int corio_barrier_wait(corio_barrier *b)
{
	struct corio__waiter wt;
	int rc;

	if (!b || b->parties == 0) /* parties 0: never initialised */
		return -EINVAL;
	if ((rc = corio__wait_check()) != 0)
		return rc;
	if (b->broken)
		return -EPIPE;
	if (b->waiting + 1 == b->parties)
		return release(b);
	/* 0 .. parties-2 from release, or -EPIPE (abort, reset), -ECANCELED, -ETIMEDOUT, with
	 * b->waiting already corrected. */
	return corio__waitq_park_counted(&b->q, &wt, &b->waiting, "barrier", b);
}

int corio_barrier_abort(corio_barrier *b)
{
	if (!b)
		return -EINVAL;
	b->broken = true;
	corio__waitq_wake_all(&b->q, -EPIPE);
	b->waiting = 0;
	return 0;
}

int corio_barrier_reset(corio_barrier *b)
{
	if (!b)
		return -EINVAL;
	corio__waitq_wake_all(&b->q, -EPIPE);
	b->waiting = 0;
	b->broken = false;
	b->round++;
	return 0;
}

size_t corio_barrier_waiting(const corio_barrier *b)
{
	return b ? b->waiting : 0;
}

bool corio_barrier_broken(const corio_barrier *b)
{
	return b && b->broken;
}
