/* tests/runtime/test_tasks.c: spawn, join and detach (corio_run waits for unjoined tasks; the
 * main task joined or detached), corio_gather (results in order, the caller cancelled) and
 * corio_wait_any. *
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

/* ==== spawn, join, detach ============================================================== */


static int detached_done;
static void *detached_sleeper(void *arg)
{
	if (corio_sleep(CORIO_MS(1)) == 0)
		detached_done++;
	return NULL;
}


static void *spawn_join_main(void *arg)
{
	corio_statistics st;
	void *res;

	TH_CHECK(corio_current() != NULL);
	for (uintptr_t i = 0; i < 50; i++) {
		corio_task *t = corio_spawn(plus_one, (void *)i);

		TH_CHECK(t != NULL);
		res = NULL;
		TH_CHECK(corio_join(t, &res) == 0);
		TH_CHECK((uintptr_t)res == i + 1);
	}
	/* Join after the task finished; result NULL is allowed. */
	{
		corio_task *t = corio_spawn(quick, NULL);

		TH_CHECK(t != NULL);
		while (quick_ran == 0)
			corio_yield();
		TH_CHECK(corio_join(t, NULL) == 0);
	}
	/* Detached tasks run to completion and free themselves. */
	for (int i = 0; i < 20; i++) {
		corio_task *t = corio_spawn(detached_sleeper, NULL);

		TH_CHECK(t != NULL);
		corio_detach(t);
	}
	/* Detaching a finished task frees it at once. */
	{
		corio_task *t = corio_spawn(quick, NULL);

		TH_CHECK(t != NULL);
		while (quick_ran == 1)
			corio_yield();
		corio_detach(t);
	}
	for (int i = 0; i < 10000 && detached_done < 20; i++)
		TH_CHECK(corio_sleep(CORIO_MS(1)) == 0);
	TH_CHECK(detached_done == 20);
	TH_CHECK(corio_stats(&st) == 0);
	TH_CHECK(st.tasks_live == 1);
	TH_CHECK(st.tasks_spawned == 1 + 50 + 1 + 20 + 1);
	/* Misuse. */
	TH_CHECK(corio_join(corio_current(), NULL) == -EDEADLK);
	TH_CHECK(corio_join(NULL, NULL) == -EINVAL);
	errno = 0;
	TH_CHECK(corio_spawn(NULL, NULL) == NULL);
	TH_CHECK(errno == EINVAL);
	return (void *)(uintptr_t)99;
}

START_TEST(test_spawn_join_detach)
{
	void *res = TH_RUN(spawn_join_main, NULL);

	ck_assert_ptr_eq(res, (void *)(uintptr_t)99);
}
END_TEST

/* corio_run returns only when every non-detached task finished, joined or not. */
static int unjoined_done;
static void *unjoined_task(void *arg)
{
	if (corio_sleep(CORIO_MS(20)) == 0)
		unjoined_done = 1;
	return NULL;
}

static void *unjoined_main(void *arg)
{
	TH_CHECK(corio_spawn(unjoined_task, NULL) != NULL);
	return TH_OK;
}

START_TEST(test_run_waits_for_unjoined_tasks)
{
	TH_RUN_EXPECT_OK(NULL, unjoined_main, NULL);
	ck_assert_int_eq(unjoined_done, 1);
}
END_TEST

/* Regression: the main task (corio_current() in fn) is owned by corio_run. Joining it from
 * another task, or detaching it, freed it while corio_run still read it (heap use after
 * free in run.c main_done, caught by ASan). Either call must leave corio_run working. */
static corio_task *main_task;
static int main_join_rc = 1;

static void *join_main_task(void *arg)
{
	TH_CHECK(corio_sleep(CORIO_MS(5)) == 0); /* main has finished by now */
	main_join_rc = corio_join(main_task, NULL);
	return TH_OK;
}

static void *main_joined_main(void *arg)
{
	corio_task *t;

	main_task = corio_current();
	/* Not joined: corio_run waits for it after main returned. */
	TH_CHECK((t = corio_spawn(join_main_task, NULL)) != NULL);
	return (void *)(uintptr_t)11;
}

static void *main_detached_main(void *arg)
{
	corio_detach(corio_current());
	TH_CHECK(corio_sleep(CORIO_MS(1)) == 0);
	return (void *)(uintptr_t)12;
}

START_TEST(test_main_task_join_or_detach)
{
	ck_assert_ptr_eq(TH_RUN(main_joined_main, NULL), (void *)(uintptr_t)11);
	ck_assert_msg(main_join_rc == -EINVAL || main_join_rc == 0, "join(main) = %d",
		      main_join_rc);
	ck_assert_ptr_eq(TH_RUN(main_detached_main, NULL), (void *)(uintptr_t)12);
}
END_TEST

/* ==== gather and wait_any ============================================================== */

static int finish_log[5], finish_n;
static corio_event finished[5];

/* Task i finishes after task i + 1 (each waits for the next one's event, and the last first
 * sleeps a little): the finishing order is the reverse of the task order by construction,
 * never by how timers a few ms apart happen to fire on a loaded machine. */
static void *wait_then_square(void *arg)
{
	uintptr_t i = (uintptr_t)arg;

	if (i < 4)
		corio_event_wait(&finished[i + 1]);
	else
		corio_sleep(CORIO_MS(3));
	finish_log[finish_n++] = (int)i;
	corio_event_set(&finished[i]);
	return (void *)(i * i + 1);
}

