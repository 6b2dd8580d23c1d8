/* tests/runtime/test_sync_groups.c: wait groups, futures and task groups (corio/sync.h):
 * FIFO wake-ups, a failing member, interruption, cancellation and orphaned groups. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "tests/support/helpers.h" /* TH_ASAN */
#include "tests/runtime/sync_helpers.h"

/* ==== wait group ========================================================================= */

static corio_waitgroup wg;

static void *wg_worker(void *arg)
{
	ck_assert_int_eq(corio_sleep(CORIO_MS(1 + P2I(arg) % 5)), 0);
	norder++; /* counted only */
	ck_assert_int_eq(corio_waitgroup_done(&wg), 0);
	return NULL;
}

static int woken[8], nwoken;

static void *wg_waiter(void *arg)
{
	int i = P2I(arg), rc = corio_waitgroup_wait(&wg);

	results[i] = rc;
	if (rc == 0)
		woken[nwoken++] = i;
	return NULL;
}

static void *waitgroup_main(void *arg)
{
	corio_task *w[5], *k[20];
	corio_timeout to;

	ck_assert_int_eq(corio_waitgroup_init(&wg), 0);
	ck_assert_int_eq(corio_waitgroup_wait(&wg), 0); /* zero: returns at once */
	ck_assert_int_eq(corio_waitgroup_add(&wg, 20), 0);
	ck_assert_int_eq(corio_waitgroup_add(&wg, -21), -EINVAL); /* would go negative */
	ck_assert_int_eq(corio_waitgroup_count(&wg), 20);
	ck_assert_int_eq(corio_waitgroup_add(&wg, INT64_MAX), -EOVERFLOW);
	for (int i = 0; i < 5; i++) {
		w[i] = corio_spawn(wg_waiter, I2P(i));
		yields(1);
	}
	corio_cancel(w[2]);
	corio_timeout_enter(&to, CORIO_MS(1));
	ck_assert_int_eq(corio_waitgroup_wait(&wg), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	for (int i = 0; i < 20; i++)
		k[i] = corio_spawn(wg_worker, I2P(i));
	ck_assert_int_eq(corio_waitgroup_wait(&wg), 0);
	ck_assert_int_eq(norder, 20); /* every worker finished first */
	ck_assert_int_eq(corio_gather(k, 20, NULL), 0);
	ck_assert_int_eq(corio_gather(w, 5, NULL), -ECANCELED);
	ck_assert_int_eq(results[2], -ECANCELED);
	ck_assert_int_eq(nwoken, 4);
	ck_assert_int_eq(woken[0], 0); /* FIFO wake-up */
	ck_assert_int_eq(woken[1], 1);
	ck_assert_int_eq(woken[2], 3);
	ck_assert_int_eq(woken[3], 4);
	ck_assert_int_eq(corio_waitgroup_done(&wg), -EINVAL);
	return NULL;
}

START_TEST(waitgroup_basic)
{
	run(waitgroup_main);
}
END_TEST

/* ==== futures ============================================================================ */

static corio_future *fut;

static void *fut_waiter(void *arg)
{
	int i = P2I(arg);
	void *v = I2P(-5);
	int rc = corio_future_wait(fut, &v);

	results[i] = rc == 0 ? P2I(v) : rc;
	if (rc == 0 || rc == -EIO)
		record(i);
	return NULL;
}

static void *future_main(void *arg)
{
	static corio_task *t[100];
	corio_future local;
	corio_timeout to;
	void *v;

	ck_assert_int_eq(corio_future_init(&local), 0);
	ck_assert(!corio_future_done(&local));
	ck_assert_int_eq(corio_future_fail(&local, 0), -EINVAL);
	ck_assert_int_eq(corio_future_set(&local, I2P(7)), 0);
	ck_assert_int_eq(corio_future_set(&local, I2P(8)), -EALREADY);
	ck_assert_int_eq(corio_future_fail(&local, -EIO), -EALREADY);
	ck_assert(corio_future_done(&local));
	ck_assert_int_eq(corio_future_wait(&local, &v), 0);
	ck_assert_int_eq(P2I(v), 7);
	ck_assert_int_eq(corio_future_wait(&local, NULL), 0);

	/* 100 waiters, one cancelled and one timed out while parked; the future is freed
	 * right after set (the value was handed to each waiter) */
	fut = malloc(sizeof *fut);
	corio_future_init(fut);
	for (int i = 0; i < 100; i++)
		t[i] = corio_spawn(fut_waiter, I2P(i));
	yields(2);
	corio_cancel(t[50]);
	corio_timeout_enter(&to, CORIO_MS(10));
	ck_assert_int_eq(corio_future_wait(fut, &v), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	ck_assert_int_eq(corio_future_set(fut, I2P(1234)), 0);
	free(fut);
	fut = NULL;
	ck_assert_int_eq(corio_gather(t, 100, NULL), -ECANCELED);
	ck_assert_int_eq(norder, 99);
	for (int i = 0, k = 0; i < 100; i++) {
		ck_assert_int_eq(results[i], i == 50 ? -ECANCELED : 1234);
		if (i != 50)
			ck_assert_int_eq(order[k++], i); /* woken in arrival order */
	}

	/* failure reaches every waiter */
	norder = 0;
	fut = &local;
	corio_future_init(fut);
	for (int i = 0; i < 10; i++)
		t[i] = corio_spawn(fut_waiter, I2P(i));
	yields(2);
	ck_assert_int_eq(corio_future_fail(fut, -EIO), 0);
	ck_assert_int_eq(corio_gather(t, 10, NULL), 0);
	check_order(10);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(results[i], -EIO);
	v = I2P(3);
	ck_assert_int_eq(corio_future_wait(fut, &v), -EIO);
	ck_assert_int_eq(P2I(v), 3); /* untouched on failure */
	return NULL;
}

START_TEST(future_basic)
{
	run(future_main);
}
END_TEST

/* ==== task groups ======================================================================== */

static int ran, cancelled_members;

static void *member_ok(void *arg)
{
	ck_assert_int_eq(corio_sleep(CORIO_MS(P2I(arg) % 5)), 0);
	ran++;
	return I2P(99); /* the result is not interpreted */
}

/* Sleeps "forever" (an hour): only a cancellation ends it, and every test counts those
 * (cancelled_members), so a sleeper the group failed to cancel shows as a wrong count or a
 * test timeout, never as a race against a clock. */
static void *member_sleeper(void *arg)
{
	int rc = corio_sleep(CORIO_SEC(3600));

	if (rc == -ECANCELED)
		cancelled_members++;
	/* the usual idiom: report the error; being cancelled is not a failure */
	if (rc < 0)
		ck_assert_int_eq(corio_group_fail(rc), 0);
	return NULL;
}

static void *member_failer(void *arg)
{
	ck_assert_int_eq(corio_sleep(CORIO_MS(10)), 0);
	ck_assert_int_eq(corio_group_fail(-EIO), 0);
	ck_assert_int_eq(corio_group_fail(-EBADF), -EALREADY); /* only the first counts */
	return NULL;
}

static corio_group *grp;

static void *member_spawner(void *arg)
{
	int n = P2I(arg);

	/* members may add members, and wait for nothing */
	ck_assert_int_eq(corio_group_wait(grp), -EDEADLK);
	if (n > 0)
		ck_assert_ptr_nonnull(corio_group_spawn(grp, member_spawner, I2P(n - 1)));
	corio_yield();
	ran++;
	return NULL;
}

static void *group_basic_main(void *arg)
{
	ck_assert_int_eq(corio_group_fail(-EIO), -ESRCH); /* not a member */
	ck_assert_int_eq(corio_group_wait(NULL), -EINVAL);
	ck_assert_ptr_nonnull(grp = corio_group_new());
	ck_assert_int_eq(corio_group_wait(grp), 0); /* empty */
	for (int i = 0; i < 50; i++)
		ck_assert_ptr_nonnull(corio_group_spawn(grp, member_ok, I2P(i)));
	ck_assert_ptr_nonnull(corio_group_spawn(grp, member_spawner, I2P(10)));
	errno = 0;
	ck_assert_ptr_null(corio_group_spawn(grp, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(corio_group_wait(grp), 0);
	ck_assert_int_eq(ran, 61);
	corio_group_free(grp);
	corio_group_free(NULL);
	return NULL;
}

START_TEST(group_basic)
{
	run(group_basic_main);
}
END_TEST

static void *group_fail_main(void *arg)
{
	grp = corio_group_new();
	for (int i = 0; i < 20; i++)
		corio_group_spawn(grp, member_sleeper, NULL);
	corio_group_spawn(grp, member_failer, NULL);
	ck_assert_int_eq(corio_group_wait(grp), -EIO);
	ck_assert_int_eq(cancelled_members, 20); /* the sleepers were cancelled */
	errno = 0;
	ck_assert_ptr_null(corio_group_spawn(grp, member_ok, NULL)); /* shutting down */
	ck_assert_int_eq(errno, ECANCELED);
	corio_group_free(grp);
	return NULL;
}

START_TEST(group_fail)
{
	run(group_fail_main);
}
END_TEST

/* The task that waits on the group is cancelled / times out. */
static void *group_waiter(void *arg)
{
	corio_group *g = corio_group_new();
	int rc;

	for (int i = 0; i < 10; i++)
		corio_group_spawn(g, member_sleeper, NULL);
	if (P2I(arg)) {
		corio_timeout to;

		corio_timeout_enter(&to, CORIO_MS(20));
		rc = corio_group_wait(g);
		ck_assert(corio_timeout_exit(&to));
	} else {
		rc = corio_group_wait(g);
	}
	/* the members were cancelled and awaited before the wait returned */
	ck_assert_int_eq(cancelled_members, 10);
	corio_group_free(g);
	return I2P(rc);
}

static void *group_interrupt_main(void *arg)
{
	corio_task *t;
	void *res;

	t = corio_spawn(group_waiter, I2P(0));
	/* Any positive sleep parks main until a loop turn, by which time the waiter and all
	 * its members ran and parked (they were ready before main's timer was submitted). */
	ck_assert_int_eq(corio_sleep(CORIO_MS(10)), 0);
	corio_cancel(t);
	ck_assert_int_eq(corio_join(t, &res), -ECANCELED);
	ck_assert_int_eq(P2I(res), -ECANCELED);

	cancelled_members = 0;
	t = corio_spawn(group_waiter, I2P(1));
	ck_assert_int_eq(corio_join(t, &res), 0);
	ck_assert_int_eq(P2I(res), -ETIMEDOUT); /* and group_waiter counted 10 cancelled */
	return NULL;
}

START_TEST(group_interrupt)
{
	run(group_interrupt_main);
}
END_TEST

static void *group_cancel_main(void *arg)
{
	corio_task *one;

	/* cancelling one member is not a failure */
	grp = corio_group_new();
	one = corio_group_spawn(grp, member_sleeper, NULL);
	corio_group_spawn(grp, member_ok, I2P(1));
	corio_yield();
	corio_cancel(one);
	ck_assert_int_eq(corio_group_wait(grp), 0);
	ck_assert_int_eq(cancelled_members, 1);
	ck_assert_int_eq(ran, 1);

	/* cancelling the group: members that never ran are not run at all */
	for (int i = 0; i < 5; i++)
		corio_group_spawn(grp, member_sleeper, NULL);
	corio_yield();
	for (int i = 0; i < 5; i++)
		corio_group_spawn(grp, member_ok, NULL);
	corio_group_cancel(grp);
	ck_assert_int_eq(corio_group_wait(grp), -ECANCELED);
	ck_assert_int_eq(cancelled_members, 6);
	ck_assert_int_eq(ran, 1);
	corio_group_free(grp);

	/* free with members running: they are cancelled and awaited */
	grp = corio_group_new();
	for (int i = 0; i < 5; i++)
		corio_group_spawn(grp, member_sleeper, NULL);
	corio_yield();
	corio_group_free(grp);
	ck_assert_int_eq(cancelled_members, 11);
	return NULL;
}

START_TEST(group_cancel)
{
	run(group_cancel_main);
}
END_TEST

/* A group whose wait is never called: corio_run still waits for its members (they are
 * ordinary attached tasks), and freeing the group after the loop ended releases memory. */
static void *group_orphan_main(void *arg)
{
	grp = corio_group_new();
	for (int i = 0; i < 5; i++)
		corio_group_spawn(grp, member_ok, I2P(i));
	return NULL;
}

START_TEST(group_orphan)
{
	run(group_orphan_main);
	ck_assert_int_eq(ran, 5);
	corio_group_free(grp);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE_EACH("sync", 60, waitgroup_basic, future_basic, group_basic, group_fail, group_interrupt, group_cancel, group_orphan));
}
