/* tests/runtime/test_sync.c: the loop-local coordination toolkit (corio/sync.h): channels, mutex,
 * semaphore, event, condition variable, wait group, futures and task groups. For each:
 * normal use, timeouts, cancellation while parked (before and after a hand-off: no lost
 * wakeups), close/teardown with waiters, FIFO order, and a stress case. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "tests/support/helpers.h" /* TH_ASAN */
#include "runtime/core/loop.h"    /* timer_alloc_fail: the test hook behind wait_timer_enomem */

#define I2P(i) ((void *)(intptr_t)(i))
#define P2I(p) ((int)(intptr_t)(p))

static void run(corio_fn fn)
{
	void *res = I2P(-1);

	ck_assert_int_eq(corio_run(fn, NULL, &res), 0);
	ck_assert_ptr_null(res); /* every main returns NULL when its checks passed */
}

/* Lets every other ready task run n times. */
static void yields(int n)
{
	for (int i = 0; i < n; i++)
		corio_yield();
}

/* Shared state of the current test (each test runs in its own process: CK_FORK). */
static int order[2048];
static int norder;
static int results[2048];

static void record(int i)
{
	order[norder++] = i;
}

static void check_order(int n)
{
	ck_assert_int_eq(norder, n);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(order[i], i);
}

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

/* ==== mutex ============================================================================ */

static corio_mutex mu;

static void *mutex_basic_main(void *arg)
{
	ck_assert_int_eq(corio_mutex_init(&mu), 0);
	ck_assert(!corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_unlock(&mu), -EPERM);
	ck_assert_int_eq(corio_mutex_lock(&mu), 0);
	ck_assert(corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_trylock(&mu), -EBUSY);
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	ck_assert_int_eq(corio_mutex_trylock(&mu), 0);
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	ck_assert_int_eq(corio_mutex_lock(NULL), -EINVAL);
	ck_assert_int_eq(corio_mutex_init(NULL), -EINVAL);
	return NULL;
}

START_TEST(mutex_basic)
{
	corio_mutex_init(&mu);
	ck_assert_int_eq(corio_mutex_lock(&mu), -EPERM); /* not from a task */
	run(mutex_basic_main);
}
END_TEST

/* 1000 tasks increment a counter with a yield inside the critical section. */
static int counter, inside;

static void *counter_task(void *arg)
{
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(corio_mutex_lock(&mu), 0);
		ck_assert_int_eq(inside++, 0);
		int c = counter;

		corio_yield();
		counter = c + 1;
		ck_assert_int_eq(--inside, 0);
		ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
		if (i % 3 == 0)
			corio_yield();
	}
	return NULL;
}

static void *mutex_counter_main(void *arg)
{
	static corio_task *t[1000];

	corio_mutex_init(&mu);
	for (int i = 0; i < 1000; i++)
		t[i] = corio_spawn(counter_task, NULL);
	ck_assert_int_eq(corio_gather(t, 1000, NULL), 0);
	ck_assert_int_eq(counter, 10000);
	ck_assert(!corio_mutex_locked(&mu));
	return NULL;
}

START_TEST(mutex_counter)
{
	run(mutex_counter_main);
}
END_TEST

static void *fifo_locker(void *arg)
{
	int rc = corio_mutex_lock(&mu);

	results[P2I(arg)] = rc;
	if (rc == 0) {
		record(P2I(arg));
		corio_yield();
		corio_mutex_unlock(&mu);
	}
	return NULL;
}

static void *mutex_fifo_main(void *arg)
{
	corio_task *t[10];

	corio_mutex_init(&mu);
	corio_mutex_lock(&mu);
	for (int i = 0; i < 10; i++) {
		t[i] = corio_spawn(fifo_locker, I2P(i));
		yields(1);
	}
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	/* handed to task 0: no barging, even though task 0 has not run yet */
	ck_assert(corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_trylock(&mu), -EBUSY);
	ck_assert_int_eq(corio_gather(t, 10, NULL), 0);
	check_order(10);
	ck_assert(!corio_mutex_locked(&mu));
	return NULL;
}

START_TEST(mutex_fifo)
{
	run(mutex_fifo_main);
}
END_TEST

