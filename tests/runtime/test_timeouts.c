/* tests/runtime/test_timeouts.c: sleep (order and lower bound; the largest duration does not
 * wrap) and timeout scopes (nested, sleep 0 in an expired scope, racing a completion, around
 * join and wait_any). *
 * Every assertion about time is an ordering or a lower bound, or an upper bound far from
 * anything a slow machine would reach that only a functional failure can cross.
 */
#define _GNU_SOURCE
#include "tests/support/helpers.h"
#include "tests/runtime/runtime_helpers.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/utsname.h>


/* Regression: a "sleep forever" (the largest duration) must sleep, not wrap around. */
static void *sleep_forever(void *arg)
{
	*(int *)arg = corio_sleep(UINT64_MAX);
	return NULL;
}

static void *sleep_forever_main(void *arg)
{
	int rc = 1;
	corio_task *t = corio_spawn(sleep_forever, &rc);

	TH_CHECK(t != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(20)) == 0);
	TH_CHECK(rc == 1); /* still asleep after 20 ms */
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	TH_CHECK(rc == -ECANCELED);
	return TH_OK;
}

TH_TASK_TEST(test_sleep_max_duration_does_not_wrap, sleep_forever_main)

/* ==== sleep ============================================================================ */

static int order_log[3], order_n;

/* Deadlines from one base, read once by main: relative sleeps started one after the other
 * would reorder whenever the process is preempted between two starts for longer than their
 * 10 ms gap, which a loaded machine does. Expired timers complete in deadline order. */
static uint64_t order_base;

static void *sleep_order_task(void *arg)
{
	unsigned ms = (unsigned)(uintptr_t)arg;

	TH_CHECK(corio_sleep_until(order_base + CORIO_MS(ms)) == 0);
	TH_CHECK(corio_now() >= order_base + CORIO_MS(ms));
	order_log[order_n++] = (int)ms;
	return TH_OK;
}

static void *sleep_order_main(void *arg)
{
	static const unsigned ms[3] = { 30, 10, 20 };
	corio_task *t[3];
	void *res[3];
	uint64_t t0 = corio_now(), deadline = t0 + CORIO_MS(15);

	order_base = t0;
	for (int i = 0; i < 3; i++)
		TH_CHECK((t[i] = corio_spawn(sleep_order_task, (void *)(uintptr_t)ms[i])) != NULL);
	TH_CHECK(corio_gather(t, 3, res) == 0);
	for (int i = 0; i < 3; i++)
		if (res[i])
			return res[i];
	TH_CHECK(order_n == 3);
	TH_CHECK(order_log[0] == 10 && order_log[1] == 20 && order_log[2] == 30);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(30));
	/* sleep_until an absolute deadline; a deadline in the past returns at once. */
	TH_CHECK(corio_sleep_until(deadline + CORIO_MS(20)) == 0);
	TH_CHECK(corio_now() >= deadline + CORIO_MS(20));
	TH_CHECK(corio_sleep_until(t0) == 0);
	TH_CHECK(corio_sleep(0) == 0);
	return TH_OK;
}

TH_TASK_TEST(test_sleep_order_and_lower_bound, sleep_order_main)

/* ==== timeout scopes =================================================================== */

static void *scope_inner_shorter(void *arg)
{
	corio_timeout outer, inner;
	uint64_t t0 = corio_now();

	corio_timeout_enter(&outer, CORIO_SEC(5));
	corio_timeout_enter(&inner, CORIO_MS(10));
	TH_CHECK(corio_nop() == 0); /* unexpired scope: the call succeeds */
	TH_CHECK(corio_sleep(CORIO_SEC(10)) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(10));
	TH_CHECK(corio_nop() == -ETIMEDOUT); /* still inside the expired scope */
	TH_CHECK(corio_timeout_exit(&inner) == true);
	TH_CHECK(corio_nop() == 0); /* the outer scope has time left */
	TH_CHECK(corio_sleep(CORIO_MS(1)) == 0);
	TH_CHECK(corio_timeout_exit(&outer) == false);
	return TH_OK;
}

