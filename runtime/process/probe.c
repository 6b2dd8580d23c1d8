/* runtime/process/probe.c: how this loop's corio_process_wait parks (CORIO_WAIT_*), decided
 * once per loop from the io_uring probe and the kernel's pidfd support, stored by
 * runtime/core/loop.c in corio_capabilities.process_wait. Calls nothing of the core (the
 * core calls it: no call cycle).
 *
 * CORIO_PROCESS_WAIT=waitid|pidfd|pool, read at each loop's setup, asks for a mechanism
 * below the best one the kernel offers (never above it): how the tests run every path
 * on a kernel that has them all. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/process/process_internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static bool has_op(const uint64_t ops[4], unsigned op)
{
	return op < 256 && (ops[op / 64] >> (op % 64)) & 1;
}

/* pidfd_open (5.3): a pidfd for ourselves, closed at once. */
static bool pidfd_works(void)
{
	long fd = syscall(SYS_pidfd_open, (long)getpid(), 0L);

	if (fd < 0)
		return false;
	close((int)fd);
	return true;
}

static unsigned forced(void)
{
	const char *e = getenv("CORIO_PROCESS_WAIT");

	if (!e || !*e)
		return CORIO_WAIT_WAITID;
	if (strcmp(e, "pool") == 0)
		return CORIO_WAIT_POOL;
	if (strcmp(e, "pidfd") == 0)
		return CORIO_WAIT_PIDFD_POLL;
	return CORIO_WAIT_WAITID; /* "waitid", or anything else: the best there is */
}

unsigned corio__process_wait_probe(const uint64_t ops[4])
{
	unsigned best = CORIO_WAIT_POOL, want = forced();

	/* IORING_OP_WAITID (6.7) takes a pidfd (P_PIDFD) like waitid(2). */
	if (has_op(ops, CORIO__OP_WAITID) && pidfd_works())
		best = CORIO_WAIT_WAITID;
	else if (has_op(ops, IORING_OP_POLL_ADD) && pidfd_works())
		best = CORIO_WAIT_PIDFD_POLL;
	return want < best ? want : best;
}
