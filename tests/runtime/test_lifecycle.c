/* tests/runtime/test_lifecycle.c: a loop's life: teardown with sleeps pending, deadlock
 * detection (two tasks joining each other, not before timers are done, a cycle through a
 * shield, none while a scope can expire), misuse outside a loop (-EPERM) and corio_run inside
 * corio_run (-EBUSY), and two loops on two threads. *
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

/* ==== teardown with pending operations ================================================= */

#define TD_SLEEPERS 50
static int td_resumed, td_rc_ok, td_never_ran = 1;

static void *td_sleeper(void *arg)
{
	int rc = corio_sleep(CORIO_SEC(10));

	td_resumed++;
	td_rc_ok += rc == -ECANCELED;
	return NULL;
}

static void *td_not_run(void *arg)
{
	td_never_ran = 0;
	return NULL;
}

static void *td_main(void *arg)
{
	corio_task *t;

	for (int i = 0; i < TD_SLEEPERS; i++) {
		TH_CHECK((t = corio_spawn(td_sleeper, NULL)) != NULL);
		corio_detach(t);
	}
	TH_CHECK(corio_sleep(CORIO_MS(5)) == 0);
	TH_CHECK((t = corio_spawn(td_not_run, NULL)) != NULL);
	corio_detach(t);
	return TH_OK;
}

START_TEST(test_teardown_with_pending_sleeps)
{
	/* The detached sleepers were cancelled and awaited, not left for their 10 s. */
	ck_assert_uint_lt(th_run_ok_ns(NULL, td_main, NULL), CORIO_SEC(5));
	ck_assert_int_eq(td_resumed, TD_SLEEPERS);
	ck_assert_int_eq(td_rc_ok, TD_SLEEPERS);
	ck_assert_int_eq(td_never_ran, 1);
}
END_TEST

/* The same on an idle loop: nothing in flight, so nothing keeps the loop from handing the
 * CPU straight from the main task's end to the task it spawned last. */
static void *td_idle_main(void *arg)
{
	corio_task *t;

	TH_CHECK((t = corio_spawn(td_not_run, NULL)) != NULL);
	corio_detach(t);
	return TH_OK;
}

START_TEST(test_teardown_idle_cancels_unstarted)
{
	td_never_ran = 1;
	TH_RUN_EXPECT_OK(NULL, td_idle_main, NULL);
	ck_assert_int_eq(td_never_ran, 1);
}
END_TEST

/* ==== deadlock detection =============================================================== */

static corio_task *dl_a, *dl_b, *dl_c;
static int dl_rc_a = 1, dl_rc_b = 1, dl_rc_c = 1, dl_rc_main = 1, dl_sleep_rc = 1;

static void *dl_join_b(void *arg)
{
	corio_yield();
	dl_rc_a = corio_join(dl_b, NULL);
	return NULL;
}

static void *dl_join_a(void *arg)
{
	corio_yield();
	dl_rc_b = corio_join(dl_a, NULL);
	return NULL;
}

static void *dl_sleeper(void *arg)
{
	dl_sleep_rc = corio_sleep(CORIO_MS(20));
	return NULL;
}

/* Runs fn(arg), which leaves tasks waiting for each other: corio_run cancels them and
 * reports the deadlock (-EDEADLK), and each of the n rcs of the cycle holds -ECANCELED.
 * Returns how long the run took (ns). */
static uint64_t run_deadlocked(corio_fn fn, void *arg, int *const *rcs, int n)
{
	uint64_t t0 = th_now();

	TH_RUN_CFG_RC(NULL, fn, arg, -EDEADLK);
	for (int i = 0; i < n; i++)
		ck_assert_msg(*rcs[i] == -ECANCELED, "task %d of the cycle got %d, want -ECANCELED",
			      i, *rcs[i]);
	return th_now() - t0;
}

static void *dl_pair_main(void *arg)
{
	corio_task *s = arg ? corio_spawn(dl_sleeper, NULL) : NULL;

	dl_a = corio_spawn(dl_join_b, NULL);
	dl_b = corio_spawn(dl_join_a, NULL);
	if (!dl_a || !dl_b || (arg && !s))
		return "spawn failed";
	if (s)
		corio_detach(s);
	dl_rc_main = corio_join(dl_a, NULL);
	return NULL;
}

