/* tests/runtime/test_cancel.c: cancellation: of a sleeping task, before the first run,
 * racing the completion, sticky cancellation and shields, a cancellation pending during a
 * shield. *
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

/* ==== cancellation ===================================================================== */


static void *cancel_sleeping_main(void *arg)
{
	int rc = 1;
	void *res = NULL;
	corio_task *t = corio_spawn(sleep10s_rc, &rc);
	uint64_t t0;

	TH_CHECK(t != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(5)) == 0);
	TH_CHECK(rc == 1); /* still sleeping */
	t0 = corio_now();
	corio_cancel(t);
	TH_CHECK(corio_join(t, &res) == -ECANCELED);
	TH_CHECK(rc == -ECANCELED);
	TH_CHECK((uintptr_t)res == 42); /* the result fn returned, though cancelled */
	/* Ended by the cancellation, long before its own deadline. */
	TH_CHECK(corio_now() - t0 < CORIO_SEC(5));
	TH_CHECK(!corio_cancelled());
	return TH_OK;
}

TH_TASK_TEST(test_cancel_sleeping_task, cancel_sleeping_main)


static void *cancel_before_run_main(void *arg)
{
	void *res = (void *)1;
	corio_task *t = corio_spawn(quick, NULL);

	TH_CHECK(t != NULL);
	corio_cancel(t);
	corio_cancel(t); /* twice: no effect */
	TH_CHECK(corio_join(t, &res) == -ECANCELED);
	TH_CHECK(res == NULL);
	TH_CHECK(quick_ran == 0);
	/* Cancelling a finished task has no effect: the join reports its result. */
	t = corio_spawn(quick, NULL);
	TH_CHECK(t != NULL);
	while (quick_ran == 0)
		corio_yield();
	corio_cancel(t);
	TH_CHECK(corio_join(t, &res) == 0);
	TH_CHECK((uintptr_t)res == 7);
	/* Cancel of the detached, never-run kind. */
	t = corio_spawn(quick, NULL);
	TH_CHECK(t != NULL);
	corio_cancel(t);
	corio_detach(t);
	for (int i = 0; i < 10; i++)
		corio_yield();
	TH_CHECK(quick_ran == 1);
	return TH_OK;
}

TH_TASK_TEST(test_cancel_before_first_run, cancel_before_run_main)

/* ---- cancel racing completion ---- */

#define RACE_ROUNDS 10000
enum { RACE_NOP, RACE_SLEEP, RACE_YIELD, RACE_JOIN, RACE_KINDS };

struct race {
	int kind;
	unsigned us;
	int phase; /* 1: in the first call, 2: in the second, 3: finished */
	int started, returned;
	int rc, rc2, rc_rejoin;
	bool cancelled_seen;
};

static void *race_helper(void *arg)
{
	corio_sleep(CORIO_US((uintptr_t)arg));
	return NULL;
}

static void *race_rejoin(void *arg)
{
	return (void *)(intptr_t)corio_join(arg, NULL);
}

static void *race_target(void *arg)
{
	struct race *r = arg;
	corio_task *helper = NULL;

	if (r->kind == RACE_JOIN) {
		/* Spawned before the call, so the call parks on a wait, not on a ring op. */
		helper = corio_spawn(race_helper, (void *)(uintptr_t)r->us);
		if (!helper)
			return NULL;
	}
	r->phase = 1;
	r->started++;
	switch (r->kind) {
	case RACE_NOP:
		r->rc = corio_nop();
		break;
	case RACE_SLEEP:
		r->rc = corio_sleep(CORIO_US(r->us));
		break;
	case RACE_YIELD:
		r->rc = corio_sleep(0);
		break;
	case RACE_JOIN:
		r->rc = corio_join(helper, NULL);
		break;
	}
	r->returned++;
	r->phase = 2;
	r->rc2 = corio_nop();
	if (r->kind == RACE_JOIN && r->rc != 0) /* interrupted: the helper is still ours */
		r->rc_rejoin = (int)(intptr_t)corio_shield(race_rejoin, helper);
	r->cancelled_seen = corio_cancelled();
	r->phase = 3;
	return r;
}

static void *race_main(void *arg)
{
	static struct race rs[RACE_ROUNDS];
	int seen_cancelled[RACE_KINDS] = { 0 }, seen_real_after_cancel[RACE_KINDS] = { 0 };
	int never_ran = 0;

	for (int i = 0; i < RACE_ROUNDS; i++) {
		struct race *r = &rs[i];
		corio_task *t;
		int k = (i / RACE_KINDS) % 7, jr, phase;
		void *res = NULL;

		r->kind = i % RACE_KINDS;
		r->us = 1 + (unsigned)(i * 7919u) % 40;
		TH_CHECK((t = corio_spawn(race_target, r)) != NULL);
		for (int j = 0; j < k; j++)
			corio_yield();
		phase = r->phase; /* where the cancellation finds the target */
		corio_cancel(t);
		jr = corio_join(t, &res);
		TH_CHECK(jr == (phase == 3 ? 0 : -ECANCELED));
		TH_CHECK(r->started <= 1);
		TH_CHECK(r->returned == r->started); /* the call returned exactly once */
		if (!r->started) {
			TH_CHECK(phase == 0);
			TH_CHECK(res == NULL);
			never_ran++;
			continue;
		}
		TH_CHECK(res == r);
		TH_CHECK(r->phase == 3);
		TH_CHECK(r->rc == 0 || r->rc == -ECANCELED);
		TH_CHECK(r->cancelled_seen == (phase != 3));
		if (phase == 1) /* sticky: the next blocking call fails */
			TH_CHECK(r->rc2 == -ECANCELED);
		else if (phase == 2) /* cancelled during the second call */
			TH_CHECK(r->rc2 == 0 || r->rc2 == -ECANCELED);
		else
			TH_CHECK(r->rc2 == 0);
		if (r->kind == RACE_JOIN && r->rc != 0)
			TH_CHECK(r->rc_rejoin == 0);
		if (phase != 1)
			continue;
		if (r->rc == -ECANCELED)
			seen_cancelled[r->kind]++;
		else
			seen_real_after_cancel[r->kind]++;
	}
	fprintf(stderr,
		"cancel race: never ran %d; interrupted nop/sleep/yield/join %d/%d/%d/%d; "
		"real result although cancelled %d/%d/%d/%d\n",
		never_ran, seen_cancelled[0], seen_cancelled[1], seen_cancelled[2],
		seen_cancelled[3], seen_real_after_cancel[0], seen_real_after_cancel[1],
		seen_real_after_cancel[2], seen_real_after_cancel[3]);
	/* The schedule covered: never ran, interrupted, completed although cancelled. */
	TH_CHECK(never_ran > 0);
	TH_CHECK(seen_cancelled[RACE_SLEEP] > 0);
	TH_CHECK(seen_cancelled[RACE_JOIN] > 0);
	TH_CHECK(seen_real_after_cancel[RACE_NOP] > 0);
	TH_CHECK(seen_real_after_cancel[RACE_YIELD] > 0);
	return TH_OK;
}

