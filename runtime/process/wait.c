/* runtime/process/wait.c: corio_process_wait, by the mechanism the process was given at
 * spawn (the loop's corio_capabilities.process_wait, runtime/process/probe.c):
 *   - CORIO_WAIT_WAITID: one IORING_OP_WAITID on the pidfd (6.7), SQE filled by hand;
 *   - CORIO_WAIT_PIDFD_POLL: IORING_OP_POLL_ADD on the pidfd (readable once the child
 *     exited, 5.3), then a waitid(WNOHANG) that reaps without blocking;
 *   - CORIO_WAIT_POOL: a reaper thread's blocking waitid (runtime/process/reap.c).
 * All three park, and a cancelled or timed-out wait leaves the child unreaped: the io_uring
 * waitid and poll are cancelled before they reap, the reaper thread keeps waiting. The
 * status is kept once known; a child reaped by someone else gives -ECHILD, for good. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/wait.h>

#include "runtime/process/process_internal.h"

/* The fields are the kernel's (io_uring/waitid.c): fd the id, len the idtype, file_index
 * the options, addr2 the siginfo; addr, buf_index, addr3 and the op flags must be 0, which
 * corio__op_sqe's memset guarantees. */
static int wait_uring_waitid(corio_process *p, siginfo_t *si)
{
	corio__op op;
	struct io_uring_sqe *sqe = corio__op_sqe(&op);

	sqe->opcode = CORIO__OP_WAITID;
	sqe->fd = p->pidfd;
	sqe->len = P_PIDFD;
	sqe->file_index = WEXITED;
	sqe->addr2 = (uint64_t)(uintptr_t)si;
	/* No fault injection: a wait has nothing to shorten, and a made-up failure would
	 * read as a lost child. */
	return corio__op_await(&op, CORIO__OP_NOFAULT);
}

/* Reaps the child if it exited: 1 (si filled), 0 (still running), or -errno. P_PID is
 * exact here: the pid cannot be reused while the child is unreaped, and only we reap. */
static int try_reap(corio_process *p, siginfo_t *si)
{
	memset(si, 0, sizeof *si);
	if (waitid(P_PID, (id_t)p->pid, si, WEXITED | WNOHANG) < 0)
		return -errno;
	return si->si_pid != 0;
}

static int wait_pidfd_poll(corio_process *p, siginfo_t *si)
{
	for (;;) {
		corio__op op;
		int rc = try_reap(p, si);

		if (rc != 0)
			return rc < 0 ? rc : 0;
		io_uring_prep_poll_add(corio__op_sqe(&op), p->pidfd, POLLIN);
		rc = corio__op_await(&op, CORIO__OP_NOFAULT);
		if (rc < 0)
			return rc;
	}
}

static int wait_pool(corio_process *p, int *status)
{
	if (!p->reaper) {
		int err;

		p->reaper = corio__reaper_start(p->pid, &err);
		if (!p->reaper)
			return err;
	}
	return corio__reaper_wait(p->reaper, status);
}

/* Records how the wait ended: a status for good, -ECHILD for good, anything else (a
 * cancellation, a timeout) for this call only. */
static int settle(corio_process *p, int rc, int status)
{
	if (rc == 0) {
		p->reaped = true;
		p->status = status;
	} else if (rc == -ECHILD) {
		p->err = rc;
	}
	return rc;
}

int corio_process_wait(corio_process *p, int *status)
{
	siginfo_t si;
	int rc, st = 0;

	if (!p)
		return -EINVAL;
	if (!p->reaped && !p->err) {
		if (!corio_current())
			return -EPERM;
		if (p->wait_mode == CORIO_WAIT_POOL) {
			rc = wait_pool(p, &st);
		} else {
			memset(&si, 0, sizeof si);
			rc = p->wait_mode == CORIO_WAIT_WAITID ? wait_uring_waitid(p, &si)
							       : wait_pidfd_poll(p, &si);
			if (rc == 0)
				st = corio__process_status(si.si_code, si.si_status);
		}
		settle(p, rc, st);
		if (rc != 0)
			return rc;
	}
	if (p->err)
		return p->err;
	if (status)
		*status = p->status;
	return 0;
}