START_TEST(test_deadlock_two_tasks_joining_each_other)
{
	run_deadlocked(dl_pair_main, NULL, (int *const[]){ &dl_rc_a, &dl_rc_b, &dl_rc_main }, 3);
}
END_TEST

/* Not reported while a sleeper could still wake somebody; reported after it finished. */
START_TEST(test_deadlock_not_before_timers_done)
{
	uint64_t ns = run_deadlocked(dl_pair_main, (void *)1, (int *const[]){ &dl_rc_a, &dl_rc_b }, 2);

	ck_assert_int_eq(dl_sleep_rc, 0);
	ck_assert_uint_ge(ns, CORIO_MS(20));
}
END_TEST

/* A cycle that a timeout scope can still break is no deadlock: A's join of B times out,
 * A finishes, and B's join of A succeeds. */
static int dlt_rc_a = 1, dlt_rc_b = 1;

static void *dlt_join_b(void *arg)
{
	corio_timeout to;

	corio_yield();
	corio_timeout_enter(&to, CORIO_MS(20));
	dlt_rc_a = corio_join(dl_b, NULL);
	corio_timeout_exit(&to);
	return NULL;
}

static void *dlt_join_a(void *arg)
{
	corio_yield();
	dlt_rc_b = corio_join(dl_a, NULL);
	return (void *)(uintptr_t)3;
}

static void *dlt_main(void *arg)
{
	void *res = NULL;

	TH_CHECK((dl_a = corio_spawn(dlt_join_b, NULL)) != NULL);
	TH_CHECK((dl_b = corio_spawn(dlt_join_a, NULL)) != NULL);
	TH_CHECK(corio_join(dl_b, &res) == 0);
	TH_CHECK((uintptr_t)res == 3);
	TH_CHECK(dlt_rc_a == -ETIMEDOUT);
	TH_CHECK(dlt_rc_b == 0);
	return TH_OK;
}

START_TEST(test_no_deadlock_while_a_scope_can_expire)
{
	ck_assert_uint_ge(th_run_ok_ns(NULL, dlt_main, NULL), CORIO_MS(20));
}
END_TEST

/* A cycle of three through wait_any, one of them shielded. */
static void *shield_wait_any(void *arg)
{
	return (void *)(intptr_t)corio_wait_any(arg, 1);
}

static void *dl_cycle_a(void *arg)
{
	corio_yield();
	dl_rc_a = corio_wait_any(&dl_b, 1);
	return NULL;
}

static void *dl_cycle_b(void *arg)
{
	corio_yield();
	dl_rc_b = (int)(intptr_t)corio_shield(shield_wait_any, &dl_c);
	return NULL;
}

static void *dl_cycle_c(void *arg)
{
	corio_yield();
	dl_rc_c = corio_wait_any(&dl_a, 1);
	return NULL;
}

static void *dl_cycle_main(void *arg)
{
	dl_a = corio_spawn(dl_cycle_a, NULL);
	dl_b = corio_spawn(dl_cycle_b, NULL);
	dl_c = corio_spawn(dl_cycle_c, NULL);
	if (!dl_a || !dl_b || !dl_c)
		return "spawn failed";
	/* main finishes; corio_run still waits for the three, which wait for each other. */
	return NULL;
}

START_TEST(test_deadlock_cycle_with_shield)
{
	run_deadlocked(dl_cycle_main, NULL, (int *const[]){ &dl_rc_a, &dl_rc_b, &dl_rc_c }, 3);
}
END_TEST

/* ==== misuse =========================================================================== */

static void *noop_fn(void *arg)
{
	return arg;
}

