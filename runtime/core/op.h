/* runtime/core/op.h: a blocking call's io_uring operation, as seen from the task that waits.
 *
 * Every blocking call in corio is written the same way:
 *
 *     corio__op op;
 *     io_uring_prep_read(corio__op_sqe(&op), fd, buf, len, off);
 *     return corio__op_await(&op, 0);
 *
 * The op lives on the caller's stack; corio__op_await parks the task until the op's final
 * CQE (or an injected fault) is delivered, so buffers the caller passed stay valid for as
 * long as the kernel may touch them, including after a cancellation or a timeout.
 */
#ifndef CORIO_OP_H
#define CORIO_OP_H

#include <string.h>

#include "runtime/core/cancel.h" /* every blocking call's checks; includes task.h */
#include "runtime/core/task.h"

struct corio__op {
	corio__completion c;
	struct corio_task *task;
	int32_t res;
	uint32_t cqe_flags;
	bool done;
	bool cancel_sent;
	uint64_t parked_at; /* corio_tasks_dump: since when (the loop's park_clock), */
	struct io_uring_sqe sqe; /* and on what: opcode and fd */ /* prepared by the caller, copied into the ring on submit */
};

/* Runs even when the task is cancelled or its timeout expired (close and other cleanup). */
#define CORIO__OP_CLEANUP 1u
/* No linked timeout; the operation has its own deadline (corio_sleep). */
#define CORIO__OP_NOLINK 2u
/* Not eligible for fault injection. */
#define CORIO__OP_NOFAULT 4u

/* The SQE to prepare, zeroed. Since liburing 2.6 the prep helpers write only opcode, fd, off,
 * addr and len, and leave flags, ioprio, rw_flags, buf_index, personality, file_index, addr3
 * and pad to io_uring_get_sqe, which clears them in the ring's own SQE. This SQE is a copy on
 * the caller's stack, so nobody clears it but us: without the memset the kernel would receive
 * stack garbage in those fields (-EINVAL, wrong flags, fixed-file lookups...). liburing 2.3
 * wrote all 64 bytes in io_uring_prep_rw; relying on that is what broke on newer headers.
 * `make test-compat` builds against a header with the 2.6 semantics to keep this honest. */
static inline struct io_uring_sqe *corio__op_sqe(corio__op *op)
{
	memset(&op->sqe, 0, sizeof op->sqe);
	return &op->sqe;
}

/* Submits op->sqe and parks until its final completion. Returns cqe->res untouched, or
 * -ECANCELED (task cancelled: before submitting, or the kernel cancelled it), -ETIMEDOUT
 * (the enclosing timeout scope expired), -EPERM (not called from a task). op->cqe_flags
 * holds the CQE flags afterwards. */
int corio__op_await(corio__op *op, unsigned opts);

/* Frees the loop's spare wait timers (loop teardown, runtime/core/run.c). */
void corio__timers_free(corio__loop *l);

#endif