static void *scope_outer_shorter(void *arg)
{
	corio_timeout outer, inner;
	uint64_t t0 = corio_now();

	corio_timeout_enter(&outer, CORIO_MS(10));
	corio_timeout_enter(&inner, CORIO_SEC(5));
	TH_CHECK(corio_nop() == 0);
	TH_CHECK(corio_sleep(CORIO_SEC(10)) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(10));
	TH_CHECK(corio_timeout_exit(&inner) == false); /* not its deadline */
	TH_CHECK(corio_nop() == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&outer) == true);
	TH_CHECK(corio_nop() == 0); /* no scope left */
	return TH_OK;
}

static void *scope_unexpired(void *arg)
{
	corio_timeout to, zero;
	int n = 0, rc;

	corio_timeout_enter(&to, CORIO_SEC(5));
	for (int i = 0; i < 100; i++)
		TH_CHECK(corio_nop() == 0);
	TH_CHECK(corio_sleep(CORIO_MS(2)) == 0);
	TH_CHECK(corio_timeout_exit(&to) == false);
	/* A short scope around a stream of nops: they succeed until the deadline, then fail. */
	corio_timeout_enter(&to, CORIO_MS(5));
	while ((rc = corio_nop()) == 0)
		n++;
	TH_CHECK(rc == -ETIMEDOUT);
	TH_CHECK(n > 0);
	TH_CHECK(corio_timeout_exit(&to) == true);
	/* A zero scope fails the first call. */
	corio_timeout_enter(&zero, 0);
	TH_CHECK(corio_nop() == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&zero) == true);
	/* A shield hides the enclosing scope; the first call after it fails. */
	{
		int rc_sleep = 1;

		corio_timeout_enter(&to, CORIO_MS(5));
		corio_shield(shielded_sleep, &rc_sleep); /* 30 ms */
		TH_CHECK(rc_sleep == 0);
		TH_CHECK(corio_nop() == -ETIMEDOUT);
		TH_CHECK(corio_timeout_exit(&to) == true);
	}
	return TH_OK;
}

/* Regression: a loop of corio_sleep(0) inside a timeout scope ends with -ETIMEDOUT once the
 * deadline passed, as corio_sleep_until(past) does and as corio_sleep(0) already does for
 * cancellation; it returned 0 forever. */
static void *scope_sleep0(void *arg)
{
	corio_timeout to;
	uint64_t t0 = corio_now();
	int rc;

	corio_timeout_enter(&to, CORIO_MS(5));
	while ((rc = corio_sleep(0)) == 0)
		if (corio_now() - t0 > CORIO_MS(500)) /* hang guard */
			break;
	corio_timeout_exit(&to);
	TH_CHECK(rc == -ETIMEDOUT);
	/* The same loop with corio_sleep_until(now) does end. */
	corio_timeout_enter(&to, CORIO_MS(5));
	while ((rc = corio_sleep_until(corio_now())) == 0)
		if (corio_now() - t0 > CORIO_SEC(5))
			break;
	TH_CHECK(corio_timeout_exit(&to));
	TH_CHECK(rc == -ETIMEDOUT);
	return TH_OK;
}

TH_TASK_TEST(test_sleep0_in_expired_scope_times_out, scope_sleep0)

START_TEST(test_timeout_scopes_nested)
{
	TH_RUN_EXPECT_OK(NULL, scope_inner_shorter, NULL);
	TH_RUN_EXPECT_OK(NULL, scope_outer_shorter, NULL);
	TH_RUN_EXPECT_OK(NULL, scope_unexpired, NULL);
}
END_TEST

