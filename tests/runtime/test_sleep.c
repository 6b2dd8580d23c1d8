/* tests/runtime/test_sleep.c: sleeps that end together share one kernel timer (runtime/time/sleep.c).
 * Checked: a burst of equal sleeps arms few timers and none ends early; wake-ups keep
 * deadline order; a cancelled member leaves its bucket without disturbing the others;
 * a bucket whose members all left still lets the loop end; interleaved durations (buckets
 * meeting in the same slot) all end on time; sleeps under a millisecond keep a timer each;
 * a sleep in a timeout scope keeps a timer of its own and the scope still fires. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <corio/corio.h>

#include "tests/support/helpers.h"
#include "tests/runtime/runtime_helpers.h"

/* ---- a burst of equal sleeps ---- */

#define BURST 1000
/* The burst's deadline is a multiple of 2^20 ns (~1 ms), so a multiple of every grid a
 * sleep rounds to (powers of two, at most 65.5 us: runtime/time/sleep.c): each sleeper's
 * rounded deadline is the deadline itself, however much time it has left. */
#define BURST_ALIGN (1ull << 20)
/* A sleep with at least this much left shares a bucket; one with under ~1 ms left keeps a
 * timer of its own, by design. */
#define BURST_SHARES CORIO_MS(2)

static int burst_started, burst_early, burst_bad;
static uint64_t burst_deadline;

/* One absolute deadline for all: however slowly the tasks start (a loaded machine, a
 * sanitizer), they round to the same instant. */
static void *burst_sleeper(void *arg)
{
	burst_started++;
	if (corio_sleep_until(burst_deadline) != 0)
		burst_bad++;
	else if (corio_now() < burst_deadline)
		burst_early++;
	return NULL;
}

/* One burst with its deadline lead ahead: *sqes gets the SQEs it submitted, *late whether
 * the last sleeper parked less than BURST_SHARES before the deadline (then it may rightly
 * have had a timer of its own, and the count says nothing). */
static void *burst_round(uint64_t lead, uint64_t *sqes, bool *late)
{
	static corio_task *t[BURST];
	corio_statistics a, b;
	uint64_t all_parked;

	burst_started = 0;
	TH_CHECK(corio_stats(&a) == 0);
	burst_deadline = (corio_now() + lead + BURST_ALIGN - 1) & ~(BURST_ALIGN - 1);
	for (int i = 0; i < BURST; i++)
		TH_CHECK((t[i] = corio_spawn(burst_sleeper, NULL)) != NULL);
	/* A sleeper that started runs on to its park without yielding: once all have started,
	 * the clock is past every reading sleep.c took for them. */
	while (burst_started < BURST)
		corio_yield();
	all_parked = corio_now();
	TH_CHECK(corio_gather(t, BURST, NULL) == 0);
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(burst_bad == 0);
	TH_CHECK(burst_early == 0);
	*sqes = b.sqes_submitted - a.sqes_submitted;
	*late = all_parked + BURST_SHARES > burst_deadline;
	return TH_OK;
}

static void *burst_main(void *arg)
{
	uint64_t sqes = 0;
	bool late = true;
	void *failed;

	/* A machine stalled for the whole lead (200 ms) leaves the last sleepers under a
	 * millisecond: that round proves nothing, and the next one has twice the lead. */
	for (uint64_t lead = CORIO_MS(200); late; lead *= 2) {
		TH_CHECK(lead <= CORIO_MS(6400)); /* 12.6 s in all, within the tcase timeout */
		if ((failed = burst_round(lead, &sqes, &late)))
			return failed;
	}
	/* One timer for the 1000: one each would be 1000. */
	TH_CHECK(sqes < 10);
	return TH_OK;
}

TH_TASK_TEST(test_burst_shares_timers, burst_main)

/* ---- order ---- */

#define ORDERED 200

static int order_log[ORDERED], order_n;
static uint64_t order_base;

static void *ordered_sleeper(void *arg)
{
	uintptr_t i = (uintptr_t)arg;

	/* Deadlines 1 ms apart, spawned in reverse: wake-ups must come back in order. */
	if (corio_sleep_until(order_base + i * CORIO_MS(1)) == 0)
		order_log[order_n++] = (int)i;
	return NULL;
}

static void *order_main(void *arg)
{
	corio_task *t[ORDERED];

	order_base = corio_now() + CORIO_MS(50);
	for (int i = ORDERED - 1; i >= 0; i--)
		TH_CHECK((t[i] = corio_spawn(ordered_sleeper, (void *)(uintptr_t)i)) != NULL);
	TH_CHECK(corio_gather(t, ORDERED, NULL) == 0);
	TH_CHECK(order_n == ORDERED);
	for (int i = 0; i < ORDERED; i++)
		TH_CHECK(order_log[i] == i);
	return TH_OK;
}

TH_TASK_TEST(test_wakeups_in_deadline_order, order_main)

/* ---- cancelling members ---- */

#define MEMBERS 50

static int member_rc[MEMBERS];