static void *mutex_timeout_main(void *arg)
{
	corio_timeout to;
	corio_task *t;

	corio_mutex_init(&mu);
	corio_mutex_lock(&mu);
	t = corio_spawn(fifo_locker, I2P(1)); /* queued behind the timed-out attempt */
	corio_yield();
	/* a second task times out while parked; the first one must still get the lock */
	corio_timeout_enter(&to, CORIO_MS(20));
	ck_assert_int_eq(corio_mutex_lock(&mu), -ETIMEDOUT); /* held by ourselves */
	ck_assert(corio_timeout_exit(&to));
	ck_assert(corio_mutex_locked(&mu));
	/* a scope whose deadline has passed fails at once */
	corio_timeout_enter(&to, 0);
	ck_assert_int_eq(corio_mutex_lock(&mu), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	ck_assert_int_eq(corio_join(t, NULL), 0);
	ck_assert_int_eq(results[1], 0);
	ck_assert(!corio_mutex_locked(&mu));
	return NULL;
}

START_TEST(mutex_timeout)
{
	run(mutex_timeout_main);
}
END_TEST

/* A locker that, once it holds the lock, makes one more blocking call and unlocks. */
static void *sticky_locker(void *arg)
{
	int i = P2I(arg);

	results[i] = corio_mutex_lock(&mu);
	if (results[i] == 0) {
		record(i);
		results[i + 100] = corio_sleep(CORIO_MS(1)); /* -ECANCELED if cancelled */
		ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	}
	return NULL;
}

static void *mutex_cancel_main(void *arg)
{
	corio_task *a, *b, *c;

	corio_mutex_init(&mu);
	corio_mutex_lock(&mu);
	a = corio_spawn(sticky_locker, I2P(0));
	b = corio_spawn(sticky_locker, I2P(1));
	yields(2);
	/* cancel before the hand-off: a leaves the queue, b gets the lock */
	corio_cancel(a);
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	ck_assert_int_eq(corio_join(a, NULL), -ECANCELED);
	ck_assert_int_eq(results[0], -ECANCELED);
	ck_assert_int_eq(corio_join(b, NULL), 0);
	ck_assert_int_eq(results[1], 0);
	ck_assert(!corio_mutex_locked(&mu));

	/* cancel after the hand-off: a owns the lock (returns 0), c gets it after a */
	corio_mutex_lock(&mu);
	norder = 0;
	a = corio_spawn(sticky_locker, I2P(2));
	c = corio_spawn(sticky_locker, I2P(3));
	yields(2);
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0); /* handed to a */
	corio_cancel(a);                              /* before a ran again */
	ck_assert_int_eq(corio_join(a, NULL), -ECANCELED);
	ck_assert_int_eq(results[2], 0);           /* it got the lock */
	ck_assert_int_eq(results[102], -ECANCELED); /* sticky: its next call failed */
	ck_assert_int_eq(corio_join(c, NULL), 0);
	ck_assert_int_eq(results[3], 0);
	ck_assert_int_eq(norder, 2);
	ck_assert_int_eq(order[0], 2);
	ck_assert_int_eq(order[1], 3);
	ck_assert(!corio_mutex_locked(&mu));

	/* a cancelled task does not get even a free lock (it is a blocking call) */
	corio_cancel(corio_current());
	ck_assert_int_eq(corio_mutex_lock(&mu), -ECANCELED);
	ck_assert(!corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_trylock(&mu), 0); /* try variants ignore it */
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	return NULL;
}

START_TEST(mutex_cancel)
{
	void *res;

	/* main cancels itself at the end: corio_run reports that */
	ck_assert_int_eq(corio_run(mutex_cancel_main, NULL, &res), -ECANCELED);
	ck_assert_ptr_null(res);
}
END_TEST

/* ==== semaphore ========================================================================== */

static corio_sem sem;

static void *sem_basic_main(void *arg)
{
	ck_assert_int_eq(corio_sem_init(&sem, 2), 0);
	ck_assert_int_eq(corio_sem_acquire(&sem), 0);
	ck_assert_int_eq(corio_sem_try_acquire(&sem), 0);
	ck_assert_int_eq(corio_sem_try_acquire(&sem), -EAGAIN);
	ck_assert_uint_eq(corio_sem_value(&sem), 0);
	ck_assert_int_eq(corio_sem_release(&sem), 0);
	ck_assert_int_eq(corio_sem_release(&sem), 0);
	ck_assert_int_eq(corio_sem_release(&sem), 0); /* counting: may go above the start */
	ck_assert_uint_eq(corio_sem_value(&sem), 3);
	corio_sem_init(&sem, SIZE_MAX);
	ck_assert_int_eq(corio_sem_release(&sem), -EOVERFLOW);
	ck_assert_int_eq(corio_sem_acquire(NULL), -EINVAL);
	return NULL;
}

START_TEST(sem_basic)
{
	run(sem_basic_main);
}
END_TEST

static void *sem_waiter(void *arg)
{
	int i = P2I(arg), rc = corio_sem_acquire(&sem);

	results[i] = rc;
	if (rc == 0)
		record(i);
	results[i + 100] = corio_sleep(0);
	return NULL;
}