START_TEST(test_calls_outside_loop)
{
	corio_statistics st;
	corio_capabilities caps;
	corio_task *dummy[1] = { NULL };
	corio_timeout to;

	ck_assert_int_eq(corio_sleep(CORIO_MS(1)), -EPERM);
	ck_assert_int_eq(corio_sleep(0), -EPERM);
	ck_assert_int_eq(corio_sleep_until(th_now() + CORIO_MS(1)), -EPERM);
	ck_assert_int_eq(corio_nop(), -EPERM);
	ck_assert_int_eq(corio_join(NULL, NULL), -EPERM);
	ck_assert_int_eq(corio_gather(dummy, 1, NULL), -EPERM);
	ck_assert_int_eq(corio_wait_any(dummy, 1), -EPERM);
	errno = 0;
	ck_assert_ptr_null(corio_spawn(noop_fn, NULL));
	ck_assert_int_eq(errno, EPERM);
	ck_assert_ptr_null(corio_current());
	ck_assert(!corio_cancelled());
	ck_assert_int_eq(corio_stats(&st), -ESRCH);
	ck_assert_int_eq(corio_caps(&caps), -ESRCH);
	corio_yield(); /* no effect */
	corio_timeout_enter(&to, CORIO_MS(1));
	corio_timeout_exit(&to);
	ck_assert_int_eq(corio_run(NULL, NULL, NULL), -EINVAL);
}
END_TEST

static void *nested_run_main(void *arg)
{
	void *res = (void *)1;

	TH_CHECK(corio_run(noop_fn, NULL, &res) == -EBUSY);
	TH_CHECK(corio_run_config(NULL, noop_fn, NULL, NULL) == -EBUSY);
	TH_CHECK(res == (void *)1);
	return TH_OK;
}

START_TEST(test_run_inside_run_is_ebusy)
{
	corio_config cfg = th_config();

	TH_RUN_EXPECT_OK(NULL, nested_run_main, NULL);
	/* And the thread can run a loop again afterwards. */
	ck_assert_ptr_eq(TH_RUN(noop_fn, (void *)5), (void *)5);
	cfg.stack_kind = (corio_stack_kind)42;
	TH_RUN_CFG_RC(&cfg, noop_fn, NULL, -EINVAL);
}
END_TEST

/* ==== two loops on two threads ========================================================= */

struct thr {
	uintptr_t base;
	int rc;
	void *res;
	uint64_t spawned;
};

static void *thr_task(void *arg)
{
	for (int i = 0; i < 20; i++) {
		if (corio_sleep(CORIO_US(200)) != 0)
			return NULL;
		corio_yield();
	}
	return (void *)((uintptr_t)arg * 2);
}

static void *thr_loop_main(void *arg)
{
	struct thr *th = arg;
	corio_task *t[200];
	void *res[200];
	uintptr_t sum = 0;
	corio_statistics st;

	for (uintptr_t i = 0; i < 200; i++)
		if (!(t[i] = corio_spawn(thr_task, (void *)(th->base + i))))
			return NULL;
	if (corio_gather(t, 200, res) != 0)
		return NULL;
	for (int i = 0; i < 200; i++)
		sum += (uintptr_t)res[i];
	corio_stats(&st);
	th->spawned = st.tasks_spawned;
	return (void *)sum;
}

static void *thr_fn(void *arg)
{
	struct thr *th = arg;

	th->rc = corio_run(thr_loop_main, th, &th->res);
	return NULL;
}

START_TEST(test_two_threads_two_loops)
{
	struct thr th[2] = { { .base = 1000 }, { .base = 5000 } };
	pthread_t pt[2];

	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&pt[i], NULL, thr_fn, &th[i]), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(pt[i], NULL), 0);
	for (int i = 0; i < 2; i++) {
		uintptr_t want = 0;

		for (uintptr_t k = 0; k < 200; k++)
			want += (th[i].base + k) * 2;
		ck_assert_int_eq(th[i].rc, 0);
		ck_assert_uint_eq((uintptr_t)th[i].res, want);
		ck_assert_uint_eq(th[i].spawned, 201); /* each loop counts only its own */
	}
	ck_assert_ptr_null(corio_current());
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("lifecycle", TH_TIMEOUT, test_teardown_with_pending_sleeps, test_teardown_idle_cancels_unstarted, test_deadlock_two_tasks_joining_each_other, test_deadlock_not_before_timers_done, test_deadlock_cycle_with_shield, test_no_deadlock_while_a_scope_can_expire, test_calls_outside_loop, test_run_inside_run_is_ebusy, test_two_threads_two_loops));
}
