/* tests/runtime/test_chan_join.c: asyncio.Queue's task_done()/join() on corio_chan
 * (corio/sync.h): the workers pattern on every kind of channel, what counts as sent (direct
 * hand-offs, parked senders taken, not cancelled ones), task_done called too often, join on
 * nothing, several joiners, close not ending a join, cancellation and timeouts leaving the
 * counter alone, and corio_chan_free waking joiners with -EPIPE. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "tests/support/helpers.h"
#include "tests/runtime/sync_helpers.h"

static corio_chan *ch;

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* ==== the workers pattern (asyncio's Queue example) ===================================== */

enum { WORKERS = 3, JOBS = 60 };
static int processed, done_sum;

/* Takes jobs forever, "works" a few turns on each, then accounts for it. */
static void *worker(void *arg)
{
	int v;

	while (corio_chan_recv(ch, &v) == 0) {
		yields(v % 4);
		processed++;
		done_sum += v;
		ck_assert_int_eq(corio_chan_task_done(ch), 0);
	}
	return NULL; /* cancelled at the end, as asyncio's example cancels its workers */
}

static void workers_on(corio_chan *c)
{
	corio_task *w[WORKERS];

	ch = c;
	processed = done_sum = 0;
	for (int i = 0; i < WORKERS; i++)
		ck_assert_ptr_nonnull(w[i] = corio_spawn(worker, NULL));
	for (int i = 1; i <= JOBS; i++)
		ck_assert_int_eq(corio_chan_send(ch, &i), 0);
	ck_assert_int_eq(corio_chan_join(ch), 0);
	/* join returned only once every job was processed and accounted for */
	ck_assert_int_eq(processed, JOBS);
	ck_assert_int_eq(done_sum, JOBS * (JOBS + 1) / 2);
	ck_assert_uint_eq(corio_chan_unfinished(ch), 0);
	for (int i = 0; i < WORKERS; i++)
		corio_cancel(w[i]);
	for (int i = 0; i < WORKERS; i++)
		ck_assert_int_eq(corio_join(w[i], NULL), -ECANCELED);
	corio_chan_free(ch);
}

static void *workers_main(void *arg)
{
	workers_on(corio_chan_new(4, sizeof(int)));
	workers_on(corio_chan_new(0, sizeof(int)));
	workers_on(corio_chan_new_lifo(4, sizeof(int)));
	workers_on(corio_chan_new_priority(4, sizeof(int), cmp_int));
	return NULL;
}

START_TEST(join_workers)
{
	run(workers_main);
}
END_TEST

/* ==== counting ========================================================================= */

static void *receiver(void *arg)
{
	int v = -1, rc = corio_chan_recv(ch, &v);

	results[P2I(arg)] = rc == 0 ? v : rc;
	return NULL;
}

static void *sender(void *arg)
{
	int v = P2I(arg);

	results[v] = corio_chan_send(ch, &v);
	return NULL;
}

static void *count_main(void *arg)
{
	corio_task *t;
	int v = 1;

	/* join with nothing unfinished returns at once, task_done has nothing to account for */
	ck_assert_ptr_nonnull(ch = corio_chan_new(2, sizeof(int)));
	ck_assert_int_eq(corio_chan_join(ch), 0);
	ck_assert_int_eq(corio_chan_task_done(ch), -EINVAL);
	/* buffered sends count; receiving does not account for them */
	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	ck_assert_int_eq(corio_chan_try_send(ch, &v), 0);
	ck_assert_int_eq(corio_chan_try_send(ch, &v), -EAGAIN); /* not sent: not counted */
	ck_assert_uint_eq(corio_chan_unfinished(ch), 2);
	ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), 0);
	ck_assert_uint_eq(corio_chan_unfinished(ch), 2);
	ck_assert_int_eq(corio_chan_task_done(ch), 0);
	ck_assert_int_eq(corio_chan_task_done(ch), 0);
	ck_assert_int_eq(corio_chan_task_done(ch), -EINVAL); /* once too often: unchanged */
	ck_assert_uint_eq(corio_chan_unfinished(ch), 0);
	corio_chan_free(ch);

	/* rendezvous: a hand-off to a parked receiver counts, so does a parked sender taken */
	ck_assert_ptr_nonnull(ch = corio_chan_new(0, sizeof(int)));
	t = corio_spawn(receiver, I2P(0));
	yields(2);
	v = 5;
	ck_assert_int_eq(corio_chan_try_send(ch, &v), 0);
	ck_assert_uint_eq(corio_chan_unfinished(ch), 1);
	ck_assert_int_eq(corio_join(t, NULL), 0);
	ck_assert_int_eq(results[0], 5);
	t = corio_spawn(sender, I2P(7));
	yields(2);
	ck_assert_uint_eq(corio_chan_unfinished(ch), 1); /* parked: not sent yet */
	ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
	ck_assert_uint_eq(corio_chan_unfinished(ch), 2);
	ck_assert_int_eq(corio_join(t, NULL), 0);
	/* a parked sender that is cancelled sent nothing */
	t = corio_spawn(sender, I2P(9));
	yields(2);
	corio_cancel(t);
	ck_assert_int_eq(corio_join(t, NULL), -ECANCELED);
	ck_assert_int_eq(results[9], -ECANCELED);
	ck_assert_uint_eq(corio_chan_unfinished(ch), 2);
	corio_chan_free(ch);

	/* a full buffered channel: the parked sender's element counts when it enters */
	ck_assert_ptr_nonnull(ch = corio_chan_new_priority(1, sizeof(int), cmp_int));
	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	t = corio_spawn(sender, I2P(11));
	yields(2);
	ck_assert_uint_eq(corio_chan_unfinished(ch), 1);
	ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
	ck_assert_uint_eq(corio_chan_unfinished(ch), 2);
	ck_assert_int_eq(corio_join(t, NULL), 0);
	ck_assert_int_eq(results[11], 0);
	corio_chan_free(ch);
	return NULL;
}

