/* runtime/core/close.c: corio_close, for files and sockets alike, and the table of
 * before-close hooks the layers above register (runtime/core/close.h says who registers
 * what). corio_close parks inside a task (IORING_OP_CLOSE, or its close_direct form for a
 * registered slot) and is a plain close(2) outside one; it always runs, even in a cancelled
 * task. */
#include <errno.h>
#include <unistd.h>

#include <corio/fs.h> /* CORIO_FD_FIXED_BIT */

#include "runtime/core/close.h"
#include "runtime/core/op.h"

/* Written once per slot by a CAS, read on every close: a slot never changes once set. */
static corio__close_hook hooks[CORIO__CLOSE_HOOKS_MAX];

int corio__close_hook_add(corio__close_hook hook)
{
	for (int i = 0; i < CORIO__CLOSE_HOOKS_MAX; i++) {
		corio__close_hook seen = NULL;

		if (__atomic_compare_exchange_n(&hooks[i], &seen, hook, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE) ||
		    seen == hook)
			return 0;
	}
	return -ENOSPC;
}

static void run_hooks(int fd)
{
	for (int i = 0; i < CORIO__CLOSE_HOOKS_MAX; i++) {
		corio__close_hook h = __atomic_load_n(&hooks[i], __ATOMIC_ACQUIRE);

		if (!h)
			break; /* slots fill in order and are never emptied */
		h(fd);
	}
}

int corio_close(int fd)
{
	corio__loop *l = corio__loop_get();
	corio__op op;

	run_hooks(fd);
	if (fd >= 0 && (fd & CORIO_FD_FIXED_BIT)) {
		io_uring_prep_close_direct(corio__op_sqe(&op),
					   (unsigned)(fd & ~CORIO_FD_FIXED_BIT));
	} else {
		/* Outside a task (cleanup after corio_run) a plain close(2) rather than -EPERM
		 * and a leaked descriptor. */
		if (!l || !l->current)
			return close(fd) == 0 ? 0 : -errno;
		io_uring_prep_close(corio__op_sqe(&op), fd);
	}
	/* CLEANUP: runs in a cancelled task and past a deadline, never cancelled itself, so
	 * cleanup code cannot leak the descriptor. */
	return corio__op_await(&op, CORIO__OP_CLEANUP);
}
