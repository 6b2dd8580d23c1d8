/* runtime/threads/pool.c: the blocking thread pool (not the many event loops of
 * corio_run_threads, which are runtime/threads/loops.c). corio_blocking, like
 * asyncio.to_thread: plain threads shared by the process run blocking functions; the caller's task parks and its loop is woken through
 * its mailbox (an eventfd read on the ring), never by polling. The job lives on the
 * caller's stack: the caller always waits until the function has finished, even when it
 * is cancelled, so nothing is left pointing into a dead frame.
 *
 * Size: up to `base` threads start as soon as jobs need them. Beyond that, a monitor
 * thread (started at the first backlog, asleep whenever there is none) adds a thread for
 * each job that has waited GROW_AFTER without one, up to `max`: a burst of short jobs is
 * served by the threads there are, jobs stuck behind long blocking calls are not. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "runtime/core/op.h"
#include "runtime/threads/signal.h"

#define IDLE_EXIT_SEC 5
#define GROW_AFTER CORIO_MS(1)

typedef struct job {
	corio__msg msg;
	corio_fn fn;
	void *arg;
	void *result;
	corio__loop *loop;
	corio__wait w;
	bool done;
	uint64_t queued_at; /* corio_now() at submission: the monitor's measure */
	struct job *next;
} job;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	job *head, *tail;
	unsigned queued;    /* jobs waiting for a thread */
	unsigned threads, idle;
	unsigned spinners;  /* idle threads polling `head` instead of waiting on cond */
	unsigned base, max; /* 0: not yet configured */
	bool monitor_started, monitor_waiting;
	pthread_cond_t monitor_cond; /* CLOCK_MONOTONIC; set up when the monitor starts */
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

/* One CPU is left to the loops. */
static unsigned max_spinners(void)
{
	static unsigned n;

	if (!n) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		n = cpus > 2 ? (unsigned)cpus - 1 : 1;
	}
	return n;
}

/* With pool.lock held (released meanwhile): a worker that just finished a job polls for
 * the next one for a few microseconds before sleeping on the condition, because a caller
 * that got its answer usually asks again at once and a futex wake-up costs more than the
 * job. Submitters do not signal jobs a spinner will take. */
static void spin_for_job(void)
{
	uint64_t ns = corio__spin_ns(), end;

	/* More pollers than CPUs would steal time from the threads doing the work. */
	if (!ns || pool.spinners >= max_spinners())
		return;
	pool.spinners++;
	pthread_mutex_unlock(&pool.lock);
	end = corio_now() + ns;
	for (unsigned i = 1; !__atomic_load_n(&pool.head, __ATOMIC_RELAXED); i++) {
		if (i % 64 == 0 && corio_now() >= end)
			break;
		corio__cpu_relax();
	}
	pthread_mutex_lock(&pool.lock);
	pool.spinners--;
}