static void *gather_main(void *arg)
{
	corio_task *t[5];
	void *res[5];
	int rc = 1;

	for (uintptr_t i = 0; i < 5; i++) {
		TH_CHECK(corio_event_init(&finished[i]) == 0);
		TH_CHECK((t[i] = corio_spawn(wait_then_square, (void *)i)) != NULL);
	}
	TH_CHECK(corio_gather(t, 5, res) == 0);
	for (uintptr_t i = 0; i < 5; i++) {
		TH_CHECK((uintptr_t)res[i] == i * i + 1);
		TH_CHECK(finish_log[i] == 4 - (int)i); /* they finished in reverse order */
	}
	/* One cancelled task: -ECANCELED, the others' results still delivered. */
	TH_CHECK((t[0] = corio_spawn(plus_one, (void *)(uintptr_t)10)) != NULL);
	TH_CHECK((t[1] = corio_spawn(sleep10s_rc, &rc)) != NULL);
	TH_CHECK((t[2] = corio_spawn(plus_one, (void *)(uintptr_t)20)) != NULL);
	corio_yield();
	corio_cancel(t[1]);
	TH_CHECK(corio_gather(t, 3, res) == -ECANCELED);
	TH_CHECK((uintptr_t)res[0] == 11 && (uintptr_t)res[1] == 42 && (uintptr_t)res[2] == 21);
	TH_CHECK(rc == -ECANCELED);
	TH_CHECK(corio_gather(t, 0, NULL) == 0);
	return TH_OK;
}

TH_TASK_TEST(test_gather_results_in_order, gather_main)

#define GW_N 3
static int gw_rc[GW_N], gw_done;

static void *gather_worker(void *arg)
{
	gw_rc[(uintptr_t)arg] = corio_sleep(CORIO_SEC(10));
	gw_done++;
	return NULL;
}

struct gatherer {
	int rc;
	int done_at_return;
	bool timeout;
};

static void *gatherer(void *arg)
{
	struct gatherer *g = arg;
	corio_task *t[GW_N];
	corio_timeout to;

	for (uintptr_t i = 0; i < GW_N; i++)
		if (!(t[i] = corio_spawn(gather_worker, (void *)i)))
			return NULL;
	if (g->timeout)
		corio_timeout_enter(&to, CORIO_MS(10));
	g->rc = corio_gather(t, GW_N, NULL);
	if (g->timeout)
		corio_timeout_exit(&to);
	g->done_at_return = gw_done; /* the workers were cancelled and awaited */
	return NULL;
}

static void *gather_cancelled_main(void *arg)
{
	struct gatherer g = { .rc = 1 };
	corio_task *t = corio_spawn(gatherer, &g);

	TH_CHECK(t != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(5)) == 0);
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	TH_CHECK(g.rc == -ECANCELED);
	TH_CHECK(g.done_at_return == GW_N);
	for (int i = 0; i < GW_N; i++)
		TH_CHECK(gw_rc[i] == -ECANCELED);

	/* Same with the gatherer's timeout scope expiring instead. */
	gw_done = 0;
	memset(gw_rc, 0, sizeof gw_rc);
	g = (struct gatherer){ .rc = 1, .timeout = true };
	TH_CHECK((t = corio_spawn(gatherer, &g)) != NULL);
	TH_CHECK(corio_join(t, NULL) == 0);
	TH_CHECK(g.rc == -ETIMEDOUT);
	TH_CHECK(g.done_at_return == GW_N);
	for (int i = 0; i < GW_N; i++)
		TH_CHECK(gw_rc[i] == -ECANCELED);
	return TH_OK;
}

TH_TASK_TEST(test_gather_when_caller_cancelled, gather_cancelled_main)

/* The tasks finish when the test says so (their events), never by timers racing each other
 * on a loaded machine. */
static corio_event any_go[3];

static void *wait_event_task(void *arg)
{
	corio_event_wait(&any_go[(uintptr_t)arg]);
	return arg;
}

static void *wait_any_main(void *arg)
{
	corio_task *t[3], *rest[2];

	TH_CHECK(corio_wait_any(t, 0) == -EINVAL);
	for (uintptr_t i = 0; i < 3; i++) {
		TH_CHECK(corio_event_init(&any_go[i]) == 0);
		TH_CHECK((t[i] = corio_spawn(wait_event_task, (void *)i)) != NULL);
	}
	corio_event_set(&any_go[1]);
	TH_CHECK(corio_wait_any(t, 3) == 1);
	TH_CHECK(corio_wait_any(t, 3) == 1); /* joins nothing: still finished */
	TH_CHECK(corio_join(t[1], NULL) == 0);
	rest[0] = t[0];
	rest[1] = t[2];
	corio_event_set(&any_go[2]);
	TH_CHECK(corio_wait_any(rest, 2) == 1);
	TH_CHECK(corio_wait_any(rest, 2) == 1);
	corio_event_set(&any_go[0]);
	TH_CHECK(corio_wait_any(rest, 1) == 0);
	/* Both finished now: the lowest index. */
	TH_CHECK(corio_wait_any(rest, 2) == 0);
	TH_CHECK(corio_gather(rest, 2, NULL) == 0);
	return TH_OK;
}

TH_TASK_TEST(test_wait_any_first_finished, wait_any_main)

int main(void)
{
	return th_main(TH_SUITE("tasks", TH_TIMEOUT, test_spawn_join_detach, test_run_waits_for_unjoined_tasks, test_main_task_join_or_detach, test_gather_results_in_order, test_gather_when_caller_cancelled, test_wait_any_first_finished));
}
