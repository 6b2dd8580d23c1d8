/* runtime/process/reap.c: reaper threads: one detached thread per child that blocks in
 * waitid(P_PID, WEXITED) until the child exits and reaps it. Used for the wait of
 * CORIO_WAIT_POOL (no pidfd: nothing io_uring could wait on) and for a child freed before
 * it was waited for, which must not stay a zombie after its loop has ended.
 *
 * Why a thread of its own and not corio_blocking: a pool job cannot be abandoned (the
 * caller waits for it even when cancelled), and a cancelled corio_process_wait must
 * return at once and leave the child waitable. Here the task parks on a corio__wait it can
 * leave; the thread keeps waiting and, when it has reaped the child, posts a message to
 * the loop of whichever task waits then (its mailbox, as pool results do). The thread
 * holds no descriptor, so it outlives its loop without showing in /proc/self/fd.
 *
 * References: the thread, the corio_process (until freed) and a posted message each hold
 * one; the last to drop it frees the reaper. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "runtime/process/process_internal.h"
#include "runtime/threads/signal.h"

#define REAPER_STACK (256u * 1024u) /* waitid needs little; sanitizer runtimes more */

struct corio__reaper {
	corio__msg msg; /* first: the mailbox hands it back as a corio__msg */
	pthread_mutex_t lock;
	pid_t pid;
	int refs;
	bool exited;    /* the thread reaped it (or found it gone: err) */
	int status, err;
	corio__loop *loop; /* of the task parked in corio__reaper_wait, NULL when none */
	corio__wait *w;
	bool posted;    /* msg is queued on loop: it decrements loop->external */
};

static void unref(corio__reaper *r)
{
	int left;

	pthread_mutex_lock(&r->lock);
	left = --r->refs;
	pthread_mutex_unlock(&r->lock);
	if (left == 0) {
		pthread_mutex_destroy(&r->lock);
		free(r);
	}
}

/* On the waiting task's loop: wakes it (if it still waits) and settles the count of
 * outside work the loop was told to expect. */
static void msg_run(corio__loop *l, corio__msg *m)
{
	corio__reaper *r = (corio__reaper *)m;
	corio__wait *w;

	pthread_mutex_lock(&r->lock);
	r->posted = false;
	w = r->w;
	r->w = NULL;
	r->loop = NULL;
	pthread_mutex_unlock(&r->lock);
	l->external--;
	if (w)
		corio__wait_wake(w, 0);
	unref(r);
}

static void msg_drop(corio__msg *m)
{
	unref((corio__reaper *)m); /* the loop ended first: nobody waits any more */
}

static void *reaper_main(void *arg)
{
	corio__reaper *r = arg;
	siginfo_t si = { 0 };
	int rc;

	do
		rc = waitid(P_PID, (id_t)r->pid, &si, WEXITED);
	while (rc < 0 && errno == EINTR);
	pthread_mutex_lock(&r->lock);
	r->exited = true;
	r->err = rc < 0 ? -errno : 0;
	r->status = rc < 0 ? 0 : corio__process_status(si.si_code, si.si_status);
	if (r->loop) {
		/* The thread's reference goes with the message; the loop stays up for it
		 * (loop->external counts it). */
		r->posted = true;
		pthread_mutex_unlock(&r->lock);
		corio__mailbox_post(r->loop, &r->msg);
		return NULL;
	}
	pthread_mutex_unlock(&r->lock);
	unref(r);
	return NULL;
}

corio__reaper *corio__reaper_start(pid_t pid, int *err)
{
	corio__reaper *r = calloc(1, sizeof *r);
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t th;
	int rc;

	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->pid = pid;
	r->refs = 2;
	r->msg.run = msg_run;
	r->msg.drop = msg_drop;
	/* Like the library's other threads: process-directed signals never land here. */
	corio__signals_for_threads(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, REAPER_STACK);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&th, &attr, reaper_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		*err = -rc;
		return NULL;
	}
	return r;
}

/* The wait's unlink: the task leaves (cancelled, timed out) while the thread still waits.
 * A message already posted settles loop->external itself and finds no waiter. */
static void wait_unlink(corio__wait *w)
{
	corio__reaper *r = w->data;
	corio__loop *l = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->w == w) {
		r->w = NULL;
		if (!r->posted) {
			l = r->loop;
			r->loop = NULL;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (l)
		l->external--;
}

static int reaper_result(corio__reaper *r, int *status)
{
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = r->err;
	if (rc == 0 && status)
		*status = r->status;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int corio__reaper_wait(corio__reaper *r, int *status)
{
	corio__loop *l = corio__loop_get();
	corio__wait w = { .task = l ? l->current : NULL, .unlink = wait_unlink, .data = r,
			  .what = "process reaper", .obj = r };
	int rc;

	if (!w.task)
		return -EPERM;
	if (corio__task_cancel_due(w.task))
		return -ECANCELED;
	/* The mailbox's eventfd read is what wakes a loop that sleeps in the kernel. */
	if ((rc = corio__mailbox_arm(l)) != 0)
		return rc;
	pthread_mutex_lock(&r->lock);
	if (r->exited) {
		pthread_mutex_unlock(&r->lock);
		return reaper_result(r, status);
	}
	r->loop = l;
	r->w = &w;
	l->external++;
	pthread_mutex_unlock(&r->lock);
	rc = corio__wait_park(&w);
	return rc != 0 ? rc : reaper_result(r, status);
}

void corio__reaper_release(corio__reaper *r)
{
	if (r)
		unref(r);
}
