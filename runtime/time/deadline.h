/* runtime/time/deadline.h: deadlines for a connection's I/O without a linked timeout on every
 * operation (internal; used by the HTTP client and server for their own idle and total
 * timeouts).
 *
 * A timeout scope gives each blocking operation an IORING_OP_LINK_TIMEOUT: a second
 * SQE and a kernel hrtimer armed and cancelled per call, measured at ~0.8 us here, which
 * is a fifth of an HTTP request's CPU time. A deadline here instead costs a list insert:
 * the loop keeps one kernel timer (IORING_OP_TIMEOUT, absolute) at the earliest armed
 * deadline, and when it fires, the operation of each task whose deadline passed is
 * cancelled (IORING_OP_ASYNC_CANCEL, waiting for its final CQE as always), which the task
 * sees as -ETIMEDOUT. Timeouts that are long and keep moving forward (30 s of idle time
 * from the last byte) therefore cost one timer fire per period for the whole loop.
 *
 * Usage, around one or more blocking calls of the calling task:
 *
 *     corio__deadline d;
 *     corio__deadline_begin(&d, corio_now() + CORIO_SEC(30));
 *     n = corio_recv(fd, buf, len, 0);
 *     n = corio__deadline_end(&d, n);      (-ETIMEDOUT once the deadline passed)
 *
 * A call that completed anyway keeps its result (no byte is lost); the task's following
 * calls before corio__deadline_end return -ECANCELED at once, which end turns into
 * -ETIMEDOUT. corio_cancel of the task still wins: its -ECANCELED stays -ECANCELED.
 * Waits are interrupted too (a multishot receiver's, a lock's, a channel's): the waiter is
 * taken off its queue and returns -ECANCELED, so it consumes no wakeup meant for another.
 */
#ifndef CORIO_DEADLINE_H
#define CORIO_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/util/list.h"

typedef struct corio__deadline {
	uint64_t at;
	struct corio_task *task;
	corio__lnode link;       /* on the loop's armed list */
	bool armed, expired;
} corio__deadline;

/* The time ns from now, saturating at UINT64_MAX, where now is read at most once per loop
 * turn: for deadlines of seconds (idle, header, write), where the microseconds of a turn
 * do not matter and a clock read per request does (the HTTP server reads it twice). */
uint64_t corio__deadline_after(uint64_t ns);

/* Never parks, never fails. Must be ended by the same task before d goes away. */
void corio__deadline_begin(corio__deadline *d, uint64_t at);
/* Disarms d and returns rc, or -ETIMEDOUT when d expired and rc is the -ECANCELED it
 * caused. */
ssize_t corio__deadline_end(corio__deadline *d, ssize_t rc);

#endif