static void *scope_join_main(void *arg)
{
	int rc1 = 1, rc2 = 1;
	corio_task *t1 = corio_spawn(sleep10s_rc, &rc1), *t2 = corio_spawn(sleep10s_rc, &rc2);
	corio_task *ts[2] = { t1, t2 };
	corio_timeout to;
	uint64_t t0;
	void *res = NULL;

	TH_CHECK(t1 && t2);
	t0 = corio_now();
	corio_timeout_enter(&to, CORIO_MS(10));
	TH_CHECK(corio_join(t1, &res) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(10));
	TH_CHECK(corio_timeout_exit(&to) == true);
	TH_CHECK(rc1 == 1); /* t1 is untouched and still ours */

	t0 = corio_now();
	corio_timeout_enter(&to, CORIO_MS(10));
	TH_CHECK(corio_wait_any(ts, 2) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(10));
	TH_CHECK(corio_timeout_exit(&to) == true);

	/* An unexpired scope around a join that succeeds. */
	corio_timeout_enter(&to, CORIO_SEC(5));
	{
		corio_task *q = corio_spawn(plus_one, (void *)(uintptr_t)1);

		TH_CHECK(q != NULL);
		TH_CHECK(corio_join(q, &res) == 0);
		TH_CHECK((uintptr_t)res == 2);
	}
	TH_CHECK(corio_timeout_exit(&to) == false);

	corio_cancel(t1);
	corio_cancel(t2);
	TH_CHECK(corio_join(t1, &res) == -ECANCELED);
	TH_CHECK((uintptr_t)res == 42);
	TH_CHECK(corio_join(t2, NULL) == -ECANCELED);
	TH_CHECK(rc1 == -ECANCELED && rc2 == -ECANCELED);
	return TH_OK;
}

/* A scope's deadline racing the completion of what runs inside it, 5000 times: each call
 * returns its real result or -ETIMEDOUT; once one timed out, later calls in the scope do
 * too; corio_timeout_exit says "fired" exactly when a call inside timed out; -ETIMEDOUT
 * never comes before the deadline, and a sleep that succeeded slept its whole time. */
#define TRACE_ROUNDS 5000

static void *trace_helper(void *arg)
{
	corio_sleep(CORIO_US((uintptr_t)arg));
	return arg;
}

static void *timeout_race_main(void *arg)
{
	int timed_out = 0, completed = 0;

	for (int i = 0; i < TRACE_ROUNDS; i++) {
		unsigned scope_us = 1 + (unsigned)(i * 7) % 60, op_us = 1 + (unsigned)(i * 13) % 60;
		corio_task *helper = NULL;
		corio_timeout to;
		uint64_t start = corio_now(), deadline;
		int rc, rc2;
		bool fired;

		if (i % 2) /* a wait (join) instead of a ring op */
			TH_CHECK((helper = corio_spawn(trace_helper, (void *)(uintptr_t)op_us)) != NULL);
		corio_timeout_enter(&to, CORIO_US(scope_us));
		deadline = start + CORIO_US(scope_us);
		rc = helper ? corio_join(helper, NULL) : corio_sleep(CORIO_US(op_us));
		rc2 = corio_nop();
		fired = corio_timeout_exit(&to);
		TH_CHECK(rc == 0 || rc == -ETIMEDOUT);
		if (rc == -ETIMEDOUT) {
			TH_CHECK(corio_now() >= deadline);
			TH_CHECK(rc2 == -ETIMEDOUT);
			timed_out++;
		} else {
			TH_CHECK(helper || corio_now() - start >= CORIO_US(op_us));
			TH_CHECK(rc2 == 0 || rc2 == -ETIMEDOUT);
			completed++;
		}
		TH_CHECK(fired == (rc == -ETIMEDOUT || rc2 == -ETIMEDOUT));
		if (helper && rc != 0)
			TH_CHECK(corio_join(helper, NULL) == 0); /* still ours */
	}
	TH_CHECK(timed_out > 0);
	TH_CHECK(completed > 0);
	return TH_OK;
}

TH_TASK_TEST(test_timeout_racing_completion, timeout_race_main)

TH_TASK_TEST(test_timeout_scope_around_join_and_wait_any, scope_join_main)

int main(void)
{
	return th_main(TH_SUITE("time", TH_TIMEOUT, test_sleep_order_and_lower_bound, test_sleep_max_duration_does_not_wrap, test_timeout_scopes_nested, test_sleep0_in_expired_scope_times_out, test_timeout_racing_completion, test_timeout_scope_around_join_and_wait_any));
}
