/* runtime/blocking.c: corio_blocking, asyncio.to_thread: a thread pool shared by the
 * process runs blocking functions; the caller's task parks and its loop is woken through
 * its mailbox (an eventfd read on the ring), never by polling. The job lives on the
 * caller's stack: the caller always waits until the function has finished, even when it
 * is cancelled, so nothing is left pointing into a dead frame. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "op.h"

#define IDLE_EXIT_SEC 5

typedef struct job {
	corio__msg msg;
	corio_fn fn;
	void *arg;
	void *result;
	corio__loop *loop;
	corio__wait w;
	bool done;
	struct job *next;
} job;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	job *head, *tail;
	unsigned queued;    /* jobs waiting for a thread */
	unsigned threads, idle;
	unsigned base, max; /* 0: not yet configured */
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void pool_defaults(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const char *env = getenv("CORIO_BLOCKING_THREADS");
	unsigned base = cpus > 0 ? (unsigned)cpus : 1, max = 0;

	if (env) {
		char *end;
		unsigned long b = strtoul(env, &end, 10), m = b;

		if (*end == ':')
			m = strtoul(end + 1, &end, 10);
		if (b > 0 && m >= b && m <= 4096 && *end == 0) {
			base = (unsigned)b;
			max = (unsigned)m;
		}
	}
	pool.base = base;
	pool.max = max ? max : (base * 4 > 64 ? base * 4 : 64);
}

int corio_blocking_threads(unsigned base, unsigned max)
{
	if (base == 0 || max < base)
		return -EINVAL;
	pthread_mutex_lock(&pool.lock);
	pool.base = base;
	pool.max = max;
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

/* Next job, or NULL when this thread should exit (surplus thread idle too long). */
static job *next_job(void)
{
	job *j;

	while (!pool.head) {
		struct timespec ts;

		if (pool.threads <= pool.base) {
			pthread_cond_wait(&pool.cond, &pool.lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += IDLE_EXIT_SEC;
		if (pthread_cond_timedwait(&pool.cond, &pool.lock, &ts) == ETIMEDOUT && !pool.head)
			return NULL;
	}
	j = pool.head;
	pool.queued--;
	pool.head = j->next;
	if (!pool.head)
		pool.tail = NULL;
	return j;
}

static void *worker(void *unused)
{
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		job *j = next_job();

		if (!j)
			break;
		pool.idle--;
		pthread_mutex_unlock(&pool.lock);
		j->result = j->fn(j->arg);
		/* The loop outlives the job: its task waits for this message. */
		corio__mailbox_post(j->loop, &j->msg);
		pthread_mutex_lock(&pool.lock);
		pool.idle++;
	}
	pool.threads--;
	pool.idle--;
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

/* With pool.lock held. Workers run with every signal blocked: signals belong to the
 * application's threads. */
static int start_thread(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t th;
	int rc;

	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&th, &attr, worker, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return -rc;
	pool.threads++;
	pool.idle++;
	return 0;
}

static int pool_submit(job *j)
{
	int rc = 0;

	pthread_mutex_lock(&pool.lock);
	if (!pool.base)
		pool_defaults();
	/* Idle threads that have not woken yet are already promised to queued jobs. */
	if (pool.queued >= pool.idle && pool.threads < pool.max)
		rc = start_thread();
	if (rc != 0 && pool.threads == 0) {
		pthread_mutex_unlock(&pool.lock);
		return rc;
	}
	j->next = NULL;
	if (pool.tail)
		pool.tail->next = j;
	else
		pool.head = j;
	pool.tail = j;
	pool.queued++;
	pthread_cond_signal(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

static void job_done(corio__loop *l, corio__msg *m)
{
	job *j = (job *)m;

	j->done = true;
	l->external--;
	corio__wait_wake(&j->w, 0);
}

static void job_drop(corio__msg *m)
{
	/* Cannot happen: a loop's mailbox closes only after all its tasks ended, and a task
	 * with a job in the pool does not end before the job's message arrived. */
	(void)m;
}

/* Shielded: waits out a job whose caller was cancelled or timed out. */
static void *wait_done(void *p)
{
	job *j = p;

	while (!j->done) {
		j->w.woken = false;
		corio__wait_park(&j->w);
	}
	return NULL;
}

int corio_blocking(corio_fn fn, void *arg, void **result)
{
	corio__loop *l = corio__loop_get();
	job j = { .fn = fn, .arg = arg, .loop = l };
	int rc;

	if (!l || !l->current)
		return -EPERM;
	if (!fn)
		return -EINVAL;
	if (corio__task_cancel_due(l->current))
		return -ECANCELED;
	rc = corio__mailbox_arm(l);
	if (rc != 0)
		return rc;
	j.msg.run = job_done;
	j.msg.drop = job_drop;
	j.w.task = l->current;
	rc = pool_submit(&j);
	if (rc != 0)
		return rc;
	l->external++;
	rc = corio__wait_park(&j.w);
	if (!j.done)
		corio_shield(wait_done, &j);
	if (result)
		*result = j.result;
	return rc;
}
