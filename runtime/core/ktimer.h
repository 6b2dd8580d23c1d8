/* runtime/core/ktimer.h: the one kernel-timer primitive (IORING_OP_TIMEOUT) and the one
 * nanoseconds -> struct __kernel_timespec conversion. Every timer of the runtime is built
 * on it: the wait timers of the core's waits (op.c), the shared sleep buckets
 * (runtime/time/sleep.c), the loop's I/O-deadline timer (runtime/time/deadline.c) and the
 * accept back-off (runtime/net/accept.c).
 *
 * Why in core/ and not in time/: the core's own waits arm these timers (a wait under a
 * timeout scope parks with a timer of its own), and core/ must not depend on the folders
 * above it; time/ and net/ use it from here.
 *
 * Ownership: a corio__ktimer is the caller's memory (heap or loop-owned, never a parked
 * task's stack unless that task waits for the CQE) and must stay valid until its CQE is
 * delivered: the kernel reads ts when it consumes the SQE, and the CQE names c. Nothing
 * here parks; a removed or moved timer still delivers one final CQE to c.fn.
 * Kernel gates: IORING_OP_TIMEOUT with IORING_TIMEOUT_ABS 5.5, IORING_TIMEOUT_UPDATE 5.11.
 */
#ifndef CORIO_KTIMER_H
#define CORIO_KTIMER_H

#include <liburing.h>
#include <stdint.h>

#include "runtime/core/completion.h"

typedef struct corio__ktimer {
	corio__completion c;         /* the CQE; c.fn is the owner's: -ETIME when it expired,
				      * -ECANCELED when removed */
	struct __kernel_timespec ts; /* read by the kernel when it consumes the SQE */
} corio__ktimer;

static inline struct __kernel_timespec corio__ts_from_ns(uint64_t ns)
{
	return (struct __kernel_timespec){ .tv_sec = (long long)(ns / 1000000000ull),
					   .tv_nsec = (long long)(ns % 1000000000ull) };
}

/* Prepares sqe (zeroed) as a timer at the absolute CLOCK_MONOTONIC time `at`, with *ts as
 * its timespec: for a timer that is a task's own operation (corio_sleep's, an op the task
 * parks on, ts on its stack). */
void corio__ktimer_prep(struct io_uring_sqe *sqe, struct __kernel_timespec *ts, uint64_t at);

/* Arms k at the absolute CLOCK_MONOTONIC time `at`; its CQE goes to fn. */
void corio__ktimer_at(corio__loop *l, corio__ktimer *k, uint64_t at, corio__complete_fn fn);
/* Arms k to expire ns from now (a relative timer); its CQE goes to fn. */
void corio__ktimer_after(corio__loop *l, corio__ktimer *k, uint64_t ns, corio__complete_fn fn);
/* Moves an armed k to the absolute time `at` (IORING_TIMEOUT_UPDATE): no second timer. */
void corio__ktimer_move(corio__loop *l, corio__ktimer *k, uint64_t at);
/* Removes an armed k (IORING_OP_TIMEOUT_REMOVE). Its CQE still arrives, later. */
void corio__ktimer_remove(corio__loop *l, corio__ktimer *k);

#endif
