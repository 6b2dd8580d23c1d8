/* tests/runtime/test_xchan.c: corio_xchan, the channel between loops: items moved between two
 * loops on two threads with the sum checked (capacity 1 and 64, several producers),
 * close waking parked tasks on another loop, cancellation and timeouts while parked,
 * try-variants from a plain thread, and bad arguments. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <corio/corio.h>

#include "tests/support/helpers.h"

#define ITEMS 200000u

struct xfer {
	corio_xchan *ch;
	unsigned producers;
	atomic_uint done_producers;
	uint64_t sum, count;
	int err;
};

static void *producer(void *arg)
{
	struct xfer *x = arg;
	unsigned per = ITEMS / x->producers;

	for (uint64_t i = 1; i <= per; i++) {
		int rc = corio_xchan_send(x->ch, &i);

		if (rc != 0) {
			x->err = rc;
			break;
		}
	}
	if (atomic_fetch_add(&x->done_producers, 1) + 1 == x->producers)
		corio_xchan_close(x->ch);
	return NULL;
}

static void consume(struct xfer *x)
{
	uint64_t v;
	int rc;

	while ((rc = corio_xchan_recv(x->ch, &v)) == 0) {
		x->sum += v;
		x->count++;
	}
	if (rc != -EPIPE)
		x->err = rc;
}

/* Loop 0 consumes; every other loop runs one producer. */
static void *xfer_main(void *arg)
{
	struct xfer *x = arg;

	if (corio_thread_index() == 0)
		consume(x);
	else
		producer(x);
	return NULL;
}

static void run_xfer(size_t cap, unsigned producers)
{
	struct xfer x = { .producers = producers };
	uint64_t per = ITEMS / producers;

	x.ch = corio_xchan_new(cap, sizeof(uint64_t));
	ck_assert_ptr_nonnull(x.ch);
	ck_assert_int_eq(corio_run_threads(producers + 1, xfer_main, &x), 0);
	ck_assert_int_eq(x.err, 0);
	ck_assert_uint_eq(x.count, per * producers);
	ck_assert_uint_eq(x.sum, producers * (per * (per + 1) / 2));
	corio_xchan_free(x.ch);
}

START_TEST(test_two_loops_cap1)
{
	run_xfer(1, 1);
}
END_TEST

START_TEST(test_two_loops_cap64)
{
	run_xfer(64, 1);
}
END_TEST

START_TEST(test_three_producers)
{
	run_xfer(4, 3);
}
END_TEST

/* ---- close, cancellation, timeout ---- */

struct parked {
	corio_xchan *ch;
	atomic_int stage;
	int rc_recv, rc_cancel, rc_timeout;
};

static void *recv_forever(void *arg)
{
	struct parked *p = arg;
	uint64_t v;

	return (void *)(intptr_t)corio_xchan_recv(p->ch, &v);
}

static void *parked_main(void *arg)
{
	struct parked *p = arg;

	if (corio_thread_index() == 1) {
		/* Waits for loop 0's tasks to park, then closes the channel from here. Stage 1
		 * is stored after loop 0's main timed out in its own receive, and the closer
		 * parked in its receive before that (it ran when main first parked): no extra
		 * delay is needed for it to "get there". */
		while (atomic_load(&p->stage) < 1)
			corio_sleep(CORIO_MS(1));
		corio_xchan_close(p->ch);
		return NULL;
	}
	{
		corio_task *closer = corio_spawn(recv_forever, p);
		corio_task *victim = corio_spawn(recv_forever, p);
		corio_timeout to;
		void *r;
		uint64_t v;

		corio_timeout_enter(&to, CORIO_MS(10));
		p->rc_timeout = corio_xchan_recv(p->ch, &v);
		corio_timeout_exit(&to);
		corio_cancel(victim);
		corio_join(victim, &r);
		p->rc_cancel = (int)(intptr_t)r;
		atomic_store(&p->stage, 1);
		corio_join(closer, &r);
		p->rc_recv = (int)(intptr_t)r;
	}
	return NULL;
}

START_TEST(test_close_cancel_timeout)
{
	struct parked p = { 0 };

	p.ch = corio_xchan_new(2, sizeof(uint64_t));
	ck_assert_int_eq(corio_run_threads(2, parked_main, &p), 0);
	ck_assert_int_eq(p.rc_timeout, -ETIMEDOUT);
	ck_assert_int_eq(p.rc_cancel, -ECANCELED);
	ck_assert_int_eq(p.rc_recv, -EPIPE);
	corio_xchan_free(p.ch);
}
END_TEST

/* ---- try-variants from a plain thread, bad arguments ---- */

static void *plain_sender(void *arg)
{
	corio_xchan *ch = arg;

	for (uint64_t i = 1; i <= 1000; i++)
		while (corio_xchan_try_send(ch, &i) == -EAGAIN)
			sched_yield();
	corio_xchan_close(ch);
	return NULL;
}

static void *plain_main(void *arg)
{
	corio_xchan *ch = arg;
	uint64_t v, sum = 0;
	pthread_t th;
	int rc;

	corio_loop_current(); /* a post may come from another thread: no deadlock report */
	TH_CHECK(pthread_create(&th, NULL, plain_sender, ch) == 0);
	while ((rc = corio_xchan_recv(ch, &v)) == 0)
		sum += v;
	pthread_join(th, NULL);
	TH_CHECK(rc == -EPIPE);
	TH_CHECK(sum == 1000 * 1001 / 2);
	TH_CHECK(corio_xchan_try_recv(ch, &v) == -EPIPE);
	TH_CHECK(corio_xchan_try_send(ch, &v) == -EPIPE);
	return TH_OK;
}

START_TEST(test_plain_thread_sender)
{
	corio_xchan *ch = corio_xchan_new(8, sizeof(uint64_t));

	TH_RUN_EXPECT_OK(NULL, plain_main, ch);
	corio_xchan_free(ch);
}
END_TEST

START_TEST(test_bad_arguments)
{
	uint64_t v = 0;
	corio_xchan *ch;

	errno = 0;
	ck_assert_ptr_null(corio_xchan_new(0, 8));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(corio_xchan_new(4, 0));
	ck_assert_int_eq(corio_xchan_send(NULL, &v), -EINVAL);
	ck_assert_int_eq(corio_xchan_try_recv(NULL, &v), -EINVAL);
	ch = corio_xchan_new(1, sizeof v);
	ck_assert_int_eq(corio_xchan_send(ch, &v), -EPERM); /* outside a task */
	ck_assert_int_eq(corio_xchan_try_send(ch, &v), 0);
	ck_assert_int_eq(corio_xchan_try_send(ch, &v), -EAGAIN);
	ck_assert_uint_eq(corio_xchan_len(ch), 1);
	corio_xchan_free(ch);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("xchan", TH_TIMEOUT, test_two_loops_cap1, test_two_loops_cap64,
				test_three_producers, test_close_cancel_timeout, test_plain_thread_sender,
				test_bad_arguments));
}
