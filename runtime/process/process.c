/* runtime/process/process.c: what a corio_process offers besides spawn and wait: its pid
 * and pipes (handed out, taken, stdin closed), signals (through the pidfd), and freeing it,
 * which hands a child still running to a reaper thread (runtime/process/reap.c) so that no
 * zombie outlives the process object, nor its loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corio/fs.h> /* corio_close */

#include "runtime/core/log.h"
#include "runtime/process/process_internal.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

pid_t corio_process_pid(const corio_process *p)
{
	return p ? p->pid : -1;
}

static int stream_fd(const corio_process *p, int i)
{
	return p ? p->fds[i] : -1;
}

int corio_process_stdin(const corio_process *p)
{
	return stream_fd(p, 0);
}

int corio_process_stdout(const corio_process *p)
{
	return stream_fd(p, 1);
}

int corio_process_stderr(const corio_process *p)
{
	return stream_fd(p, 2);
}

int corio_process_take_fd(corio_process *p, int stream)
{
	int fd;

	if (!p || stream < 0 || stream > 2)
		return -1;
	fd = p->fds[stream];
	p->fds[stream] = -1;
	return fd;
}

int corio_process_close_stdin(corio_process *p)
{
	int fd = corio_process_take_fd(p, 0);

	return fd < 0 ? -EBADF : corio_close(fd);
}

/* Through the pidfd: once the child is reaped (by anyone) the kernel says -ESRCH, and a
 * recycled pid is never hit. Without one (before 5.2) by pid, which is exact until we reap
 * it: after that we answer -ESRCH ourselves. */
int corio_process_kill(corio_process *p, int sig)
{
	long rc;

	if (!p || sig < 0 || sig >= NSIG)
		return -EINVAL;
	if (p->reaped || p->err)
		return -ESRCH;
	if (p->pidfd >= 0)
		rc = syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0);
	else
		rc = kill(p->pid, sig);
	return rc < 0 ? -errno : 0;
}

/* A child nobody will wait for: reaped now if it already exited, else by a thread of its
 * own when it does. */
static void hand_off(corio_process *p)
{
	siginfo_t si = { 0 };
	int err = 0, rc;

	if (p->reaper) { /* CORIO_WAIT_POOL: its thread reaps it anyway */
		corio__reaper_release(p->reaper);
		return;
	}
	rc = waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG);
	if ((rc == 0 && si.si_pid != 0) || (rc < 0 && errno == ECHILD))
		return;
	corio__reaper_release(corio__reaper_start(p->pid, &err));
	if (err)
		corio__log(CORIO_LOG_WARN, "process %d freed unreaped and no reaper thread: %s",
			   (int)p->pid, strerror(-err));
}

void corio_process_free_kill(corio_process *p, bool kill)
{
	if (!p)
		return;
	for (int i = 0; i < 3; i++)
		if (p->fds[i] >= 0)
			corio_close(p->fds[i]);
	if (!p->reaped && !p->err) {
		if (kill)
			corio_process_kill(p, SIGKILL);
		hand_off(p);
	} else {
		corio__reaper_release(p->reaper);
	}
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p);
}

void corio_process_free(corio_process *p)
{
	corio_process_free_kill(p, false);
}
