/* tests/runtime/test_sync_chan.c: channels (corio/sync.h): send and receive, rendezvous,
 * close with waiters, timeouts, cancellation while parked (no lost hand-off), FIFO order and
 * a stress case. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "tests/support/helpers.h" /* TH_ASAN */
#include "tests/runtime/sync_helpers.h"

/* ==== channels ========================================================================= */

static corio_chan *ch;

static void *chan_basic_main(void *arg)
{
	int v;

	ck_assert_ptr_nonnull(ch = corio_chan_new(4, sizeof(int)));
	ck_assert_uint_eq(corio_chan_cap(ch), 4);
	for (int i = 1; i <= 4; i++)
		ck_assert_int_eq(corio_chan_send(ch, &i), 0); /* never parks: room */
	ck_assert_uint_eq(corio_chan_len(ch), 4);
	v = 5;
	ck_assert_int_eq(corio_chan_try_send(ch, &v), -EAGAIN);
	for (int i = 1; i <= 4; i++) {
		ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
		ck_assert_int_eq(v, i);
	}
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), -EAGAIN);
	/* wrap around the ring many times; order is kept */
	for (int i = 0, next = 0; i < 50; i++) {
		ck_assert_int_eq(corio_chan_try_send(ch, &i), 0);
		if (i % 3 == 2) {
			for (int k = 0; k < 3; k++) {
				ck_assert_int_eq(corio_chan_try_recv(ch, &v), 0);
				ck_assert_int_eq(v, next++);
			}
		}
	}
	ck_assert_uint_eq(corio_chan_len(ch), 2);
	ck_assert_int_eq(corio_chan_send(NULL, &v), -EINVAL);
	ck_assert_int_eq(corio_chan_recv(ch, NULL), -EINVAL);
	corio_chan_free(ch);
	return NULL;
}

START_TEST(chan_basic)
{
	int v = 1;

	errno = 0;
	ck_assert_ptr_null(corio_chan_new(4, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(corio_chan_new(SIZE_MAX, 16));
	ck_assert_int_eq(errno, ENOMEM);
	/* outside a task: blocking calls refuse, the try variants work */
	ck_assert_ptr_nonnull(ch = corio_chan_new(1, sizeof v));
	ck_assert_int_eq(corio_chan_send(ch, &v), -EPERM);
	ck_assert_int_eq(corio_chan_try_send(ch, &v), 0);
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), 0);
	corio_chan_free(ch);
	corio_chan_free(NULL);
	corio_chan_close(NULL);
	ck_assert_uint_eq(corio_chan_len(NULL), 0);
	run(chan_basic_main);
}
END_TEST

/* Rendezvous: the sender is released only when a receiver took the element. */
static bool sent;

static void *rv_sender(void *arg)
{
	int v = P2I(arg);

	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	sent = true;
	return NULL;
}

static void *rv_receiver(void *arg)
{
	int v = -1;

	ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
	results[P2I(arg)] = v;
	return NULL;
}

static void *chan_rendezvous_main(void *arg)
{
	corio_task *t;
	int v = 7;

	ck_assert_ptr_nonnull(ch = corio_chan_new(0, sizeof(int)));
	ck_assert_int_eq(corio_chan_try_send(ch, &v), -EAGAIN); /* nobody to take it */
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), -EAGAIN);
	t = corio_spawn(rv_sender, I2P(42));
	yields(5);
	ck_assert(!sent); /* parked until somebody takes it */
	ck_assert_uint_eq(corio_chan_len(ch), 0);
	ck_assert_int_eq(corio_chan_recv(ch, &v), 0); /* straight from the sender */
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(corio_join(t, NULL), 0);
	ck_assert(sent);
	/* receiver parked first: try_send hands over directly */
	t = corio_spawn(rv_receiver, I2P(0));
	yields(2);
	v = 99;
	ck_assert_int_eq(corio_chan_try_send(ch, &v), 0);
	ck_assert_int_eq(corio_join(t, NULL), 0);
	ck_assert_int_eq(results[0], 99);
	/* ping-pong many times */
	for (int i = 0; i < 1000; i++) {
		t = corio_spawn(rv_receiver, I2P(1));
		ck_assert_int_eq(corio_chan_send(ch, &i), 0);
		ck_assert_int_eq(corio_join(t, NULL), 0);
		ck_assert_int_eq(results[1], i);
	}
	corio_chan_free(ch);
	return NULL;
}

START_TEST(chan_rendezvous)
{
	run(chan_rendezvous_main);
}
END_TEST

static void *closed_sender(void *arg)
{
	int v = P2I(arg);

	results[v] = corio_chan_send(ch, &v);
	return NULL;
}

static void *closed_receiver(void *arg)
{
	int v = -1;

	results[P2I(arg)] = corio_chan_recv(ch, &v);
	return NULL;
}

