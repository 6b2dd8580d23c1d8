/* tests/runtime/test_blocking.c: corio_blocking (asyncio.to_thread) and corio_blocking_threads:
 * results of many calls, cancellation and timeout scopes while fn runs (the call returns
 * only after fn finished and *result still gets fn's value), a task cancelled before the
 * call, the loop sleeping (not spinning) while the pool works, argument errors, a pool held
 * to two threads, a pool that must run its base number of calls at once, a pool that must
 * grow past base when jobs starve, the polling hand-off between loop and workers at the
 * edge of its budget (and without it), and calls from two loops on two threads. */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <check.h>
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <corio/corio.h>

#include "tests/support/helpers.h"

#define TEST_TIMEOUT 60

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* CPU time (user + sys) of the calling thread, in ns. */
static uint64_t thread_cpu_ns(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_THREAD, &ru), 0);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* ---- 10 000 calls from 1 000 tasks ---------------------------------------------------- */

#define MANY_TASKS 1000
#define CALLS_PER_TASK 10

static void *calc(void *arg)
{
	uintptr_t x = (uintptr_t)arg;

	/* Runs on a pool thread, never on a loop thread. */
	if (corio_loop_current() != NULL)
		return (void *)(uintptr_t)0;
	return (void *)(x * 3 + 1);
}

static atomic_uint many_ok;

static void *many_task(void *arg)
{
	uintptr_t id = (uintptr_t)arg;

	for (uintptr_t i = 0; i < CALLS_PER_TASK; i++) {
		uintptr_t x = id * CALLS_PER_TASK + i + 1;
		void *r = (void *)(uintptr_t)0xdead;
		int rc = corio_blocking(calc, (void *)x, &r);

		if (rc == 0 && (uintptr_t)r == x * 3 + 1)
			atomic_fetch_add(&many_ok, 1);
	}
	return NULL;
}

static void *many_main(void *arg)
{
	corio_task **t = calloc(MANY_TASKS, sizeof *t);

	ck_assert_ptr_nonnull(t);
	for (uintptr_t i = 0; i < MANY_TASKS; i++) {
		t[i] = corio_spawn(many_task, (void *)i);
		ck_assert_ptr_nonnull(t[i]);
	}
	ck_assert_int_eq(corio_gather(t, MANY_TASKS, NULL), 0);
	free(t);
	return NULL;
}

START_TEST(test_many_calls)
{
	ck_assert_int_eq(corio_run(many_main, NULL, NULL), 0);
	ck_assert_uint_eq(atomic_load(&many_ok), MANY_TASKS * CALLS_PER_TASK);
}
END_TEST

/* A NULL result pointer is allowed: fn still runs. */
static atomic_int ran_no_result;

static void *mark(void *arg)
{
	atomic_fetch_add(&ran_no_result, 1);
	return arg;
}

static void *no_result_main(void *arg)
{
	ck_assert_int_eq(corio_blocking(mark, NULL, NULL), 0);
	ck_assert_int_eq(corio_blocking(NULL, NULL, NULL), -EINVAL);
	return NULL;
}

START_TEST(test_null_result_and_fn)
{
	ck_assert_int_eq(corio_run(no_result_main, NULL, NULL), 0);
	ck_assert_int_eq(atomic_load(&ran_no_result), 1);
}
END_TEST

/* ---- cancellation and timeouts while fn runs ------------------------------------------ */

/* fn says it started, waits until the test releases it (so the test, not a race against
 * a fixed delay, decides that the cancel or the timeout lands while fn runs), then sleeps
 * ms more and leaves a side effect just before returning. */
typedef struct slow {
	unsigned ms;
	atomic_bool started;   /* fn is running on a pool thread */
	atomic_bool release;   /* set by the test: fn may go on */
	atomic_bool finished;  /* fn's side effect */
	void *ret;             /* what fn returns */
} slow;

static void *slow_fn(void *arg)
{
	slow *s = arg;

	atomic_store(&s->started, true);
	while (!atomic_load(&s->release))
		sleep_ms(1);
	sleep_ms(s->ms);
	atomic_store(&s->finished, true);
	return s->ret;
}

