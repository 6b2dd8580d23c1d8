/* tests/runtime/test_barrier.c: corio_barrier (corio/sync.h): arguments and the one-party
 * barrier, arrival indices (a permutation of 0..parties-1 in every round, in arrival
 * order) over many rounds, abort and reset (-EPIPE), a cancelled or timed-out waiter
 * leaving its round without breaking it, and a waiter cancelled after its release keeping
 * its index. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "tests/support/helpers.h"
#include "tests/runtime/sync_helpers.h"

static corio_barrier b;

/* Yields until n tasks wait on b: bounded by turns, not by time. */
static void wait_for_waiting(size_t n)
{
	for (int i = 0; i < 10000 && corio_barrier_waiting(&b) != n; i++)
		corio_yield();
	ck_assert_uint_eq(corio_barrier_waiting(&b), n);
}

/* One wait; results[arg] = its result. */
static void *waiter(void *arg)
{
	results[P2I(arg)] = corio_barrier_wait(&b);
	return NULL;
}

static corio_task *spawn_waiter(int slot)
{
	corio_task *t = corio_spawn(waiter, I2P(slot));

	ck_assert_ptr_nonnull(t);
	return t;
}

/* ==== arguments, one party ============================================================= */

static void *one_main(void *arg)
{
	ck_assert_int_eq(corio_barrier_init(&b, 1), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(corio_barrier_wait(&b), 0); /* the last to arrive: no park */
	ck_assert_uint_eq(corio_barrier_waiting(&b), 0);
	ck_assert_int_eq(corio_barrier_wait(NULL), -EINVAL);
	return NULL;
}

START_TEST(barrier_args)
{
	corio_barrier zero = { 0 };

	ck_assert_int_eq(corio_barrier_init(NULL, 2), -EINVAL);
	ck_assert_int_eq(corio_barrier_init(&b, 0), -EINVAL);
	ck_assert_int_eq(corio_barrier_init(&b, (size_t)INT_MAX + 1), -EINVAL);
	ck_assert_int_eq(corio_barrier_abort(NULL), -EINVAL);
	ck_assert_int_eq(corio_barrier_reset(NULL), -EINVAL);
	ck_assert_uint_eq(corio_barrier_waiting(NULL), 0);
	ck_assert(!corio_barrier_broken(NULL));
	ck_assert_int_eq(corio_barrier_wait(&zero), -EINVAL); /* never initialised */
	ck_assert_int_eq(corio_barrier_init(&b, 1), 0);
	ck_assert_int_eq(corio_barrier_wait(&b), -EPERM); /* outside a task */
	ck_assert(!corio_barrier_broken(&b));
	run(one_main);
}
END_TEST

/* ==== rounds =========================================================================== */

enum { PARTIES = 3, ROUNDS = 300 };
static int seen[ROUNDS][PARTIES];

/* Waits ROUNDS times; its k-th wait is in round k (no round completes without it). */
static void *rounds_task(void *arg)
{
	for (int k = 0; k < ROUNDS; k++) {
		int idx = corio_barrier_wait(&b);

		ck_assert_int_ge(idx, 0);
		ck_assert_int_lt(idx, PARTIES);
		seen[k][idx]++;
		yields(P2I(arg) * k % 3); /* arrive in a different order each round */
	}
	return NULL;
}

static void *rounds_main(void *arg)
{
	corio_task *t[PARTIES];

	ck_assert_int_eq(corio_barrier_init(&b, PARTIES), 0);
	for (int i = 0; i < PARTIES; i++)
		ck_assert_ptr_nonnull(t[i] = corio_spawn(rounds_task, I2P(i)));
	ck_assert_int_eq(corio_gather(t, PARTIES, NULL), 0);
	for (int k = 0; k < ROUNDS; k++)
		for (int i = 0; i < PARTIES; i++)
			ck_assert_int_eq(seen[k][i], 1); /* a permutation of 0..2 */
	ck_assert_uint_eq(corio_barrier_waiting(&b), 0);
	ck_assert(!corio_barrier_broken(&b));

	/* indices follow arrival order */
	for (int i = 0; i < PARTIES - 1; i++) {
		t[i] = spawn_waiter(i);
		wait_for_waiting((size_t)i + 1);
	}
	ck_assert_int_eq(corio_barrier_wait(&b), PARTIES - 1);
	ck_assert_int_eq(corio_gather(t, PARTIES - 1, NULL), 0);
	for (int i = 0; i < PARTIES - 1; i++)
		ck_assert_int_eq(results[i], i);
	return NULL;
}

START_TEST(barrier_rounds)
{
	run(rounds_main);
}
END_TEST

/* ==== abort and reset ================================================================== */

static void *abort_main(void *arg)
{
	corio_task *t[3];

	ck_assert_int_eq(corio_barrier_init(&b, 3), 0);
	t[0] = spawn_waiter(0);
	t[1] = spawn_waiter(1);
	wait_for_waiting(2);
	ck_assert_int_eq(corio_barrier_abort(&b), 0);
	ck_assert(corio_barrier_broken(&b));
	ck_assert_uint_eq(corio_barrier_waiting(&b), 0);
	ck_assert_int_eq(corio_gather(t, 2, NULL), 0);
	ck_assert_int_eq(results[0], -EPIPE);
	ck_assert_int_eq(results[1], -EPIPE);
	ck_assert_int_eq(corio_barrier_wait(&b), -EPIPE); /* broken until reset */
	ck_assert_int_eq(corio_barrier_abort(&b), 0);     /* idempotent */
	ck_assert_int_eq(corio_barrier_reset(&b), 0);
	ck_assert(!corio_barrier_broken(&b));

	/* reset with waiters: they get -EPIPE, the barrier stays usable */
	t[0] = spawn_waiter(2);
	t[1] = spawn_waiter(3);
	wait_for_waiting(2);
	ck_assert_int_eq(corio_barrier_reset(&b), 0);
	ck_assert(!corio_barrier_broken(&b));
	ck_assert_uint_eq(corio_barrier_waiting(&b), 0);
	ck_assert_int_eq(corio_gather(t, 2, NULL), 0);
	ck_assert_int_eq(results[2], -EPIPE);
	ck_assert_int_eq(results[3], -EPIPE);

	/* a whole round after the reset */
	t[0] = spawn_waiter(4);
	t[1] = spawn_waiter(5);
	wait_for_waiting(2);
	ck_assert_int_eq(corio_barrier_wait(&b), 2);
	ck_assert_int_eq(corio_gather(t, 2, NULL), 0);
	ck_assert_int_eq(results[4], 0);
	ck_assert_int_eq(results[5], 1);
	return NULL;
}

START_TEST(barrier_abort_reset)
{
	run(abort_main);
}
END_TEST

/* ==== cancellation and timeouts ======================================================== */

static void *self_cancelled(void *arg)
{
	corio_cancel(corio_current());
	results[5] = corio_barrier_wait(&b);
	return NULL;
}

static void *cancel_main(void *arg)
{
	corio_task *t[4];

	ck_assert_int_eq(corio_barrier_init(&b, 3), 0);
	t[0] = spawn_waiter(0);
	t[1] = spawn_waiter(1);
	wait_for_waiting(2);
	/* the first leaves the round at once; the round is not broken */
	corio_cancel(t[0]);
	ck_assert_uint_eq(corio_barrier_waiting(&b), 1);
	ck_assert_int_eq(corio_join(t[0], NULL), -ECANCELED);
	ck_assert_int_eq(results[0], -ECANCELED);
	ck_assert(!corio_barrier_broken(&b));
	/* another arrival takes its place; the round completes with the main task */
	t[2] = spawn_waiter(2);
	wait_for_waiting(2);
	ck_assert_int_eq(corio_barrier_wait(&b), 2);
	ck_assert_int_eq(corio_join(t[1], NULL), 0);
	ck_assert_int_eq(corio_join(t[2], NULL), 0);
	ck_assert_int_eq(results[1], 0);
	ck_assert_int_eq(results[2], 1);

	/* cancelled after its release, before it ran: it keeps its index */
	t[3] = spawn_waiter(3);
	wait_for_waiting(1);
	t[0] = spawn_waiter(4);
	wait_for_waiting(2);
	ck_assert_int_eq(corio_barrier_wait(&b), 2);
	corio_cancel(t[3]);
	ck_assert_int_eq(corio_join(t[3], NULL), -ECANCELED); /* the task still counts as cancelled */
	ck_assert_int_eq(results[3], 0);
	ck_assert_int_eq(corio_join(t[0], NULL), 0);
	ck_assert_int_eq(results[4], 1);

	/* a cancelled task does not even arrive */
	t[0] = corio_spawn(self_cancelled, NULL);
	ck_assert_int_eq(corio_join(t[0], NULL), -ECANCELED);
	ck_assert_int_eq(results[5], -ECANCELED);
	ck_assert_uint_eq(corio_barrier_waiting(&b), 0);
	return NULL;
}

START_TEST(barrier_cancel)
{
	run(cancel_main);
}
END_TEST

static void *timeout_main(void *arg)
{
	corio_timeout to;
	corio_task *t;

	ck_assert_int_eq(corio_barrier_init(&b, 2), 0);
	corio_timeout_enter(&to, CORIO_MS(5));
	ck_assert_int_eq(corio_barrier_wait(&b), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	ck_assert_uint_eq(corio_barrier_waiting(&b), 0); /* it left the round */
	ck_assert(!corio_barrier_broken(&b));
	/* a scope that does not expire: the round completes inside it */
	t = spawn_waiter(0);
	corio_timeout_enter(&to, CORIO_SEC(60));
	ck_assert_int_eq(corio_barrier_wait(&b), 0); /* first to arrive: parked */
	ck_assert(!corio_timeout_exit(&to));
	ck_assert_int_eq(corio_join(t, NULL), 0);
	ck_assert_int_eq(results[0], 1);
	return NULL;
}

START_TEST(barrier_timeout)
{
	run(timeout_main);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE_EACH("barrier", 60, barrier_args, barrier_rounds,
				     barrier_abort_reset, barrier_cancel, barrier_timeout));
}