/* Next job, or NULL when this thread should exit (surplus thread idle too long). */
static job *next_job(void)
{
	bool spun = false;
	job *j;

	while (!pool.head) {
		struct timespec ts;

		if (!spun) {
			spun = true;
			spin_for_job();
			continue;
		}
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
	__atomic_store_n(&pool.head, j->next, __ATOMIC_RELAXED); /* spinners peek at it */
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

/* In the child of a fork() only the forking thread exists: the pool's threads, its monitor
 * and the jobs they held stayed in the parent (and the lock may have been taken there). The
 * child starts from an empty pool with the same size settings. */
static void pool_after_fork_child(void)
{
	pthread_mutex_init(&pool.lock, NULL);
	pthread_cond_init(&pool.cond, NULL);
	pool.head = pool.tail = NULL;
	pool.queued = pool.threads = pool.idle = pool.spinners = 0;
	pool.monitor_started = pool.monitor_waiting = false;
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, pool_after_fork_child);
}

/* With pool.lock held. Workers run with every signal but the synchronous ones blocked
 * (runtime/threads/signal.h): signals belong to the application's threads and to
 * corio_signal_wait. */
static int start_thread(void)
{
	static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t th;
	int rc;

	pthread_once(&atfork_once, register_atfork);
	/* The polling budget and the spinner cap come from sysconf(_SC_NPROCESSORS_ONLN),
	 * which reads /sys/devices/system/cpu/online: computed here, on the thread that
	 * submits (the first start_thread is always pool_submit's), and cached, so that a
	 * worker never opens a descriptor of its own. One that did, in its first spin after
	 * its first job, held it while the caller's corio_run was returning (a program
	 * counting its descriptors then saw one too many) and would get EMFILE, hence other
	 * settings, in a process out of descriptors. */
	(void)corio__spin_ns();
	(void)max_spinners();
	corio__signals_for_threads(&all);
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

/* Jobs at the head of the queue that have waited GROW_AFTER or more (the queue is in
 * submission order). */
static unsigned starving(uint64_t now)
{
	unsigned n = 0;

	for (job *j = pool.head; j && now - j->queued_at >= GROW_AFTER; j = j->next)
		n++;
	return n;
}

static void *monitor(void *unused)
{
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		uint64_t now = corio_now(), next;
		struct timespec ts;
		unsigned n;

		if (!pool.head || pool.threads >= pool.max) {
			pool.monitor_waiting = true;
			pthread_cond_wait(&pool.monitor_cond, &pool.lock);
			pool.monitor_waiting = false;
			continue;
		}
		/* Idle threads already signalled will take some of them. */
		n = starving(now);
		for (n = n > pool.idle ? n - pool.idle : 0; n > 0 && pool.threads < pool.max; n--)
			if (start_thread() != 0)
				break;
		next = now + GROW_AFTER;
		ts.tv_sec = (time_t)(next / 1000000000u);
		ts.tv_nsec = (long)(next % 1000000000u);
		pthread_cond_timedwait(&pool.monitor_cond, &pool.lock, &ts);
	}
	return NULL;
}

/* With pool.lock held. */
static int start_monitor(void)
{
	pthread_condattr_t ca;
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t th;
	int rc;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* corio_now's clock */
	pthread_cond_init(&pool.monitor_cond, &ca);
	pthread_condattr_destroy(&ca);
	corio__signals_for_threads(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&th, &attr, monitor, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		pthread_cond_destroy(&pool.monitor_cond);
		return -rc;
	}
	pool.monitor_started = true;
	return 0;
}

/* With pool.lock held, after queueing: more jobs than idle threads is a backlog, which the
 * monitor watches until it is gone. */
static void watch_backlog(void)
{
	if (pool.queued <= pool.idle || pool.threads >= pool.max)
		return;
	if (!pool.monitor_started)
		start_monitor(); /* failing that, the pool stays at its size: still correct */
	else if (pool.monitor_waiting)
		pthread_cond_signal(&pool.monitor_cond);
}

static int pool_submit(job *j)
{
	int rc = 0;

	pthread_mutex_lock(&pool.lock);
	if (!pool.base)
		pool_defaults();
	/* Up to base threads start at once. Idle threads that have not woken yet are already
	 * promised to queued jobs. */
	if (pool.queued >= pool.idle && pool.threads < pool.base)
		rc = start_thread();
	if (rc != 0 && pool.threads == 0) {
		pthread_mutex_unlock(&pool.lock);
		return rc;
	}
	j->queued_at = corio_now();
	j->next = NULL;
	if (pool.tail)
		pool.tail->next = j;
	else
		__atomic_store_n(&pool.head, j, __ATOMIC_RELAXED);
	pool.tail = j;
	pool.queued++;
	/* A spinner takes it under the lock once it sees `head`, even if its time is up. */
	if (pool.queued > pool.spinners)
		pthread_cond_signal(&pool.cond);
	watch_backlog();
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
	j.w.what = "blocking pool"; /* corio_tasks_dump */
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