/* In a task: parks (1 ms sleeps, the loop keeps turning) until fn is running. */
static void wait_started(slow *s)
{
	while (!atomic_load(&s->started))
		ck_assert_int_eq(corio_sleep(CORIO_MS(1)), 0);
}

/* A task that lets fn go on once the loop has seen a timeout scope's deadline pass: its
 * sleep starts after the scope was entered and is longer, so its timer fires after the
 * scope's (the kernel fires timers in deadline order, the loop reads completions in
 * order). */
static void *release_after(void *arg)
{
	slow *s = arg;

	ck_assert_int_eq(corio_sleep(CORIO_MS(60)), 0);
	atomic_store(&s->release, true);
	return NULL;
}

typedef struct caller {
	slow s;
	int rc;
	void *result;
	bool finished_at_return; /* fn's side effect was visible when the call returned */
	uint64_t elapsed_ns;
	int rc_after;            /* a second blocking call after the first */
	atomic_int second_ran;
} caller;

static void *second_fn(void *arg)
{
	caller *c = arg;

	atomic_fetch_add(&c->second_ran, 1);
	return NULL;
}

static void *caller_task(void *arg)
{
	caller *c = arg;
	uint64_t t0 = corio_now();

	c->result = (void *)(uintptr_t)0xdead;
	c->rc = corio_blocking(slow_fn, &c->s, &c->result);
	c->finished_at_return = atomic_load(&c->s.finished);
	c->elapsed_ns = corio_now() - t0;
	/* Cancellation is sticky: the next call fails at once and its fn never runs. */
	c->rc_after = corio_blocking(second_fn, c, NULL);
	return (void *)(uintptr_t)0x77;
}

static void *cancel_main(void *arg)
{
	caller *c = arg;
	corio_task *t = corio_spawn(caller_task, c);
	void *res = NULL;

	ck_assert_ptr_nonnull(t);
	wait_started(&c->s);
	corio_cancel(t);
	ck_assert(!atomic_load(&c->s.finished)); /* fn waits for the release */
	atomic_store(&c->s.release, true);
	ck_assert_int_eq(corio_join(t, &res), -ECANCELED);
	/* The task went on after the cancelled call and returned normally. */
	ck_assert_ptr_eq(res, (void *)(uintptr_t)0x77);
	return NULL;
}

START_TEST(test_cancel_during_call)
{
	caller c = { .s = { .ms = 100, .ret = (void *)(uintptr_t)4242 } };

	ck_assert_int_eq(corio_run(cancel_main, &c, NULL), 0);
	ck_assert_int_eq(c.rc, -ECANCELED);
	ck_assert_msg(c.finished_at_return, "corio_blocking returned before fn finished");
	ck_assert_ptr_eq(c.result, (void *)(uintptr_t)4242);
	ck_assert_uint_ge(c.elapsed_ns, CORIO_MS(100)); /* fn's ms after the release, at least */
	ck_assert_int_eq(c.rc_after, -ECANCELED);
	ck_assert_int_eq(atomic_load(&c.second_ran), 0);
}
END_TEST

/* A second corio_cancel while the task waits out fn (shielded) changes nothing. */
static void *double_cancel_main(void *arg)
{
	caller *c = arg;
	corio_task *t = corio_spawn(caller_task, c);

	ck_assert_ptr_nonnull(t);
	wait_started(&c->s);
	corio_cancel(t);
	ck_assert_int_eq(corio_sleep(CORIO_MS(30)), 0); /* loop turns with the task shielded */
	corio_cancel(t);
	ck_assert(!atomic_load(&c->s.finished)); /* fn waits for the release */
	atomic_store(&c->s.release, true);
	ck_assert_int_eq(corio_join(t, NULL), -ECANCELED);
	return NULL;
}

START_TEST(test_cancel_twice_during_call)
{
	caller c = { .s = { .ms = 20, .ret = (void *)(uintptr_t)99 } };

	ck_assert_int_eq(corio_run(double_cancel_main, &c, NULL), 0);
	ck_assert_int_eq(c.rc, -ECANCELED);
	ck_assert(c.finished_at_return);
	ck_assert_ptr_eq(c.result, (void *)(uintptr_t)99);
}
END_TEST

