/* tests/runtime/test_stats.c: corio_stats counts and the stack kinds it reports. */
#define _GNU_SOURCE
#include "tests/support/helpers.h"
#include "tests/runtime/runtime_helpers.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/utsname.h>

/* ==== statistics and stack kinds ======================================================= */

static void *park_until_cancelled(void *arg)
{
	corio_sleep(CORIO_SEC(10));
	return NULL;
}

/* Parked on an operation of its own: a sleep inside a timeout scope has its own timer. */
static void *park_on_own_timer(void *arg)
{
	corio_timeout to;

	corio_timeout_enter(&to, CORIO_SEC(20));
	corio_sleep(CORIO_SEC(10));
	corio_timeout_exit(&to);
	return NULL;
}

struct kind_case {
	corio_statistics st;
};

static void *kinds_main(void *arg)
{
	struct kind_case *kc = arg;
	corio_task *t[10];

	for (int i = 0; i < 10; i++)
		TH_CHECK((t[i] = corio_spawn(park_until_cancelled, NULL)) != NULL);
	corio_yield();
	TH_CHECK(corio_stats(&kc->st) == 0);
	for (int i = 0; i < 10; i++)
		corio_cancel(t[i]);
	TH_CHECK(corio_gather(t, 10, NULL) == -ECANCELED);
	return TH_OK;
}

START_TEST(test_stats_stack_kinds)
{
	static const corio_stack_kind kinds[] = { CORIO_STACK_AUTO, CORIO_STACK_GUARDED,
						  CORIO_STACK_PACKED };

	for (size_t i = 0; i < 3; i++) {
		corio_config cfg = th_config();
		struct kind_case kc;

		cfg.stack_kind = kinds[i];
		TH_RUN_EXPECT_OK(&cfg, kinds_main, &kc);
		ck_assert_uint_eq(kc.st.tasks_live, 11);
		ck_assert_uint_eq(kc.st.stacks_guarded + kc.st.stacks_packed, 11);
		if (kinds[i] == CORIO_STACK_PACKED)
			ck_assert_uint_eq(kc.st.stacks_guarded, 0);
		else /* AUTO: below guarded_max, all guarded */
			ck_assert_uint_eq(kc.st.stacks_packed, 0);
	}
}
END_TEST

static void *stats_main(void *arg)
{
	corio_statistics a, b;
	corio_task *t[5];

	TH_CHECK(corio_stats(&a) == 0);
	TH_CHECK(a.tasks_live == 1);
	TH_CHECK(a.tasks_spawned == 1);
	for (int i = 0; i < 5; i++)
		TH_CHECK((t[i] = corio_spawn(plus_one, NULL)) != NULL);
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(b.tasks_live == 6);
	TH_CHECK(b.tasks_spawned == 6);
	TH_CHECK(corio_gather(t, 5, NULL) == 0);
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(b.tasks_live == 1);
	TH_CHECK(b.tasks_spawned == 6);
	/* Each task runs twice (start, after its yield) and every run begins with a switch
	 * (tasks may hand over to each other directly, so a switch can end one run and
	 * begin the next); main parks once in gather. */
	TH_CHECK(b.switches - a.switches >= 5 * 2 + 1);
	TH_CHECK(b.faults_injected == 0);
	/* Link timeouts and cancel requests are SQEs too, and each brings its CQE. */
	{
		corio_timeout to;
		corio_task *sl;

		TH_CHECK(corio_stats(&a) == 0);
		corio_timeout_enter(&to, CORIO_SEC(5));
		TH_CHECK(corio_nop() == 0);
		TH_CHECK(!corio_timeout_exit(&to));
		TH_CHECK(corio_stats(&b) == 0);
		TH_CHECK(b.sqes_submitted - a.sqes_submitted == 2); /* nop + LINK_TIMEOUT */
		TH_CHECK(b.cqes_reaped - a.cqes_reaped == 2);
		TH_CHECK((sl = corio_spawn(park_on_own_timer, NULL)) != NULL);
		corio_yield(); /* it parks on its timeout */
		TH_CHECK(corio_stats(&a) == 0);
		corio_cancel(sl);
		TH_CHECK(corio_join(sl, NULL) == -ECANCELED);
		TH_CHECK(corio_stats(&b) == 0);
		TH_CHECK(b.sqes_submitted - a.sqes_submitted == 1); /* the ASYNC_CANCEL */
		/* A plain sleep shares its bucket's timer: leaving it submits nothing. */
		TH_CHECK((sl = corio_spawn(park_until_cancelled, NULL)) != NULL);
		corio_yield();
		TH_CHECK(corio_stats(&a) == 0);
		corio_cancel(sl);
		TH_CHECK(corio_join(sl, NULL) == -ECANCELED);
		TH_CHECK(corio_stats(&b) == 0);
		TH_CHECK(b.sqes_submitted - a.sqes_submitted == 0);
	}
	return TH_OK;
}

TH_TASK_TEST(test_stats_counts, stats_main)

int main(void)
{
	return th_main(TH_SUITE("stats", TH_TIMEOUT, test_stats_counts, test_stats_stack_kinds));
}
