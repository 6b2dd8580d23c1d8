/* tests/runtime/test_sync_teardown.c: a loop ending with detached tasks parked on every kind
 * of waiter, the deadlock report, and a wait whose kernel timer cannot be had (-ENOMEM,
 * through the test hook in runtime/core/loop.h). */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "tests/support/helpers.h" /* TH_ASAN */
#include "tests/runtime/sync_helpers.h"
#include "runtime/core/loop.h"    /* timer_alloc_fail: the test hook behind wait_timer_enomem */

static corio_chan *ch;

/* ==== teardown with waiters ============================================================== */

/* Detached tasks parked on every primitive when main returns: corio_run cancels them, each
 * wait ends with -ECANCELED and leaves its object consistent. */
static corio_mutex *tmu;
static corio_sem *tsem;
static corio_event *tev;
static corio_cond *tcv;
static corio_waitgroup *twg;
static corio_future *tfut;
static int teardown_seen;
static corio_chan *ch2;

static void *td_task(void *arg)
{
	int rc = -1, v;

	switch (P2I(arg)) {
	case 0: rc = corio_mutex_lock(tmu); break;
	case 1: rc = corio_sem_acquire(tsem); break;
	case 2: rc = corio_event_wait(tev); break;
	case 3:
		corio_mutex_lock(tmu + 1);
		rc = corio_cond_wait(tcv, tmu + 1);
		ck_assert(corio_mutex_locked(tmu + 1));
		corio_mutex_unlock(tmu + 1);
		break;
	case 4: rc = corio_waitgroup_wait(twg); break;
	case 5: rc = corio_future_wait(tfut, NULL); break;
	case 6: rc = corio_chan_recv(ch, &v); break;
	case 7: v = 1; rc = corio_chan_send(ch2, &v); break;
	}
	ck_assert_int_eq(rc, -ECANCELED);
	teardown_seen |= 1 << P2I(arg);
	return NULL;
}

static void *teardown_main(void *arg)
{
	bool detach = P2I(arg);

	tmu = calloc(2, sizeof *tmu);
	tsem = calloc(1, sizeof *tsem);
	tev = calloc(1, sizeof *tev);
	tcv = calloc(1, sizeof *tcv);
	twg = calloc(1, sizeof *twg);
	tfut = calloc(1, sizeof *tfut);
	corio_mutex_init(tmu);
	corio_mutex_init(tmu + 1);
	corio_sem_init(tsem, 0);
	corio_event_init(tev);
	corio_cond_init(tcv);
	corio_waitgroup_init(twg);
	corio_waitgroup_add(twg, 1);
	corio_future_init(tfut);
	ch = corio_chan_new(0, sizeof(int));
	ch2 = corio_chan_new(0, sizeof(int));
	corio_mutex_lock(tmu);
	for (int i = 0; i < 8; i++) {
		corio_task *t = corio_spawn(td_task, I2P(i));

		if (detach)
			corio_detach(t);
	}
	corio_yield();
	return NULL; /* with the waiters still parked (attached ones: a deadlock) */
}

static void teardown_check(int expect_rc, bool detach)
{
	void *res;

	ck_assert_int_eq(corio_run(teardown_main, I2P(detach), &res), expect_rc);
	ck_assert_int_eq(teardown_seen, 0xff);
	ck_assert(!corio_mutex_locked(tmu + 1));
	free(tmu);
	free(tsem);
	free(tev);
	free(tcv);
	free(twg);
	free(tfut);
	corio_chan_free(ch);
	corio_chan_free(ch2);
}

START_TEST(teardown_detached_waiters)
{
	teardown_check(0, true);
}
END_TEST

START_TEST(teardown_deadlock)
{
	/* attached waiters nobody can wake: the deadlock breaker cancels them */
	teardown_check(-EDEADLK, false);
}
END_TEST

/* ==== a wait whose kernel timer cannot be had ============================================ */

/* Inside a timeout scope every parked wait arms a kernel timer of its own; when that
 * allocation fails the call must say -ENOMEM, not -ETIMEDOUT (the deadline did not pass,
 * the scope did not fire), and leave nothing queued behind it. */
static void fail_next_timer(void)
{
	corio__loop_get()->timer_alloc_fail = 1;
}

static void *enomem_child(void *arg)
{
	corio_yield();
	return arg;
}

static void *enomem_blocking(void *arg)
{
	return arg;
}

static void *wait_enomem_main(void *arg)
{
	corio_timeout to;
	corio_event e;
	corio_mutex m;
	corio_task *t;
	void *r = NULL;
	int v = 0;

	ck_assert_ptr_nonnull(ch = corio_chan_new(1, sizeof(int)));
	ck_assert_int_eq(corio_event_init(&e), 0);
	ck_assert_int_eq(corio_mutex_init(&m), 0);
	ck_assert_int_eq(corio_mutex_lock(&m), 0);
	ck_assert_ptr_nonnull(t = corio_spawn(enomem_child, I2P(7)));

	corio_timeout_enter(&to, CORIO_SEC(3600));
	fail_next_timer();
	ck_assert_int_eq(corio_event_wait(&e), -ENOMEM);
	fail_next_timer();
	ck_assert_int_eq(corio_mutex_lock(&m), -ENOMEM);
	fail_next_timer();
	ck_assert_int_eq(corio_chan_recv(ch, &v), -ENOMEM);
	fail_next_timer();
	ck_assert_int_eq(corio_join(t, NULL), -ENOMEM); /* t lives on */
	fail_next_timer();
	ck_assert_int_eq(corio_blocking(enomem_blocking, I2P(9), &r), -ENOMEM);
	ck_assert_int_eq(P2I(r), 9); /* fn still ran to its end, as after a timeout */
	ck_assert_uint_eq(corio__loop_get()->timer_alloc_fail, 0);
	ck_assert(!corio_timeout_exit(&to));

	/* Nothing was left queued: the unlock finds no waiter to hand the lock to, the
	 * element goes into the buffer, not to a receiver that is gone. */
	ck_assert_int_eq(corio_mutex_unlock(&m), 0);
	ck_assert(!corio_mutex_locked(&m));
	v = 5;
	ck_assert_int_eq(corio_chan_try_send(ch, &v), 0);
	ck_assert_uint_eq(corio_chan_len(ch), 1);
	ck_assert_int_eq(corio_event_set(&e), 0);
	ck_assert_int_eq(corio_join(t, &r), 0);
	ck_assert_int_eq(P2I(r), 7);

	/* With its timer, the same wait parks and times out. */
	ck_assert_int_eq(corio_event_clear(&e), 0);
	corio_timeout_enter(&to, CORIO_MS(1));
	ck_assert_int_eq(corio_event_wait(&e), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	corio_chan_free(ch);
	return NULL;
}

START_TEST(wait_timer_enomem)
{
	run(wait_enomem_main);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE_EACH("sync", 60, wait_timer_enomem, teardown_detached_waiters, teardown_deadlock));
}