static void *member(void *arg)
{
	uintptr_t i = (uintptr_t)arg;

	member_rc[i] = corio_sleep(CORIO_SEC(2)); /* far beyond the cancels, however slow */
	return NULL;
}

static void *cancel_some_main(void *arg)
{
	corio_task *t[MEMBERS];
	uint64_t t0 = corio_now();

	for (uintptr_t i = 0; i < MEMBERS; i++)
		TH_CHECK((t[i] = corio_spawn(member, (void *)i)) != NULL);
	corio_sleep(CORIO_MS(10));
	for (int i = 0; i < MEMBERS; i += 3) /* the first, the last, and between */
		corio_cancel(t[i]);
	corio_cancel(t[MEMBERS - 1]);
	for (int i = 0; i < MEMBERS; i++) {
		bool cancelled = i % 3 == 0 || i == MEMBERS - 1;

		TH_CHECK(corio_join(t[i], NULL) == (cancelled ? -ECANCELED : 0));
		TH_CHECK(member_rc[i] == (cancelled ? -ECANCELED : 0));
	}
	TH_CHECK(corio_now() - t0 >= CORIO_SEC(2));
	return TH_OK;
}

TH_TASK_TEST(test_cancelled_members_leave_the_rest, cancel_some_main)

static void *cancel_all_main(void *arg)
{
	corio_task *t[MEMBERS];

	for (uintptr_t i = 0; i < MEMBERS; i++)
		TH_CHECK((t[i] = corio_spawn(member, (void *)i)) != NULL);
	corio_yield();
	for (int i = 0; i < MEMBERS; i++)
		corio_cancel(t[i]);
	TH_CHECK(corio_gather(t, MEMBERS, NULL) == -ECANCELED);
	for (int i = 0; i < MEMBERS; i++)
		TH_CHECK(member_rc[i] == -ECANCELED);
	return TH_OK;
}

START_TEST(test_emptied_bucket_does_not_hold_the_loop)
{
	/* The bucket's 2 s timer is still armed at the end: the loop cancels it. */
	ck_assert_uint_lt(th_run_ok_ns(NULL, cancel_all_main, NULL), CORIO_SEC(30));
}
END_TEST

/* ---- interleaved durations ---- */

#define MIXED 600

static void *mixed_sleeper(void *arg)
{
	uintptr_t i = (uintptr_t)arg;
	uint64_t ns = CORIO_MS(5) * (1 + i % 7), t0 = corio_now();

	TH_CHECK(corio_sleep(ns) == 0);
	TH_CHECK(corio_now() - t0 >= ns);
	return TH_OK;
}

START_TEST(test_interleaved_durations)
{
	run_batch_ok(NULL, mixed_sleeper, MIXED);
}
END_TEST

/* ---- short sleeps stay exact ---- */

#define SHORT 50

static uint64_t short_deadline;
static int short_bad;

static void *short_sleeper(void *arg)
{
	if (corio_sleep_until(short_deadline) != 0 || corio_now() < short_deadline)
		short_bad++;
	return NULL;
}

static void *short_relative(void *arg)
{
	uint64_t t0 = corio_now();

	if (corio_sleep(CORIO_US(500)) != 0 || corio_now() - t0 < CORIO_US(500))
		short_bad++;
	return NULL;
}

static void *short_main(void *arg)
{
	corio_statistics a, b;

	TH_CHECK(corio_stats(&a) == 0);
	short_deadline = corio_now() + CORIO_MS(20);
	TH_CHECK(spawn_gather(short_sleeper, SHORT, NULL) == 0);
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(short_bad == 0);
	/* Started 20 ms ahead the tasks share timers; the point is the next round. */
	TH_CHECK(b.sqes_submitted - a.sqes_submitted < SHORT);
	TH_CHECK(corio_stats(&a) == 0);
	TH_CHECK(spawn_gather(short_relative, SHORT, NULL) == 0); /* under 1 ms: a timer each */
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(short_bad == 0);
	TH_CHECK(b.sqes_submitted - a.sqes_submitted == SHORT);
	return TH_OK;
}

TH_TASK_TEST(test_short_sleeps_keep_own_timer, short_main)

/* ---- in a scope ---- */

static void *scoped_main(void *arg)
{
	corio_timeout to;
	uint64_t t0 = corio_now();

	corio_timeout_enter(&to, CORIO_MS(30));
	TH_CHECK(corio_sleep(CORIO_SEC(5)) == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&to));
	TH_CHECK(corio_now() - t0 >= CORIO_MS(30));
	TH_CHECK(corio_now() - t0 < CORIO_SEC(4));
	return TH_OK;
}

TH_TASK_TEST(test_scope_shorter_than_sleep, scoped_main)

int main(void)
{
	return th_main(TH_SUITE("sleep", TH_TIMEOUT, test_burst_shares_timers, test_wakeups_in_deadline_order,
				test_cancelled_members_leave_the_rest,
				test_emptied_bucket_does_not_hold_the_loop, test_interleaved_durations,
				test_short_sleeps_keep_own_timer, test_scope_shorter_than_sleep));
}