TH_TASK_TEST(test_cancel_racing_completion, race_main)

/* ---- sticky cancellation and shields ---- */

struct sticky {
	int r[16];
};

static void *shield_body(void *arg)
{
	int *out = arg;

	out[0] = corio_nop();
	out[1] = corio_sleep(CORIO_MS(1));
	out[2] = corio_cancelled();
	return (void *)(uintptr_t)5;
}

/* Scopes entered inside a shield still apply. */
static void *scoped_sleep(void *arg)
{
	corio_timeout to;
	int rc;

	corio_timeout_enter(&to, CORIO_MS(5));
	rc = corio_sleep(CORIO_SEC(10));
	if (!corio_timeout_exit(&to))
		return (void *)(intptr_t)1;
	return (void *)(intptr_t)rc;
}

static void *sticky_task(void *arg)
{
	struct sticky *s = arg;
	int sh[3] = { 1, 1, 1 };
	corio_task *child;

	s->r[0] = corio_sleep(CORIO_SEC(10));
	s->r[1] = corio_nop();
	s->r[2] = corio_sleep(CORIO_MS(1));
	s->r[3] = corio_sleep(0);
	s->r[4] = corio_cancelled();
	s->r[5] = (int)(uintptr_t)corio_shield(shield_body, sh);
	s->r[6] = sh[0];
	s->r[7] = sh[1];
	s->r[8] = sh[2];
	s->r[9] = corio_nop();
	child = corio_spawn(quick, NULL);
	s->r[10] = child ? corio_join(child, NULL) : 1; /* -ECANCELED, child not freed */
	if (child)
		corio_detach(child);
	s->r[11] = corio_sleep_until(corio_now() + CORIO_MS(1));
	s->r[12] = (int)(intptr_t)corio_shield(scoped_sleep, NULL);
	return NULL;
}

static void *sticky_main(void *arg)
{
	struct sticky s;
	corio_task *t;

	memset(&s, 0x55, sizeof s);
	TH_CHECK((t = corio_spawn(sticky_task, &s)) != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(2)) == 0);
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	TH_CHECK(s.r[0] == -ECANCELED);
	TH_CHECK(s.r[1] == -ECANCELED);
	TH_CHECK(s.r[2] == -ECANCELED);
	TH_CHECK(s.r[3] == -ECANCELED);
	TH_CHECK(s.r[4] == 1);
	TH_CHECK(s.r[5] == 5);
	TH_CHECK(s.r[6] == 0);  /* nop inside the shield */
	TH_CHECK(s.r[7] == 0);  /* sleep inside the shield */
	TH_CHECK(s.r[8] == 1);  /* corio_cancelled() still says so */
	TH_CHECK(s.r[9] == -ECANCELED);
	TH_CHECK(s.r[10] == -ECANCELED);
	TH_CHECK(s.r[11] == -ECANCELED);
	TH_CHECK(s.r[12] == -ETIMEDOUT);
	return TH_OK;
}

TH_TASK_TEST(test_cancel_sticky_and_shield, sticky_main)

/* A cancellation that arrives while the task sleeps inside a shield waits for the shield. */


static void *shield_pending_task(void *arg)
{
	int *r = arg;
	uint64_t t0 = corio_now();

	corio_shield(shielded_sleep, &r[0]);
	r[1] = corio_now() - t0 >= CORIO_MS(30);
	r[2] = corio_nop();
	return NULL;
}

static void *shield_pending_main(void *arg)
{
	int r[3] = { 1, 0, 1 };
	corio_task *t = corio_spawn(shield_pending_task, r);

	TH_CHECK(t != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(5)) == 0);
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	TH_CHECK(r[0] == 0);
	TH_CHECK(r[1] == 1);
	TH_CHECK(r[2] == -ECANCELED);
	return TH_OK;
}

TH_TASK_TEST(test_cancel_pending_during_shield, shield_pending_main)

int main(void)
{
	return th_main(TH_SUITE("cancel", TH_TIMEOUT, test_cancel_sleeping_task, test_cancel_before_first_run, test_cancel_racing_completion, test_cancel_sticky_and_shield, test_cancel_pending_during_shield));
}
