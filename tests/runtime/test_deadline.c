/* tests/runtime/test_deadline.c: loop-kept I/O deadlines (runtime/time/deadline.h), the mechanism behind
 * the HTTP client's and server's own timeouts: a receive past its deadline returns
 * -ETIMEDOUT and never before it; data that arrived is not lost; an earlier deadline moves
 * the loop's one timer forward; a pending timer does not hold the loop's end; corio_cancel
 * still wins; a deadline that passed between two calls fails the second; no deadline
 * (UINT64_MAX) arms nothing; waits (a multishot receiver's, a channel's) are interrupted
 * too and take nothing meant for another waiter; many tasks with different deadlines each
 * expire on time. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <corio/corio.h>

#include "runtime/time/deadline.h"
#include "tests/support/helpers.h"
#include "tests/runtime/runtime_helpers.h"

static int pair[2];

static void open_pair(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
}

static void close_pair(void)
{
	close(pair[0]);
	close(pair[1]);
}

/* Runs body in a loop with a fresh socket pair. */
static void with_pair(corio_fn body)
{
	open_pair();
	TH_RUN_EXPECT_OK(NULL, body, NULL);
	close_pair();
}

/* recv of one byte on fd under a deadline `ns` from now. */
static ssize_t recv_within(int fd, char *b, uint64_t ns)
{
	corio__deadline d;

	corio__deadline_begin(&d, ns == UINT64_MAX ? UINT64_MAX : corio_now() + ns);
	return corio__deadline_end(&d, corio_recv(fd, b, 1, 0));
}

/* ---- expiry, and nothing lost ---- */

static void *expires_body(void *arg)
{
	uint64_t t0 = corio_now();
	char b = 0;

	TH_CHECK(recv_within(pair[0], &b, CORIO_MS(50)) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(50));
	/* The socket is intact and the next call is not affected. */
	TH_CHECK(write(pair[1], "x", 1) == 1);
	TH_CHECK(recv_within(pair[0], &b, CORIO_SEC(5)) == 1 && b == 'x');
	return TH_OK;
}

START_TEST(test_expires_not_early)
{
	with_pair(expires_body);
}
END_TEST

/* ---- data in time; the pending timer does not hold the loop ---- */

static void *late_writer(void *arg)
{
	corio_sleep(CORIO_MS(10));
	return corio_send(pair[1], "y", 1, 0) == 1 ? TH_OK : "send";
}

static void *in_time_body(void *arg)
{
	corio_task *w = corio_spawn(late_writer, NULL);
	void *wr = NULL;
	char b = 0;

	TH_CHECK(w);
	TH_CHECK(recv_within(pair[0], &b, CORIO_SEC(120)) == 1 && b == 'y');
	TH_CHECK(corio_join(w, &wr) == 0 && wr == TH_OK);
	return TH_OK;
}

START_TEST(test_in_time_and_loop_ends)
{
	uint64_t t0 = th_now();

	with_pair(in_time_body);
	/* The loop's timer was still armed for 120 s: the end of the run cancels it. */
	ck_assert_uint_lt(th_now() - t0, CORIO_SEC(60));
}
END_TEST

/* ---- an earlier deadline moves the timer ---- */

static void *long_waiter(void *arg)
{
	char b;

	return (void *)(intptr_t)recv_within(pair[0], &b, CORIO_SEC(120));
}

static void *earlier_body(void *arg)
{
	corio_task *a = corio_spawn(long_waiter, NULL);
	uint64_t t0;
	void *ar = NULL;
	int q[2];
	char b;

	TH_CHECK(a);
	corio_sleep(CORIO_MS(5)); /* a is parked, the loop's timer set for 120 s */
	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, q) == 0);
	t0 = corio_now();
	TH_CHECK(recv_within(q[0], &b, CORIO_MS(30)) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(30));
	TH_CHECK(corio_now() - t0 < CORIO_SEC(60));
	close(q[0]);
	close(q[1]);
	corio_cancel(a);
	TH_CHECK(corio_join(a, &ar) == -ECANCELED);
	return TH_OK;
}

START_TEST(test_earlier_deadline_moves_timer)
{
	with_pair(earlier_body);
}
END_TEST

/* ---- cancellation wins ---- */

static void *cancel_body(void *arg)
{
	corio_task *a = corio_spawn(long_waiter, NULL);
	void *ar = NULL;

	TH_CHECK(a);
	corio_sleep(CORIO_MS(10));
	corio_cancel(a);
	/* A cancelled task joins as -ECANCELED; what its receive returned is its result. */
	TH_CHECK(corio_join(a, &ar) == -ECANCELED);
	TH_CHECK((intptr_t)ar == -ECANCELED);
	return TH_OK;
}

START_TEST(test_cancel_wins)
{
	with_pair(cancel_body);
}
END_TEST

/* ---- a deadline that passed between two calls ---- */