typedef struct timed {
	slow s;
	int rc;
	void *result;
	bool finished_at_return;
	bool fired;
	uint64_t elapsed_ns;
	int rc_after; /* a call after the scope was left */
} timed;

static void *after_fn(void *arg)
{
	return (void *)(uintptr_t)5;
}

static void *timeout_main(void *arg)
{
	timed *tm = arg;
	corio_timeout to;
	uint64_t t0 = corio_now();
	corio_task *rel = corio_spawn(release_after, &tm->s); /* runs once main parked */
	void *r = NULL;

	ck_assert_ptr_nonnull(rel);
	tm->result = (void *)(uintptr_t)0xdead;
	corio_timeout_enter(&to, CORIO_MS(50));
	tm->rc = corio_blocking(slow_fn, &tm->s, &tm->result);
	tm->finished_at_return = atomic_load(&tm->s.finished);
	tm->elapsed_ns = corio_now() - t0;
	tm->fired = corio_timeout_exit(&to);
	/* Outside the scope the task is fine: not cancelled, calls work again. */
	tm->rc_after = corio_blocking(after_fn, NULL, &r);
	ck_assert_ptr_eq(r, (void *)(uintptr_t)5);
	ck_assert_int_eq(corio_join(rel, NULL), 0);
	return NULL;
}

START_TEST(test_timeout_during_call)
{
	timed tm = { .s = { .ms = 100, .ret = (void *)(uintptr_t)31337 } };

	ck_assert_int_eq(corio_run(timeout_main, &tm, NULL), 0);
	ck_assert_int_eq(tm.rc, -ETIMEDOUT);
	ck_assert_msg(tm.finished_at_return, "corio_blocking returned before fn finished");
	ck_assert_ptr_eq(tm.result, (void *)(uintptr_t)31337);
	ck_assert_uint_ge(tm.elapsed_ns, CORIO_MS(160)); /* release at 60 ms, then fn's 100 */
	ck_assert(tm.fired);
	ck_assert_int_eq(tm.rc_after, 0);
}
END_TEST

/* A scope that does not expire leaves the call alone. */
static void *timeout_unfired_main(void *arg)
{
	timed *tm = arg;
	corio_timeout to;

	corio_timeout_enter(&to, CORIO_SEC(3600));
	tm->rc = corio_blocking(slow_fn, &tm->s, &tm->result);
	tm->fired = corio_timeout_exit(&to);
	return NULL;
}

START_TEST(test_timeout_not_reached)
{
	timed tm = { .s = { .ms = 20, .release = true, .ret = (void *)(uintptr_t)8 } };

	ck_assert_int_eq(corio_run(timeout_unfired_main, &tm, NULL), 0);
	ck_assert_int_eq(tm.rc, 0);
	ck_assert_ptr_eq(tm.result, (void *)(uintptr_t)8);
	ck_assert(!tm.fired);
}
END_TEST

/* ---- a task cancelled before it calls -------------------------------------------------- */

static atomic_int never_ran;

static void *never_fn(void *arg)
{
	atomic_fetch_add(&never_ran, 1);
	return (void *)(uintptr_t)1;
}

typedef struct pre {
	int rc_sleep;
	int rc;
	void *result;
} pre;

/* Parks in a sleep, gets cancelled there, then tries a blocking call. */
static void *pre_task(void *arg)
{
	pre *p = arg;

	p->result = (void *)(uintptr_t)0xabc;
	p->rc_sleep = corio_sleep(CORIO_SEC(3600)); /* only the cancel ends it */
	p->rc = corio_blocking(never_fn, NULL, &p->result);
	return NULL;
}

/* Cancels itself, then calls. */
static void *self_cancel_task(void *arg)
{
	pre *p = arg;

	p->result = (void *)(uintptr_t)0xabc;
	corio_cancel(corio_current());
	p->rc = corio_blocking(never_fn, NULL, &p->result);
	return NULL;
}