static void *sem_fifo_cancel_main(void *arg)
{
	corio_task *t[10];
	corio_timeout to;

	corio_sem_init(&sem, 0);
	for (int i = 0; i < 10; i++) {
		t[i] = corio_spawn(sem_waiter, I2P(i));
		yields(1);
	}
	/* cancel 3 before any release (it leaves the queue), 5 right after its hand-off */
	corio_cancel(t[3]);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(corio_sem_release(&sem), 0);
	corio_cancel(t[5]);
	yields(3);
	ck_assert_uint_eq(corio_sem_value(&sem), 0);
	/* a timed-out acquire leaves the queue and takes nothing */
	corio_timeout_enter(&to, CORIO_MS(10));
	ck_assert_int_eq(corio_sem_acquire(&sem), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(corio_sem_release(&sem), 0);
	ck_assert_int_eq(corio_sem_release(&sem), 0); /* nobody left: the count goes up */
	corio_gather(t, 10, NULL);
	ck_assert_uint_eq(corio_sem_value(&sem), 1);
	ck_assert_int_eq(results[3], -ECANCELED);
	ck_assert_int_eq(results[5], 0); /* handed over before the cancel: kept */
	ck_assert_int_eq(results[105], -ECANCELED);
	ck_assert_int_eq(norder, 9);
	for (int i = 0, k = 0; i < 10; i++) {
		if (i == 3)
			continue;
		ck_assert_int_eq(order[k++], i);
	}
	return NULL;
}

START_TEST(sem_fifo_cancel)
{
	run(sem_fifo_cancel_main);
}
END_TEST

/* A semaphore of 3 bounds the concurrency of 1000 tasks. */
static int active, max_active;

static void *bounded(void *arg)
{
	ck_assert_int_eq(corio_sem_acquire(&sem), 0);
	if (++active > max_active)
		max_active = active;
	yields(P2I(arg) % 4);
	active--;
	ck_assert_int_eq(corio_sem_release(&sem), 0);
	return NULL;
}

static void *sem_stress_main(void *arg)
{
	static corio_task *t[1000];

	corio_sem_init(&sem, 3);
	for (int i = 0; i < 1000; i++)
		t[i] = corio_spawn(bounded, I2P(i));
	ck_assert_int_eq(corio_gather(t, 1000, NULL), 0);
	ck_assert_int_eq(max_active, 3);
	ck_assert_uint_eq(corio_sem_value(&sem), 3);
	return NULL;
}

START_TEST(sem_stress)
{
	run(sem_stress_main);
}
END_TEST

/* ==== event ============================================================================== */

static corio_event ev;

static void *ev_waiter(void *arg)
{
	int i = P2I(arg), rc = corio_event_wait(&ev);

	results[i] = rc;
	if (rc == 0)
		record(i);
	return NULL;
}

static void *event_main(void *arg)
{
	static corio_task *t[100];
	corio_timeout to;

	ck_assert_int_eq(corio_event_init(&ev), 0);
	ck_assert(!corio_event_is_set(&ev));
	for (int i = 0; i < 100; i++)
		t[i] = corio_spawn(ev_waiter, I2P(i));
	yields(2);
	ck_assert_int_eq(norder, 0);
	/* timeout while parked, beside the others */
	corio_timeout_enter(&to, CORIO_MS(10));
	ck_assert_int_eq(corio_event_wait(&ev), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	ck_assert_int_eq(corio_event_set(&ev), 0);
	ck_assert_int_eq(corio_event_clear(&ev), 0); /* already woken: they still return 0 */
	ck_assert_int_eq(corio_gather(t, 100, NULL), 0);
	check_order(100); /* woken in arrival order */
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(results[i], 0);

	/* set: waits return at once; cleared: they park again; cancel while parked */
	corio_event_set(&ev);
	ck_assert(corio_event_is_set(&ev));
	ck_assert_int_eq(corio_event_wait(&ev), 0);
	corio_event_clear(&ev);
	t[0] = corio_spawn(ev_waiter, I2P(200));
	t[1] = corio_spawn(ev_waiter, I2P(201));
	yields(2);
	corio_cancel(t[0]);
	corio_event_set(&ev);
	ck_assert_int_eq(corio_join(t[0], NULL), -ECANCELED);
	ck_assert_int_eq(corio_join(t[1], NULL), 0);
	ck_assert_int_eq(results[200], -ECANCELED);
	ck_assert_int_eq(results[201], 0);
	ck_assert_int_eq(corio_event_wait(NULL), -EINVAL);
	return NULL;
}

START_TEST(event_basic)
{
	run(event_main);
}
END_TEST

/* ==== condition variable ================================================================= */

static corio_cond cv;
static int queue_items, consumed;

/* The textbook consumer: wait in a loop on the predicate. */
static void *cv_consumer(void *arg)
{
	for (;;) {
		ck_assert_int_eq(corio_mutex_lock(&mu), 0);
		while (queue_items == 0 && consumed < 1000)
			ck_assert_int_eq(corio_cond_wait(&cv, &mu), 0);
		if (queue_items == 0) {
			corio_mutex_unlock(&mu);
			return NULL;
		}
		queue_items--;
		consumed++;
		if (consumed == 1000)
			corio_cond_broadcast(&cv);
		corio_mutex_unlock(&mu);
	}
}

static void *cv_producer(void *arg)
{
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(corio_mutex_lock(&mu), 0);
		queue_items++;
		corio_cond_signal(&cv);
		corio_mutex_unlock(&mu);
		if (i % 7 == 0)
			corio_yield();
	}
	return NULL;
}

/* Cancelled before the call: fails at once, the mutex never left the caller. */
static void *cv_precancelled(void *arg)
{
	ck_assert_int_eq(corio_mutex_lock(&mu), 0);
	corio_cancel(corio_current());
	ck_assert_int_eq(corio_cond_wait(&cv, &mu), -ECANCELED);
	ck_assert(corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	return NULL;
}

static void *cond_basic_main(void *arg)
{
	corio_task *t[20];

	corio_mutex_init(&mu);
	ck_assert_int_eq(corio_cond_init(&cv), 0);
	ck_assert_int_eq(corio_cond_wait(&cv, &mu), -EPERM); /* mutex not held */
	ck_assert_int_eq(corio_cond_wait(NULL, &mu), -EINVAL);
	ck_assert_int_eq(corio_join(corio_spawn(cv_precancelled, NULL), NULL), -ECANCELED);
	for (int i = 0; i < 10; i++)
		t[i] = corio_spawn(cv_consumer, NULL);
	for (int i = 10; i < 20; i++)
		t[i] = corio_spawn(cv_producer, NULL);
	ck_assert_int_eq(corio_gather(t, 20, NULL), 0);
	ck_assert_int_eq(consumed, 1000);
	ck_assert_int_eq(queue_items, 0);
	ck_assert(!corio_mutex_locked(&mu));
	return NULL;
}

START_TEST(cond_basic)
{
	run(cond_basic_main);
}
END_TEST

/* Waits once; records the result and whether the mutex was held on return. */
static void *cv_waiter(void *arg)
{
	int i = P2I(arg), rc;

	ck_assert_int_eq(corio_mutex_lock(&mu), 0);
	rc = corio_cond_wait(&cv, &mu);
	results[i] = rc;
	ck_assert(corio_mutex_locked(&mu)); /* re-acquired in every case */
	record(i);
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	return NULL;
}

static bool main_holds;

static void *cv_timed_waiter(void *arg)
{
	corio_timeout to;
	int i = P2I(arg), rc;

	ck_assert_int_eq(corio_mutex_lock(&mu), 0);
	corio_timeout_enter(&to, CORIO_MS(20));
	rc = corio_cond_wait(&cv, &mu);
	ck_assert(corio_timeout_exit(&to));
	results[i] = rc;
	ck_assert(!main_holds); /* it really waited for main to let go */
	ck_assert(corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	return NULL;
}

static void *cond_fifo_cancel_main(void *arg)
{
	corio_task *t[10];
	uint64_t t0;

	corio_mutex_init(&mu);
	corio_cond_init(&cv);
	for (int i = 0; i < 6; i++) {
		t[i] = corio_spawn(cv_waiter, I2P(i));
		yields(1);
	}
	/* 1 is cancelled before any signal: the first signal goes to 0, the second to 2 */
	corio_cancel(t[1]);
	yields(2); /* 1 re-acquires the mutex and returns -ECANCELED */
	ck_assert_int_eq(results[1], -ECANCELED);
	corio_cond_signal(&cv);
	corio_cond_signal(&cv);
	/* 3 is signalled, then cancelled before it ran: the signal is not lost (returns 0) */
	corio_cond_signal(&cv);
	corio_cancel(t[3]);
	corio_cond_broadcast(&cv);
	ck_assert_int_eq(corio_gather(t, 6, NULL), -ECANCELED); /* 1 and 3 were cancelled */
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(results[i], i == 1 ? -ECANCELED : 0);
	ck_assert_int_eq(norder, 6);
	ck_assert_int_eq(order[0], 1);
	for (int i = 1; i < 6; i++)
		ck_assert_int_eq(order[i], i == 1 ? 0 : i); /* 0, 2, 3, 4, 5 */

	/* timeout: the re-acquisition waits for the holder even past the deadline */
	t0 = corio_now();
	t[0] = corio_spawn(cv_timed_waiter, I2P(2));
	corio_yield(); /* it locks, then waits (releasing the mutex) */
	ck_assert_int_eq(corio_mutex_lock(&mu), 0);
	main_holds = true;
	ck_assert_int_eq(corio_sleep(CORIO_MS(60)), 0); /* hold the mutex past the deadline */
	main_holds = false;
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	ck_assert_int_eq(corio_join(t[0], NULL), 0);
	ck_assert_int_eq(results[2], -ETIMEDOUT);
	ck_assert_uint_ge(corio_now() - t0, CORIO_MS(55));
	ck_assert(!corio_mutex_locked(&mu));
	return NULL;
}

START_TEST(cond_fifo_cancel)
{
	run(cond_fifo_cancel_main);
}
END_TEST

/* ==== wait group ========================================================================= */

static corio_waitgroup wg;

static void *wg_worker(void *arg)
{
	ck_assert_int_eq(corio_sleep(CORIO_MS(1 + P2I(arg) % 5)), 0);
	norder++; /* counted only */
	ck_assert_int_eq(corio_waitgroup_done(&wg), 0);
	return NULL;
}

static int woken[8], nwoken;

static void *wg_waiter(void *arg)
{
	int i = P2I(arg), rc = corio_waitgroup_wait(&wg);

	results[i] = rc;
	if (rc == 0)
		woken[nwoken++] = i;
	return NULL;
}

static void *waitgroup_main(void *arg)
{
	corio_task *w[5], *k[20];
	corio_timeout to;

	ck_assert_int_eq(corio_waitgroup_init(&wg), 0);
	ck_assert_int_eq(corio_waitgroup_wait(&wg), 0); /* zero: returns at once */
	ck_assert_int_eq(corio_waitgroup_add(&wg, 20), 0);
	ck_assert_int_eq(corio_waitgroup_add(&wg, -21), -EINVAL); /* would go negative */
	ck_assert_int_eq(corio_waitgroup_count(&wg), 20);
	ck_assert_int_eq(corio_waitgroup_add(&wg, INT64_MAX), -EOVERFLOW);
	for (int i = 0; i < 5; i++) {
		w[i] = corio_spawn(wg_waiter, I2P(i));
		yields(1);
	}
	corio_cancel(w[2]);
	corio_timeout_enter(&to, CORIO_MS(1));
	ck_assert_int_eq(corio_waitgroup_wait(&wg), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	for (int i = 0; i < 20; i++)
		k[i] = corio_spawn(wg_worker, I2P(i));
	ck_assert_int_eq(corio_waitgroup_wait(&wg), 0);
	ck_assert_int_eq(norder, 20); /* every worker finished first */
	ck_assert_int_eq(corio_gather(k, 20, NULL), 0);
	ck_assert_int_eq(corio_gather(w, 5, NULL), -ECANCELED);
	ck_assert_int_eq(results[2], -ECANCELED);
	ck_assert_int_eq(nwoken, 4);
	ck_assert_int_eq(woken[0], 0); /* FIFO wake-up */
	ck_assert_int_eq(woken[1], 1);
	ck_assert_int_eq(woken[2], 3);
	ck_assert_int_eq(woken[3], 4);
	ck_assert_int_eq(corio_waitgroup_done(&wg), -EINVAL);
	return NULL;
}

START_TEST(waitgroup_basic)
{
	run(waitgroup_main);
}
END_TEST

/* ==== futures ============================================================================ */

static corio_future *fut;

static void *fut_waiter(void *arg)
{
	int i = P2I(arg);
	void *v = I2P(-5);
	int rc = corio_future_wait(fut, &v);

	results[i] = rc == 0 ? P2I(v) : rc;
	if (rc == 0 || rc == -EIO)
		record(i);
	return NULL;
}

static void *future_main(void *arg)
{
	static corio_task *t[100];
	corio_future local;
	corio_timeout to;
	void *v;

	ck_assert_int_eq(corio_future_init(&local), 0);
	ck_assert(!corio_future_done(&local));
	ck_assert_int_eq(corio_future_fail(&local, 0), -EINVAL);
	ck_assert_int_eq(corio_future_set(&local, I2P(7)), 0);
	ck_assert_int_eq(corio_future_set(&local, I2P(8)), -EALREADY);
	ck_assert_int_eq(corio_future_fail(&local, -EIO), -EALREADY);
	ck_assert(corio_future_done(&local));
	ck_assert_int_eq(corio_future_wait(&local, &v), 0);
	ck_assert_int_eq(P2I(v), 7);
	ck_assert_int_eq(corio_future_wait(&local, NULL), 0);

	/* 100 waiters, one cancelled and one timed out while parked; the future is freed
	 * right after set (the value was handed to each waiter) */
	fut = malloc(sizeof *fut);
	corio_future_init(fut);
	for (int i = 0; i < 100; i++)
		t[i] = corio_spawn(fut_waiter, I2P(i));
	yields(2);
	corio_cancel(t[50]);
	corio_timeout_enter(&to, CORIO_MS(10));
	ck_assert_int_eq(corio_future_wait(fut, &v), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	ck_assert_int_eq(corio_future_set(fut, I2P(1234)), 0);
	free(fut);
	fut = NULL;
	ck_assert_int_eq(corio_gather(t, 100, NULL), -ECANCELED);
	ck_assert_int_eq(norder, 99);
	for (int i = 0, k = 0; i < 100; i++) {
		ck_assert_int_eq(results[i], i == 50 ? -ECANCELED : 1234);
		if (i != 50)
			ck_assert_int_eq(order[k++], i); /* woken in arrival order */
	}

	/* failure reaches every waiter */
	norder = 0;
	fut = &local;
	corio_future_init(fut);
	for (int i = 0; i < 10; i++)
		t[i] = corio_spawn(fut_waiter, I2P(i));
	yields(2);
	ck_assert_int_eq(corio_future_fail(fut, -EIO), 0);
	ck_assert_int_eq(corio_gather(t, 10, NULL), 0);
	check_order(10);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(results[i], -EIO);
	v = I2P(3);
	ck_assert_int_eq(corio_future_wait(fut, &v), -EIO);
	ck_assert_int_eq(P2I(v), 3); /* untouched on failure */
	return NULL;
}

START_TEST(future_basic)
{
	run(future_main);
}
END_TEST

/* ==== task groups ======================================================================== */

static int ran, cancelled_members;

static void *member_ok(void *arg)
{
	ck_assert_int_eq(corio_sleep(CORIO_MS(P2I(arg) % 5)), 0);
	ran++;
	return I2P(99); /* the result is not interpreted */
}

/* Sleeps "forever" (an hour): only a cancellation ends it, and every test counts those
 * (cancelled_members), so a sleeper the group failed to cancel shows as a wrong count or a
 * test timeout, never as a race against a clock. */
static void *member_sleeper(void *arg)
{
	int rc = corio_sleep(CORIO_SEC(3600));

	if (rc == -ECANCELED)
		cancelled_members++;
	/* the usual idiom: report the error; being cancelled is not a failure */
	if (rc < 0)
		ck_assert_int_eq(corio_group_fail(rc), 0);
	return NULL;
}

static void *member_failer(void *arg)
{
	ck_assert_int_eq(corio_sleep(CORIO_MS(10)), 0);
	ck_assert_int_eq(corio_group_fail(-EIO), 0);
	ck_assert_int_eq(corio_group_fail(-EBADF), -EALREADY); /* only the first counts */
	return NULL;
}

static corio_group *grp;

static void *member_spawner(void *arg)
{
	int n = P2I(arg);

	/* members may add members, and wait for nothing */
	ck_assert_int_eq(corio_group_wait(grp), -EDEADLK);
	if (n > 0)
		ck_assert_ptr_nonnull(corio_group_spawn(grp, member_spawner, I2P(n - 1)));
	corio_yield();
	ran++;
	return NULL;
}

static void *group_basic_main(void *arg)
{
	ck_assert_int_eq(corio_group_fail(-EIO), -ESRCH); /* not a member */
	ck_assert_int_eq(corio_group_wait(NULL), -EINVAL);
	ck_assert_ptr_nonnull(grp = corio_group_new());
	ck_assert_int_eq(corio_group_wait(grp), 0); /* empty */
	for (int i = 0; i < 50; i++)
		ck_assert_ptr_nonnull(corio_group_spawn(grp, member_ok, I2P(i)));
	ck_assert_ptr_nonnull(corio_group_spawn(grp, member_spawner, I2P(10)));
	errno = 0;
	ck_assert_ptr_null(corio_group_spawn(grp, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(corio_group_wait(grp), 0);
	ck_assert_int_eq(ran, 61);
	corio_group_free(grp);
	corio_group_free(NULL);
	return NULL;
}

START_TEST(group_basic)
{
	run(group_basic_main);
}
END_TEST

static void *group_fail_main(void *arg)
{
	grp = corio_group_new();
	for (int i = 0; i < 20; i++)
		corio_group_spawn(grp, member_sleeper, NULL);
	corio_group_spawn(grp, member_failer, NULL);
	ck_assert_int_eq(corio_group_wait(grp), -EIO);
	ck_assert_int_eq(cancelled_members, 20); /* the sleepers were cancelled */
	errno = 0;
	ck_assert_ptr_null(corio_group_spawn(grp, member_ok, NULL)); /* shutting down */
	ck_assert_int_eq(errno, ECANCELED);
	corio_group_free(grp);
	return NULL;
}

START_TEST(group_fail)
{
	run(group_fail_main);
}
END_TEST

/* The task that waits on the group is cancelled / times out. */
static void *group_waiter(void *arg)
{
	corio_group *g = corio_group_new();
	int rc;

	for (int i = 0; i < 10; i++)
		corio_group_spawn(g, member_sleeper, NULL);
	if (P2I(arg)) {
		corio_timeout to;

		corio_timeout_enter(&to, CORIO_MS(20));
		rc = corio_group_wait(g);
		ck_assert(corio_timeout_exit(&to));
	} else {
		rc = corio_group_wait(g);
	}
	/* the members were cancelled and awaited before the wait returned */
	ck_assert_int_eq(cancelled_members, 10);
	corio_group_free(g);
	return I2P(rc);
}

static void *group_interrupt_main(void *arg)
{
	corio_task *t;
	void *res;

	t = corio_spawn(group_waiter, I2P(0));
	/* Any positive sleep parks main until a loop turn, by which time the waiter and all
	 * its members ran and parked (they were ready before main's timer was submitted). */
	ck_assert_int_eq(corio_sleep(CORIO_MS(10)), 0);
	corio_cancel(t);
	ck_assert_int_eq(corio_join(t, &res), -ECANCELED);
	ck_assert_int_eq(P2I(res), -ECANCELED);

	cancelled_members = 0;
	t = corio_spawn(group_waiter, I2P(1));
	ck_assert_int_eq(corio_join(t, &res), 0);
	ck_assert_int_eq(P2I(res), -ETIMEDOUT); /* and group_waiter counted 10 cancelled */
	return NULL;
}

START_TEST(group_interrupt)
{
	run(group_interrupt_main);
}
END_TEST

static void *group_cancel_main(void *arg)
{
	corio_task *one;

	/* cancelling one member is not a failure */
	grp = corio_group_new();
	one = corio_group_spawn(grp, member_sleeper, NULL);
	corio_group_spawn(grp, member_ok, I2P(1));
	corio_yield();
	corio_cancel(one);
	ck_assert_int_eq(corio_group_wait(grp), 0);
	ck_assert_int_eq(cancelled_members, 1);
	ck_assert_int_eq(ran, 1);

	/* cancelling the group: members that never ran are not run at all */
	for (int i = 0; i < 5; i++)
		corio_group_spawn(grp, member_sleeper, NULL);
	corio_yield();
	for (int i = 0; i < 5; i++)
		corio_group_spawn(grp, member_ok, NULL);
	corio_group_cancel(grp);
	ck_assert_int_eq(corio_group_wait(grp), -ECANCELED);
	ck_assert_int_eq(cancelled_members, 6);
	ck_assert_int_eq(ran, 1);
	corio_group_free(grp);

	/* free with members running: they are cancelled and awaited */
	grp = corio_group_new();
	for (int i = 0; i < 5; i++)
		corio_group_spawn(grp, member_sleeper, NULL);
	corio_yield();
	corio_group_free(grp);
	ck_assert_int_eq(cancelled_members, 11);
	return NULL;
}

START_TEST(group_cancel)
{
	run(group_cancel_main);
}
END_TEST

/* A group whose wait is never called: corio_run still waits for its members (they are
 * ordinary attached tasks), and freeing the group after the loop ended releases memory. */
static void *group_orphan_main(void *arg)
{
	grp = corio_group_new();
	for (int i = 0; i < 5; i++)
		corio_group_spawn(grp, member_ok, I2P(i));
	return NULL;
}

START_TEST(group_orphan)
{
	run(group_orphan_main);
	ck_assert_int_eq(ran, 5);
	corio_group_free(grp);
}
END_TEST

/* ==== teardown with waiters ============================================================== */

/* Detached tasks parked on every primitive when main returns: corio_run cancels them, each
 * wait ends with -ECANCELED and leaves its object consistent. */
static corio_mutex *tmu;
static corio_sem *tsem;
static corio_event *tev;
static corio_cond *tcv;
static corio_waitgroup *twg;
static corio_future *tfut;
static int teardown_seen;
static corio_chan *ch2;

static void *td_task(void *arg)
{
	int rc = -1, v;

	switch (P2I(arg)) {
	case 0: rc = corio_mutex_lock(tmu); break;
	case 1: rc = corio_sem_acquire(tsem); break;
	case 2: rc = corio_event_wait(tev); break;
	case 3:
		corio_mutex_lock(tmu + 1);
		rc = corio_cond_wait(tcv, tmu + 1);
		ck_assert(corio_mutex_locked(tmu + 1));
		corio_mutex_unlock(tmu + 1);
		break;
	case 4: rc = corio_waitgroup_wait(twg); break;
	case 5: rc = corio_future_wait(tfut, NULL); break;
	case 6: rc = corio_chan_recv(ch, &v); break;
	case 7: v = 1; rc = corio_chan_send(ch2, &v); break;
	}
	ck_assert_int_eq(rc, -ECANCELED);
	teardown_seen |= 1 << P2I(arg);
	return NULL;
}

static void *teardown_main(void *arg)
{
	bool detach = P2I(arg);

	tmu = calloc(2, sizeof *tmu);
	tsem = calloc(1, sizeof *tsem);
	tev = calloc(1, sizeof *tev);
	tcv = calloc(1, sizeof *tcv);
	twg = calloc(1, sizeof *twg);
	tfut = calloc(1, sizeof *tfut);
	corio_mutex_init(tmu);
	corio_mutex_init(tmu + 1);
	corio_sem_init(tsem, 0);
	corio_event_init(tev);
	corio_cond_init(tcv);
	corio_waitgroup_init(twg);
	corio_waitgroup_add(twg, 1);
	corio_future_init(tfut);
	ch = corio_chan_new(0, sizeof(int));
	ch2 = corio_chan_new(0, sizeof(int));
	corio_mutex_lock(tmu);
	for (int i = 0; i < 8; i++) {
		corio_task *t = corio_spawn(td_task, I2P(i));

		if (detach)
			corio_detach(t);
	}
	corio_yield();
	return NULL; /* with the waiters still parked (attached ones: a deadlock) */
}

static void teardown_check(int expect_rc, bool detach)
{
	void *res;

	ck_assert_int_eq(corio_run(teardown_main, I2P(detach), &res), expect_rc);
	ck_assert_int_eq(teardown_seen, 0xff);
	ck_assert(!corio_mutex_locked(tmu + 1));
	free(tmu);
	free(tsem);
	free(tev);
	free(tcv);
	free(twg);
	free(tfut);
	corio_chan_free(ch);
	corio_chan_free(ch2);
}

START_TEST(teardown_detached_waiters)
{
	teardown_check(0, true);
}
END_TEST

START_TEST(teardown_deadlock)
{
	/* attached waiters nobody can wake: the deadlock breaker cancels them */
	teardown_check(-EDEADLK, false);
}
END_TEST

/* ==== a wait whose kernel timer cannot be had ============================================ */

/* Inside a timeout scope every parked wait arms a kernel timer of its own; when that
 * allocation fails the call must say -ENOMEM, not -ETIMEDOUT (the deadline did not pass,
 * the scope did not fire), and leave nothing queued behind it. */
static void fail_next_timer(void)
{
	corio__loop_get()->timer_alloc_fail = 1;
}

static void *enomem_child(void *arg)
{
	corio_yield();
	return arg;
}

static void *enomem_blocking(void *arg)
{
	return arg;
}

static void *wait_enomem_main(void *arg)
{
	corio_timeout to;
	corio_event e;
	corio_mutex m;
	corio_task *t;
	void *r = NULL;
	int v = 0;

	ck_assert_ptr_nonnull(ch = corio_chan_new(1, sizeof(int)));
	ck_assert_int_eq(corio_event_init(&e), 0);
	ck_assert_int_eq(corio_mutex_init(&m), 0);
	ck_assert_int_eq(corio_mutex_lock(&m), 0);
	ck_assert_ptr_nonnull(t = corio_spawn(enomem_child, I2P(7)));

	corio_timeout_enter(&to, CORIO_SEC(3600));
	fail_next_timer();
	ck_assert_int_eq(corio_event_wait(&e), -ENOMEM);
	fail_next_timer();
	ck_assert_int_eq(corio_mutex_lock(&m), -ENOMEM);
	fail_next_timer();
	ck_assert_int_eq(corio_chan_recv(ch, &v), -ENOMEM);
	fail_next_timer();
	ck_assert_int_eq(corio_join(t, NULL), -ENOMEM); /* t lives on */
	fail_next_timer();
	ck_assert_int_eq(corio_blocking(enomem_blocking, I2P(9), &r), -ENOMEM);
	ck_assert_int_eq(P2I(r), 9); /* fn still ran to its end, as after a timeout */
	ck_assert_uint_eq(corio__loop_get()->timer_alloc_fail, 0);
	ck_assert(!corio_timeout_exit(&to));

	/* Nothing was left queued: the unlock finds no waiter to hand the lock to, the
	 * element goes into the buffer, not to a receiver that is gone. */
	ck_assert_int_eq(corio_mutex_unlock(&m), 0);
	ck_assert(!corio_mutex_locked(&m));
	v = 5;
	ck_assert_int_eq(corio_chan_try_send(ch, &v), 0);
	ck_assert_uint_eq(corio_chan_len(ch), 1);
	ck_assert_int_eq(corio_event_set(&e), 0);
	ck_assert_int_eq(corio_join(t, &r), 0);
	ck_assert_int_eq(P2I(r), 7);

	/* With its timer, the same wait parks and times out. */
	ck_assert_int_eq(corio_event_clear(&e), 0);
	corio_timeout_enter(&to, CORIO_MS(1));
	ck_assert_int_eq(corio_event_wait(&e), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	corio_chan_free(ch);
	return NULL;
}

START_TEST(wait_timer_enomem)
{
	run(wait_enomem_main);
}
END_TEST

/* ==== suite ============================================================================== */

static void *probe_main(void *arg)
{
	return NULL;
}

static Suite *sync_suite(void)
{
	Suite *s = suite_create("sync");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
		{ "chan_basic", chan_basic },
		{ "chan_rendezvous", chan_rendezvous },
		{ "chan_close", chan_close },
		{ "chan_timeout", chan_timeout },
		{ "chan_cancel", chan_cancel },
		{ "chan_fifo", chan_fifo },
		{ "chan_stress", chan_stress },
		{ "mutex_basic", mutex_basic },
		{ "mutex_counter", mutex_counter },
		{ "mutex_fifo", mutex_fifo },
		{ "mutex_timeout", mutex_timeout },
		{ "mutex_cancel", mutex_cancel },
		{ "sem_basic", sem_basic },
		{ "sem_fifo_cancel", sem_fifo_cancel },
		{ "sem_stress", sem_stress },
		{ "event_basic", event_basic },
		{ "cond_basic", cond_basic },
		{ "cond_fifo_cancel", cond_fifo_cancel },
		{ "waitgroup_basic", waitgroup_basic },
		{ "future_basic", future_basic },
		{ "group_basic", group_basic },
		{ "group_fail", group_fail },
		{ "group_interrupt", group_interrupt },
		{ "group_cancel", group_cancel },
		{ "group_orphan", group_orphan },
		{ "wait_timer_enomem", wait_timer_enomem },
		{ "teardown_detached_waiters", teardown_detached_waiters },
		{ "teardown_deadlock", teardown_deadlock },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed, rc;

	/* No io_uring here (old kernel, seccomp): skip rather than fail. */
	rc = corio_run(probe_main, NULL, NULL);
	if (rc == -ENOSYS || rc == -EPERM)
		return 77;
	sr = srunner_create(sync_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
