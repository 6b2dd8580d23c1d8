/* runtime/threads/signal.c: corio_signal_wait, a task's wait for a signal: the set is blocked
 * in the calling thread and read from a signalfd of the call's own through io_uring, and
 * the mask the library's threads start with (runtime/threads/signal.h).
 *
 * One signalfd per call: waits on different sets never steal each other's signals, and a
 * call holds nothing once it returns. The signalfd is O_NONBLOCK on purpose: io_uring then
 * tries the read at once and, on -EAGAIN, waits on the fd's poll queue and retries the read
 * from the submitting thread's task work, so the read dequeues the signals pending for the
 * loop's thread and for the process. A blocking signalfd would be read by an io-wq worker
 * thread instead, which sees only the process's pending signals and ties up a worker. */
#define _GNU_SOURCE
#include "runtime/threads/signal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "runtime/core/op.h"

void corio__signals_for_threads(sigset_t *set)
{
	static const int sync_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS };

	sigfillset(set);
	for (size_t i = 0; i < sizeof sync_signals / sizeof sync_signals[0]; i++)
		sigdelset(set, sync_signals[i]);
}

/* Not empty, and nothing that cannot be caught. */
static bool valid_set(const sigset_t *set)
{
	bool any = false;

	if (sigismember(set, SIGKILL) == 1 || sigismember(set, SIGSTOP) == 1)
		return false;
	for (int s = 1; s < NSIG && !any; s++)
		any = sigismember(set, s) == 1;
	return any;
}

/* One read of a signal record. A completed read is returned even to a cancelled task
 * (corio__op_await gives the real result), so a signal dequeued is never dropped. */
static int read_one(int fd, struct signalfd_siginfo *si)
{
	for (;;) {
		corio__op op;
		int rc;

		io_uring_prep_read(corio__op_sqe(&op), fd, si, sizeof *si, (uint64_t)-1);
		rc = corio__op_await(&op, CORIO__OP_NOFAULT); /* a short read would lose it */
		if (rc != -EAGAIN)
			return rc;
		/* Kernels that hand -EAGAIN back instead of polling: wait for input ourselves. */
		io_uring_prep_poll_add(corio__op_sqe(&op), fd, POLLIN);
		rc = corio__op_await(&op, CORIO__OP_NOFAULT);
		if (rc < 0)
			return rc;
	}
}

int corio_signal_wait(const sigset_t *set, int *signo)
{
	struct signalfd_siginfo si;
	int fd, rc;

	if (!corio_current())
		return -EPERM;
	if (!set || !valid_set(set))
		return -EINVAL;
	/* Blocked first, and left blocked: a signal that comes between two waits stays
	 * pending for the next one instead of taking its default action. */
	if ((rc = pthread_sigmask(SIG_BLOCK, set, NULL)) != 0)
		return -rc;
	if ((fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return -errno;
	rc = read_one(fd, &si);
	close(fd); /* no operation of ours is left on it */
	if (rc < 0)
		return rc;
	if (rc != (int)sizeof si)
		return -EIO;
	if (signo)
		*signo = (int)si.ssi_signo;
	return 0;
}