static void *pre_main(void *arg)
{
	pre *p = arg;
	corio_task *a = corio_spawn(pre_task, &p[0]);
	corio_task *b = corio_spawn(self_cancel_task, &p[1]);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(corio_sleep(CORIO_MS(10)), 0);
	corio_cancel(a);
	ck_assert_int_eq(corio_join(a, NULL), -ECANCELED);
	ck_assert_int_eq(corio_join(b, NULL), -ECANCELED);
	return NULL;
}

START_TEST(test_cancelled_before_call)
{
	pre p[2] = { { 0 } };

	ck_assert_int_eq(corio_run(pre_main, p, NULL), 0);
	ck_assert_int_eq(p[0].rc_sleep, -ECANCELED);
	ck_assert_int_eq(p[0].rc, -ECANCELED);
	ck_assert_int_eq(p[1].rc, -ECANCELED);
	/* fn never ran, so *result was left alone. */
	ck_assert_ptr_eq(p[0].result, (void *)(uintptr_t)0xabc);
	ck_assert_ptr_eq(p[1].result, (void *)(uintptr_t)0xabc);
	sleep_ms(50); /* a wrongly queued job would have run by now */
	ck_assert_int_eq(atomic_load(&never_ran), 0);
}
END_TEST

/* ---- the loop sleeps while fn runs ---------------------------------------------------- */

static void *sleep1_fn(void *arg)
{
	sleep(1);
	return (void *)(uintptr_t)1;
}

static void *warm_fn(void *arg)
{
	return NULL;
}

typedef struct spin {
	uint64_t cpu_ns;
	uint64_t wall_ns;
	int rc;
	void *r;
} spin;

static void *spin_main(void *arg)
{
	spin *s = arg;
	uint64_t cpu0, wall0;

	/* Warm up: the pool thread and the mailbox exist before the measurement. */
	ck_assert_int_eq(corio_blocking(warm_fn, NULL, NULL), 0);
	cpu0 = thread_cpu_ns();
	wall0 = mono_ns();
	s->rc = corio_blocking(sleep1_fn, NULL, &s->r);
	s->wall_ns = mono_ns() - wall0;
	s->cpu_ns = thread_cpu_ns() - cpu0;
	return NULL;
}

START_TEST(test_loop_does_not_spin)
{
	spin s = { 0 };

	ck_assert_int_eq(corio_run(spin_main, &s, NULL), 0);
	ck_assert_int_eq(s.rc, 0);
	ck_assert_ptr_eq(s.r, (void *)(uintptr_t)1);
	ck_assert_uint_ge(s.wall_ns, CORIO_MS(900));
	ck_assert_msg(s.cpu_ns < CORIO_MS(50), "loop thread used %llu us of CPU during sleep(1)",
		      (unsigned long long)(s.cpu_ns / 1000));
}
END_TEST

/* ---- argument errors ---------------------------------------------------------------- */

START_TEST(test_outside_loop)
{
	void *r = (void *)(uintptr_t)0x1234;

	ck_assert_int_eq(corio_blocking(never_fn, NULL, &r), -EPERM);
	ck_assert_ptr_eq(r, (void *)(uintptr_t)0x1234);
	sleep_ms(20);
	ck_assert_int_eq(atomic_load(&never_ran), 0);
}
END_TEST

START_TEST(test_threads_einval)
{
	ck_assert_int_eq(corio_blocking_threads(0, 1), -EINVAL);
	ck_assert_int_eq(corio_blocking_threads(0, 0), -EINVAL);
	ck_assert_int_eq(corio_blocking_threads(4, 2), -EINVAL);
	ck_assert_int_eq(corio_blocking_threads(1, 1), 0);
	ck_assert_int_eq(corio_blocking_threads(2, 8), 0);
}
END_TEST

/* ---- a pool of two threads ----------------------------------------------------------- */

#define LIMITED_CALLS 100

static atomic_int running_now, running_max;

