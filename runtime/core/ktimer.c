/* runtime/core/ktimer.c: arming, moving and removing kernel timers (IORING_OP_TIMEOUT); the
 * why and the lifetime rules are in ktimer.h. Every SQE goes through corio__submit, never
 * eligible for fault injection: a timer is the runtime's own bookkeeping, not the caller's
 * I/O. Never parks. */
#include "runtime/core/ktimer.h"

#include <string.h>

#include "runtime/core/loop.h"

void corio__ktimer_prep(struct io_uring_sqe *sqe, struct __kernel_timespec *ts, uint64_t at)
{
	*ts = corio__ts_from_ns(at);
	io_uring_prep_timeout(sqe, ts, 0, IORING_TIMEOUT_ABS);
}

static void arm(corio__loop *l, corio__ktimer *k, uint64_t ns, unsigned flags,
		corio__complete_fn fn)
{
	struct io_uring_sqe sqe;

	k->c = (corio__completion){ .fn = fn };
	k->ts = corio__ts_from_ns(ns);
	memset(&sqe, 0, sizeof sqe);
	io_uring_prep_timeout(&sqe, &k->ts, 0, flags);
	corio__submit(l, &sqe, &k->c, NULL, false);
}

void corio__ktimer_at(corio__loop *l, corio__ktimer *k, uint64_t at, corio__complete_fn fn)
{
	arm(l, k, at, IORING_TIMEOUT_ABS, fn);
}

void corio__ktimer_after(corio__loop *l, corio__ktimer *k, uint64_t ns, corio__complete_fn fn)
{
	arm(l, k, ns, 0, fn);
}

void corio__ktimer_move(corio__loop *l, corio__ktimer *k, uint64_t at)
{
	struct io_uring_sqe sqe;

	k->ts = corio__ts_from_ns(at);
	memset(&sqe, 0, sizeof sqe);
	io_uring_prep_timeout_update(&sqe, &k->ts, (uint64_t)(uintptr_t)&k->c, IORING_TIMEOUT_ABS);
	corio__submit(l, &sqe, NULL, NULL, false);
}

void corio__ktimer_remove(corio__loop *l, corio__ktimer *k)
{
	struct io_uring_sqe sqe;

	memset(&sqe, 0, sizeof sqe);
	io_uring_prep_timeout_remove(&sqe, (uint64_t)(uintptr_t)&k->c, 0);
	corio__submit(l, &sqe, NULL, NULL, false);
}