static void *between_body(void *arg)
{
	corio__deadline d;
	char b = 0;
	ssize_t n;

	TH_CHECK(write(pair[1], "z", 1) == 1);
	corio__deadline_begin(&d, corio_now() - 1); /* already passed */
	n = corio_recv(pair[0], &b, 1, 0);
	/* The byte was there: either the receive finished before the timer's completion was
	 * seen (1), or it was stopped first; a byte received is never dropped. */
	if (n == 1) {
		TH_CHECK(b == 'z');
		n = corio_recv(pair[0], &b, 1, 0); /* nothing to read: must not wait */
	}
	TH_CHECK(corio__deadline_end(&d, n) == -ETIMEDOUT);
	/* Later calls of the task are not affected. */
	TH_CHECK(corio_nop() == 0);
	return TH_OK;
}

START_TEST(test_passed_between_calls)
{
	with_pair(between_body);
}
END_TEST

/* ---- waits are interrupted too ---- */

static void *receiver_body(void *arg)
{
	corio_receiver *r = corio_receiver_new(pair[0]);
	uint64_t t0 = corio_now();
	corio__deadline d;
	char b = 0;

	TH_CHECK(r);
	corio__deadline_begin(&d, t0 + CORIO_MS(30));
	TH_CHECK(corio__deadline_end(&d, corio_receiver_recv(r, &b, 1)) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(30));
	/* The receiver is intact: a byte sent now is received. */
	TH_CHECK(write(pair[1], "r", 1) == 1);
	TH_CHECK(corio_receiver_recv(r, &b, 1) == 1 && b == 'r');
	corio_receiver_free(r);
	return TH_OK;
}

START_TEST(test_receiver_wait_interrupted)
{
	with_pair(receiver_body);
}
END_TEST

static corio_chan *wchan;

static void *chan_waiter(void *arg)
{
	int v = 0;
	int rc = corio_chan_recv(wchan, &v);

	return (void *)(intptr_t)(rc == 0 ? v : rc);
}

static void *chan_body(void *arg)
{
	corio__deadline d;
	corio_task *other;
	void *res = NULL;
	int v = 0, seven = 7;

	wchan = corio_chan_new(0, sizeof(int));
	TH_CHECK(wchan);
	corio__deadline_begin(&d, corio_now() + CORIO_MS(20));
	/* Parks first; the other receiver arrives while this one waits. */
	other = corio_spawn(chan_waiter, NULL);
	TH_CHECK(other);
	TH_CHECK(corio__deadline_end(&d, corio_chan_recv(wchan, &v)) == -ETIMEDOUT);
	/* The interrupted waiter left the queue: the value goes to the other one. */
	TH_CHECK(corio_chan_send(wchan, &seven) == 0);
	TH_CHECK(corio_join(other, &res) == 0);
	TH_CHECK((intptr_t)res == 7);
	corio_chan_free(wchan);
	return TH_OK;
}

TH_TASK_TEST(test_chan_wait_interrupted, chan_body)

/* ---- no deadline ---- */

static void *none_body(void *arg)
{
	corio_statistics s0, s1;
	char b = 0;

	TH_CHECK(write(pair[1], "n", 1) == 1);
	corio_stats(&s0);
	TH_CHECK(recv_within(pair[0], &b, UINT64_MAX) == 1 && b == 'n');
	corio_stats(&s1);
	TH_CHECK(s1.sqes_submitted - s0.sqes_submitted == 1); /* the recv alone, no timer */
	return TH_OK;
}

START_TEST(test_no_deadline_arms_nothing)
{
	with_pair(none_body);
}
END_TEST

/* ---- many tasks, each on time ---- */

#define MANY 300 /* 600 descriptors: under the default limit of 1024 */

/* A socket pair of its own that never carries a byte: the receive times out, not early.
 * All MANY wait at once (each parks before the next one starts). */
static void *many_waiter(void *arg)
{
	uintptr_t i = (uintptr_t)arg;
	uint64_t ns = CORIO_MS(1 + (i * 7919) % 40), t0, took;
	ssize_t rc;
	int sv[2];
	char b;

	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	t0 = corio_now();
	rc = recv_within(sv[0], &b, ns);
	took = corio_now() - t0;
	close(sv[0]);
	close(sv[1]);
	TH_CHECK(rc == -ETIMEDOUT);
	TH_CHECK(took >= ns);
	return TH_OK;
}

START_TEST(test_many_each_on_time)
{
	run_batch_ok(NULL, many_waiter, MANY);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("deadline", TH_TIMEOUT, test_expires_not_early, test_in_time_and_loop_ends,
				test_earlier_deadline_moves_timer, test_cancel_wins, test_passed_between_calls,
				test_receiver_wait_interrupted, test_chan_wait_interrupted,
				test_no_deadline_arms_nothing, test_many_each_on_time));
}