static void *ten_ms(void *arg)
{
	int now = atomic_fetch_add(&running_now, 1) + 1;
	int max = atomic_load(&running_max);

	while (now > max && !atomic_compare_exchange_weak(&running_max, &max, now))
		;
	sleep_ms(10);
	atomic_fetch_sub(&running_now, 1);
	return (void *)((uintptr_t)arg + 1000);
}

static atomic_int limited_ok;

static void *limited_task(void *arg)
{
	void *r = NULL;

	if (corio_blocking(ten_ms, arg, &r) == 0 && r == (void *)((uintptr_t)arg + 1000))
		atomic_fetch_add(&limited_ok, 1);
	return NULL;
}

static void *limited_main(void *arg)
{
	corio_task *t[LIMITED_CALLS];

	for (uintptr_t i = 0; i < LIMITED_CALLS; i++) {
		t[i] = corio_spawn(limited_task, (void *)i);
		ck_assert_ptr_nonnull(t[i]);
	}
	ck_assert_int_eq(corio_gather(t, LIMITED_CALLS, NULL), 0);
	return NULL;
}

START_TEST(test_pool_limited)
{
	uint64_t t0;

	ck_assert_int_eq(corio_blocking_threads(2, 2), 0);
	t0 = mono_ns();
	ck_assert_int_eq(corio_run(limited_main, NULL, NULL), 0);
	ck_assert_int_eq(atomic_load(&limited_ok), LIMITED_CALLS);
	/* 100 x 10 ms over at most two threads: a lower bound only. */
	ck_assert_uint_ge(mono_ns() - t0, CORIO_MS(500));
	ck_assert_int_le(atomic_load(&running_max), 2);
}
END_TEST

/* The pool runs base calls at once: four calls that each wait (up to 10 s) until all four
 * are running must all see the others. A pool that starts one thread for a burst of
 * submissions runs them one after another and every call times out alone (30 s in all,
 * under the tcase's 60). The wait is a give-up bound for that broken pool, not a measure:
 * starting four threads on a loaded machine may take far more than the 2 s it once was. */
#define RENDEZVOUS 4

static atomic_int arrived;

static void *rendezvous_fn(void *arg)
{
	uint64_t until = mono_ns() + CORIO_SEC(10);

	atomic_fetch_add(&arrived, 1);
	while (atomic_load(&arrived) < RENDEZVOUS && mono_ns() < until)
		sleep_ms(1);
	return (void *)(uintptr_t)(atomic_load(&arrived) >= RENDEZVOUS);
}

static atomic_int met;

static void *rendezvous_task(void *arg)
{
	void *r = NULL;

	if (corio_blocking(rendezvous_fn, NULL, &r) == 0 && r)
		atomic_fetch_add(&met, 1);
	return NULL;
}

static void *rendezvous_main(void *arg)
{
	corio_task *t[RENDEZVOUS];

	for (int i = 0; i < RENDEZVOUS; i++) {
		t[i] = corio_spawn(rendezvous_task, NULL);
		ck_assert_ptr_nonnull(t[i]);
	}
	ck_assert_int_eq(corio_gather(t, RENDEZVOUS, NULL), 0);
	return NULL;
}

START_TEST(test_pool_runs_base_calls_at_once)
{
	uint64_t t0;

	ck_assert_int_eq(corio_blocking_threads(RENDEZVOUS, RENDEZVOUS), 0);
	t0 = mono_ns();
	ck_assert_int_eq(corio_run(rendezvous_main, NULL, NULL), 0);
	ck_assert_msg(atomic_load(&met) == RENDEZVOUS,
		      "only %d of %d concurrent calls met (pool ran them serially, %llu ms)",
		      atomic_load(&met), RENDEZVOUS,
		      (unsigned long long)((mono_ns() - t0) / 1000000));
}
END_TEST

/* ---- two loops on two threads --------------------------------------------------------- */

#define LOOP_TASKS 100
#define LOOP_CALLS 20

static atomic_uint two_ok[2];
static atomic_uint two_on_loop; /* fn ran on a loop thread: must stay 0 */

static void *tagged(void *arg)
{
	uintptr_t x = (uintptr_t)arg;

	if (corio_loop_current() != NULL)
		atomic_fetch_add(&two_on_loop, 1);
	return (void *)(x ^ 0x5a5a5a);
}

