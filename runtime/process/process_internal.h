/* runtime/process/process_internal.h: the subprocess object shared by the files of
 * runtime/process/ (spawn.c starts it, wait.c waits for it, process.c signals, hands out its
 * pipes and frees it, reap.c reaps it from a thread of its own when the loop cannot), and
 * the reaper those threads run. Private to this folder (tests are white-box). */
#ifndef CORIO_PROCESS_INTERNAL_H
#define CORIO_PROCESS_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include <corio/process.h>

#include "runtime/core/op.h"

/* IORING_OP_WAITID (6.7). liburing 2.3's header predates it: the opcode is the kernel
 * uapi's, and the SQE is filled by hand (wait.c), only when the probe listed it. */
#define CORIO__OP_WAITID 50u

/* A thread that waits for one child with a blocking waitid and reaps it (reap.c): the
 * wait of CORIO_WAIT_POOL, and the reaping of a child freed before it was waited for. Shared
 * by the thread, the corio_process (until freed) and a message on its way to a loop, each
 * holding a reference; every field below `lock` is read and written under it. */
typedef struct corio__reaper corio__reaper;

struct corio_process {
	pid_t pid;
	int pidfd;           /* -1 without one (kernel before 5.2) */
	int fds[3];          /* the parent's pipe ends, -1 when not piped, taken or closed */
	unsigned wait_mode;  /* CORIO_WAIT_*: the loop's choice, POOL without a pidfd */
	bool reaped;         /* status is final */
	int status;          /* waitpid(2) form, once reaped */
	int err;             /* sticky wait failure (-ECHILD: someone else reaped it) */
	corio__reaper *reaper; /* CORIO_WAIT_POOL: started at the first wait */
};

/* Starts the reaper thread for pid (the caller promises it is our unreaped child): NULL
 * with a negative errno in *err when no thread could be started (-EAGAIN, -ENOMEM). Holds
 * one reference for the caller. Never parks. */
corio__reaper *corio__reaper_start(pid_t pid, int *err);
/* Parks the running task until the reaper reaped the child: 0 with its status in
 * *status, -ECHILD (stolen), -ECANCELED / -ETIMEDOUT (the reaper keeps waiting; call
 * again), -ENOMEM (no mailbox). */
int corio__reaper_wait(corio__reaper *r, int *status);
/* Drops the caller's reference; the thread still reaps the child. Never parks. */
void corio__reaper_release(corio__reaper *r);

/* The waitpid(2) status from what waitid stores in a siginfo_t (si_code, si_status). */
static inline int corio__process_status(int code, int st)
{
	switch (code) {
	case CLD_EXITED:
		return (st & 0xff) << 8;
	case CLD_DUMPED:
		return (st & 0x7f) | 0x80;
	default: /* CLD_KILLED: WEXITED reports no stop or continue */
		return st & 0x7f;
	}
}

#endif