static void *chan_close_main(void *arg)
{
	corio_task *t[4];
	int v;

	/* receivers parked on an empty channel get -EPIPE */
	ch = corio_chan_new(2, sizeof(int));
	for (int i = 0; i < 2; i++)
		t[i] = corio_spawn(closed_receiver, I2P(i));
	yields(2);
	corio_chan_close(ch);
	corio_chan_close(ch); /* idempotent */
	ck_assert_int_eq(corio_gather(t, 2, NULL), 0);
	ck_assert_int_eq(results[0], -EPIPE);
	ck_assert_int_eq(results[1], -EPIPE);
	v = 1;
	ck_assert_int_eq(corio_chan_send(ch, &v), -EPIPE);
	ck_assert_int_eq(corio_chan_try_send(ch, &v), -EPIPE);
	ck_assert_int_eq(corio_chan_recv(ch, &v), -EPIPE);
	corio_chan_free(ch);

	/* senders parked on a full channel get -EPIPE; the buffer still drains */
	ch = corio_chan_new(2, sizeof(int));
	for (int i = 10; i < 12; i++)
		ck_assert_int_eq(corio_chan_send(ch, &i), 0);
	for (int i = 0; i < 2; i++)
		t[i] = corio_spawn(closed_sender, I2P(i + 2));
	yields(2);
	corio_chan_close(ch);
	ck_assert_int_eq(corio_gather(t, 2, NULL), 0);
	ck_assert_int_eq(results[2], -EPIPE);
	ck_assert_int_eq(results[3], -EPIPE);
	ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
	ck_assert_int_eq(v, 10);
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), 0);
	ck_assert_int_eq(v, 11);
	ck_assert_int_eq(corio_chan_recv(ch, &v), -EPIPE);
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), -EPIPE);
	corio_chan_free(ch);

	/* free with tasks parked on both sides of a rendezvous channel */
	ch = corio_chan_new(0, sizeof(int));
	t[0] = corio_spawn(closed_sender, I2P(4));
	t[1] = corio_spawn(closed_sender, I2P(5));
	yields(2);
	corio_chan_free(ch);
	ch = corio_chan_new(0, sizeof(int));
	t[2] = corio_spawn(closed_receiver, I2P(6));
	yields(2);
	corio_chan_free(ch);
	ck_assert_int_eq(corio_gather(t, 3, NULL), 0);
	for (int i = 4; i < 7; i++)
		ck_assert_int_eq(results[i], -EPIPE);
	return NULL;
}

START_TEST(chan_close)
{
	run(chan_close_main);
}
END_TEST

static void *chan_timeout_main(void *arg)
{
	corio_timeout to;
	uint64_t t0;
	int v = 3;

	ch = corio_chan_new(1, sizeof(int));
	t0 = corio_now();
	corio_timeout_enter(&to, CORIO_MS(30));
	ck_assert_int_eq(corio_chan_recv(ch, &v), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	ck_assert_uint_ge(corio_now() - t0, CORIO_MS(25));
	ck_assert_int_eq(v, 3);

	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	corio_timeout_enter(&to, CORIO_MS(20));
	v = 4;
	ck_assert_int_eq(corio_chan_send(ch, &v), -ETIMEDOUT); /* full */
	ck_assert(corio_timeout_exit(&to));
	ck_assert_uint_eq(corio_chan_len(ch), 1);
	/* the timed-out element was not sent; the queue is intact */
	ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), -EAGAIN);

	/* a scope that does not expire leaves the call alone */
	corio_timeout_enter(&to, CORIO_SEC(10));
	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
	ck_assert(!corio_timeout_exit(&to));
	corio_chan_free(ch);
	return NULL;
}

START_TEST(chan_timeout)
{
	run(chan_timeout_main);
}
END_TEST

static void *cancel_receiver(void *arg)
{
	int v = -1;
	int rc = corio_chan_recv(ch, &v);

	results[P2I(arg)] = rc == 0 ? v : rc;
	/* cancellation is sticky: the next blocking call fails */
	results[P2I(arg) + 100] = corio_chan_recv(ch, &v);
	return NULL;
}

static void *chan_cancel_main(void *arg)
{
	corio_task *a, *b, *c;
	int v;

	ch = corio_chan_new(0, sizeof(int));
	/* cancelled before the hand-off: the element goes to the next receiver */
	a = corio_spawn(cancel_receiver, I2P(0));
	b = corio_spawn(cancel_receiver, I2P(1));
	yields(2);
	corio_cancel(a);
	v = 11;
	ck_assert_int_eq(corio_chan_try_send(ch, &v), 0); /* b is parked */
	ck_assert_int_eq(corio_join(a, NULL), -ECANCELED);
	ck_assert_int_eq(results[0], -ECANCELED);
	/* b got 11; its second recv parks: cancel it there */
	yields(2);
	ck_assert_int_eq(results[1], 11);
	corio_cancel(b);
	ck_assert_int_eq(corio_join(b, NULL), -ECANCELED);
	ck_assert_int_eq(results[101], -ECANCELED);

	/* cancelled after the hand-off: the receiver keeps the element */
	c = corio_spawn(cancel_receiver, I2P(2));
	yields(2);
	v = 22;
	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	corio_cancel(c); /* before c ran again */
	ck_assert_int_eq(corio_join(c, NULL), -ECANCELED);
	ck_assert_int_eq(results[2], 22);
	ck_assert_int_eq(results[102], -ECANCELED);

	/* a cancelled parked sender's element is never delivered */
	a = corio_spawn(closed_sender, I2P(33));
	yields(2);
	corio_cancel(a);
	ck_assert_int_eq(corio_join(a, NULL), -ECANCELED);
	ck_assert_int_eq(results[33], -ECANCELED);
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), -EAGAIN);
	corio_chan_free(ch);
	return NULL;
}