static void *two_task(void *arg)
{
	uintptr_t base = (uintptr_t)arg;
	unsigned idx = corio_thread_index();

	for (uintptr_t i = 0; i < LOOP_CALLS; i++) {
		uintptr_t x = base + i;
		void *r = NULL;

		if (corio_blocking(tagged, (void *)x, &r) == 0 && (uintptr_t)r == (x ^ 0x5a5a5a))
			atomic_fetch_add(&two_ok[idx], 1);
	}
	return NULL;
}

static void *two_main(void *arg)
{
	unsigned idx = corio_thread_index();
	corio_task *t[LOOP_TASKS];

	ck_assert_uint_lt(idx, 2);
	for (uintptr_t i = 0; i < LOOP_TASKS; i++) {
		t[i] = corio_spawn(two_task, (void *)((idx + 1) * 1000000 + i * LOOP_CALLS));
		ck_assert_ptr_nonnull(t[i]);
	}
	ck_assert_int_eq(corio_gather(t, LOOP_TASKS, NULL), 0);
	return NULL;
}

START_TEST(test_two_loops)
{
	ck_assert_int_eq(corio_blocking_threads(2, 4), 0);
	ck_assert_int_eq(corio_run_threads(2, two_main, NULL), 0);
	ck_assert_uint_eq(atomic_load(&two_ok[0]), LOOP_TASKS * LOOP_CALLS);
	ck_assert_uint_eq(atomic_load(&two_ok[1]), LOOP_TASKS * LOOP_CALLS);
	ck_assert_uint_eq(atomic_load(&two_on_loop), 0);
}
END_TEST

/* ---- growth past base, and the polling hand-off ----------------------------------------- */

/* Eight calls that each wait (up to 10 s, a give-up bound: a pool that never grows runs
 * them two at a time, 30 s in all) for all eight to run, on a pool of base 2 and max 16:
 * only the monitor's growth (a thread per job starved for a millisecond) lets them
 * meet. */
#define GROW_CALLS 8

static atomic_int grow_arrived, grow_met;

static void *grow_fn(void *arg)
{
	uint64_t until = mono_ns() + CORIO_SEC(10);

	atomic_fetch_add(&grow_arrived, 1);
	while (atomic_load(&grow_arrived) < GROW_CALLS && mono_ns() < until)
		sleep_ms(1);
	return (void *)(uintptr_t)(atomic_load(&grow_arrived) >= GROW_CALLS);
}

static void *grow_task(void *arg)
{
	void *r = NULL;

	if (corio_blocking(grow_fn, NULL, &r) == 0 && r)
		atomic_fetch_add(&grow_met, 1);
	return NULL;
}

static void *grow_main(void *arg)
{
	corio_task *t[GROW_CALLS];

	for (int i = 0; i < GROW_CALLS; i++) {
		t[i] = corio_spawn(grow_task, NULL);
		ck_assert_ptr_nonnull(t[i]);
	}
	ck_assert_int_eq(corio_gather(t, GROW_CALLS, NULL), 0);
	return NULL;
}

START_TEST(test_pool_grows_when_jobs_starve)
{
	ck_assert_int_eq(corio_blocking_threads(2, 16), 0);
	ck_assert_int_eq(corio_run(grow_main, NULL, NULL), 0);
	ck_assert_int_eq(atomic_load(&grow_met), GROW_CALLS);
}
END_TEST

/* Jobs of 0 to ~4 us against a polling budget of 1 us (or none): the loop and the workers
 * keep crossing the end of their polling, where a result posted as the loop stops polling
 * must still wake it. A lost wake-up hangs here until the test's timeout. */
#define HANDOFF_TASKS 8
#define HANDOFF_CALLS 20000

static atomic_uint handoff_ok;

static void *short_job(void *arg)
{
	uintptr_t x = (uintptr_t)arg;
	uint64_t until = mono_ns() + (x % 5) * 1000;

	while (mono_ns() < until)
		;
	return (void *)(x + 7);
}