START_TEST(join_counting)
{
	ck_assert_int_eq(corio_chan_task_done(NULL), -EINVAL);
	ck_assert_int_eq(corio_chan_join(NULL), -EINVAL);
	ck_assert_uint_eq(corio_chan_unfinished(NULL), 0);
	/* outside a task join refuses, task_done works */
	ck_assert_ptr_nonnull(ch = corio_chan_new(1, sizeof(int)));
	ck_assert_int_eq(corio_chan_join(ch), -EPERM);
	ck_assert_int_eq(corio_chan_try_send(ch, &(int){ 1 }), 0);
	ck_assert_int_eq(corio_chan_task_done(ch), 0);
	corio_chan_free(ch);
	run(count_main);
}
END_TEST

/* ==== joiners: several, close, cancellation, timeouts, free ============================= */

static void *joiner(void *arg)
{
	results[P2I(arg)] = corio_chan_join(ch);
	record(P2I(arg));
	return NULL;
}

static void *joiners_main(void *arg)
{
	corio_task *t[3];
	int v = 1;

	ck_assert_ptr_nonnull(ch = corio_chan_new(4, sizeof(int)));
	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	for (int i = 0; i < 3; i++) {
		t[i] = corio_spawn(joiner, I2P(i));
		yields(1);
	}
	yields(2);
	corio_chan_close(ch); /* closing ends no join: two elements are unfinished */
	corio_cancel(t[1]);   /* a joiner leaves; the counter stays */
	ck_assert_int_eq(corio_join(t[1], NULL), -ECANCELED);
	ck_assert_int_eq(results[1], -ECANCELED);
	ck_assert_uint_eq(corio_chan_unfinished(ch), 2);
	ck_assert_int_eq(corio_chan_task_done(ch), 0);
	yields(3);
	ck_assert_int_eq(norder, 1); /* only the cancelled one returned */
	ck_assert_int_eq(corio_chan_task_done(ch), 0); /* zero: every joiner, in order */
	ck_assert_int_eq(corio_join(t[0], NULL), 0);
	ck_assert_int_eq(corio_join(t[2], NULL), 0);
	ck_assert_int_eq(results[0], 0);
	ck_assert_int_eq(results[2], 0);
	ck_assert_int_eq(order[1], 0);
	ck_assert_int_eq(order[2], 2);
	corio_chan_free(ch);
	return NULL;
}

START_TEST(join_joiners)
{
	run(joiners_main);
}
END_TEST

static void *timeout_main(void *arg)
{
	corio_timeout to;
	corio_task *t;
	int v = 1;

	ck_assert_ptr_nonnull(ch = corio_chan_new(4, sizeof(int)));
	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	corio_timeout_enter(&to, CORIO_MS(5));
	ck_assert_int_eq(corio_chan_join(ch), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	ck_assert_uint_eq(corio_chan_unfinished(ch), 1);
	/* past its deadline, a scope fails even a join that would return at once */
	corio_timeout_enter(&to, CORIO_MS(1));
	while (corio_now() < to.deadline)
		corio_yield();
	ck_assert_int_eq(corio_chan_task_done(ch), 0);
	ck_assert_int_eq(corio_chan_join(ch), -ETIMEDOUT);
	corio_timeout_exit(&to);
	/* a scope that does not expire leaves a join that completes alone */
	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	t = corio_spawn(joiner, I2P(0));
	yields(2);
	corio_timeout_enter(&to, CORIO_SEC(60));
	ck_assert_int_eq(corio_chan_task_done(ch), 0);
	ck_assert_int_eq(corio_chan_join(ch), 0);
	ck_assert(!corio_timeout_exit(&to));
	ck_assert_int_eq(corio_join(t, NULL), 0);
	ck_assert_int_eq(results[0], 0);
	/* free wakes parked joiners with -EPIPE */
	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	t = corio_spawn(joiner, I2P(1));
	yields(2);
	corio_chan_free(ch);
	ck_assert_int_eq(corio_join(t, NULL), 0);
	ck_assert_int_eq(results[1], -EPIPE);
	return NULL;
}

START_TEST(join_timeout_free)
{
	run(timeout_main);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE_EACH("chan_join", 60, join_workers, join_counting, join_joiners,
				     join_timeout_free));
}