START_TEST(chan_cancel)
{
	run(chan_cancel_main);
}
END_TEST

static void *fifo_receiver(void *arg)
{
	int v;

	ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
	ck_assert_int_eq(v, P2I(arg)); /* receivers served in arrival order */
	record(v);
	return NULL;
}

static void *fifo_sender(void *arg)
{
	int v = P2I(arg);

	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	return NULL;
}

static void *chan_fifo_main(void *arg)
{
	corio_task *t[10];
	int v;

	ch = corio_chan_new(1, sizeof(int));
	for (int i = 0; i < 10; i++) {
		t[i] = corio_spawn(fifo_receiver, I2P(i));
		yields(1); /* make sure i parks before i + 1 */
	}
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(corio_chan_send(ch, &i), 0);
	ck_assert_int_eq(corio_gather(t, 10, NULL), 0);
	check_order(10);

	/* senders parked on a full channel: elements come out in arrival order */
	v = -1;
	ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	for (int i = 0; i < 10; i++) {
		t[i] = corio_spawn(fifo_sender, I2P(i));
		yields(1);
	}
	/* a late try_send cannot overtake the parked senders */
	v = 100;
	ck_assert_int_eq(corio_chan_try_send(ch, &v), -EAGAIN);
	ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
	ck_assert_int_eq(v, -1);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
		ck_assert_int_eq(v, i);
		if (i == 9)
			break;
		/* the freed slot went to the next parked sender at once: still no room */
		ck_assert_uint_eq(corio_chan_len(ch), 1);
		v = 100;
		ck_assert_int_eq(corio_chan_try_send(ch, &v), -EAGAIN);
	}
	ck_assert_uint_eq(corio_chan_len(ch), 0);
	ck_assert_int_eq(corio_gather(t, 10, NULL), 0);
	corio_chan_free(ch);
	return NULL;
}

START_TEST(chan_fifo)
{
	run(chan_fifo_main);
}
END_TEST

/* 100 producers and 100 consumers through a channel of capacity 1: 300 000 items (100 000
 * under ASan). Every item is a few task switches: the million it once was took 10 s in a
 * debug build and 55 s under ASan on an idle machine, past the tcase's 60 s when loaded. */
enum { PRODUCERS = 100, CONSUMERS = 100, ITEMS = TH_ASAN ? 100000 : 300000 };
static uint64_t stress_sum, stress_count;

static void *producer(void *arg)
{
	uint64_t base = (uint64_t)P2I(arg) * (ITEMS / PRODUCERS);

	for (uint64_t i = 1; i <= ITEMS / PRODUCERS; i++) {
		uint64_t v = base + i;

		ck_assert_int_eq(corio_chan_send(ch, &v), 0);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	uint64_t v, sum = 0, n = 0;
	int rc;

	while ((rc = corio_chan_recv(ch, &v)) == 0) {
		sum += v;
		n++;
	}
	ck_assert_int_eq(rc, -EPIPE);
	stress_sum += sum;
	stress_count += n;
	return NULL;
}

static void *chan_stress_main(void *arg)
{
	static corio_task *prod[PRODUCERS], *cons[CONSUMERS];

	ch = corio_chan_new(1, sizeof(uint64_t));
	for (int i = 0; i < CONSUMERS; i++)
		cons[i] = corio_spawn(consumer, NULL);
	for (int i = 0; i < PRODUCERS; i++)
		prod[i] = corio_spawn(producer, I2P(i));
	ck_assert_int_eq(corio_gather(prod, PRODUCERS, NULL), 0);
	corio_chan_close(ch);
	ck_assert_int_eq(corio_gather(cons, CONSUMERS, NULL), 0);
	ck_assert_uint_eq(stress_count, ITEMS);
	ck_assert_uint_eq(stress_sum, (uint64_t)ITEMS * (ITEMS + 1) / 2);
	corio_chan_free(ch);
	return NULL;
}

START_TEST(chan_stress)
{
	run(chan_stress_main);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE_EACH("sync", 60, chan_basic, chan_rendezvous, chan_close, chan_timeout, chan_cancel, chan_fifo, chan_stress));
}