static void *handoff_task(void *arg)
{
	uintptr_t base = (uintptr_t)arg * HANDOFF_CALLS;

	for (uintptr_t i = 0; i < HANDOFF_CALLS; i++) {
		void *r = NULL;

		if (corio_blocking(short_job, (void *)(base + i), &r) == 0 &&
		    (uintptr_t)r == base + i + 7)
			atomic_fetch_add(&handoff_ok, 1);
	}
	return NULL;
}

static void *handoff_main(void *arg)
{
	unsigned tasks = (unsigned)(uintptr_t)arg;
	corio_task *t[HANDOFF_TASKS];

	for (unsigned i = 0; i < tasks; i++) {
		t[i] = corio_spawn(handoff_task, (void *)(uintptr_t)i);
		ck_assert_ptr_nonnull(t[i]);
	}
	ck_assert_int_eq(corio_gather(t, tasks, NULL), 0);
	return NULL;
}

static void handoff_run(const char *spin_us)
{
	ck_assert_int_eq(setenv("CORIO_SPIN_US", spin_us, 1), 0); /* read once per process */
	ck_assert_int_eq(corio_run(handoff_main, (void *)(uintptr_t)1, NULL), 0);
	ck_assert_uint_eq(atomic_load(&handoff_ok), HANDOFF_CALLS);
	ck_assert_int_eq(corio_run(handoff_main, (void *)(uintptr_t)HANDOFF_TASKS, NULL), 0);
	ck_assert_uint_eq(atomic_load(&handoff_ok), HANDOFF_CALLS * (1 + HANDOFF_TASKS));
}

START_TEST(test_handoff_short_polling)
{
	handoff_run("1");
}
END_TEST

START_TEST(test_handoff_no_polling)
{
	handoff_run("0");
}
END_TEST

/* ---- after fork ------------------------------------------------------------------------- */

/* The pool's threads stay in the parent: a child that uses corio_blocking must get a pool
 * of its own, not wait forever on threads that do not exist there. */
static void *one_call_main(void *arg)
{
	void *r = NULL;

	ck_assert_int_eq(corio_blocking(calc, (void *)(uintptr_t)5, &r), 0);
	ck_assert_ptr_eq(r, (void *)(uintptr_t)16);
	return NULL;
}

START_TEST(test_pool_in_forked_child)
{
	int status = 0;
	pid_t pid;

	if (TH_TSAN) {
		fprintf(stderr, "pool after fork: skipped (ThreadSanitizer cannot follow)\n");
		return;
	}
	ck_assert_int_eq(corio_run(one_call_main, NULL, NULL), 0); /* the parent's threads */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		alarm(20); /* a child stuck on the parent's threads dies of SIGALRM */
		_exit(corio_run(one_call_main, NULL, NULL) == 0 ? 0 : 3);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child: status %#x (SIGALRM: the call never ran)", status);
	ck_assert_int_eq(corio_run(one_call_main, NULL, NULL), 0); /* and the parent goes on */
}
END_TEST

/* ---- suite ------------------------------------------------------------------------------ */

static Suite *blocking_suite(void)
{
	Suite *s = suite_create("blocking");

	TH_TCASE(s, "calls", TEST_TIMEOUT, test_many_calls, test_null_result_and_fn, test_two_loops);
	TH_TCASE(s, "cancel", TEST_TIMEOUT, test_cancel_during_call, test_cancel_twice_during_call, test_timeout_during_call, test_timeout_not_reached, test_cancelled_before_call);
	TH_TCASE(s, "loop", TEST_TIMEOUT, test_loop_does_not_spin);
	TH_TCASE(s, "pool", TEST_TIMEOUT, test_outside_loop, test_threads_einval, test_pool_limited, test_pool_runs_base_calls_at_once, test_pool_grows_when_jobs_starve, test_handoff_short_polling, test_handoff_no_polling, test_pool_in_forked_child);
	return s;
}

/* th_main (helpers.h): 77 without io_uring, CK_FORK, CORIO_FAULTS cleared. */
int main(void)
{
	return th_main(blocking_suite());
}
