/* tests/runtime/test_chan_order.c: LIFO and priority channels (corio_chan_new_lifo,
 * corio_chan_new_priority in corio/sync.h): their orders, stability among equal keys, odd
 * element sizes, parked senders entering the buffer in the channel's order, direct
 * hand-off to a parked receiver, try variants, close and drain, cancellation and timeouts
 * leaving the order intact, bad arguments, and a seeded random run against a model. */
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

/* ==== bad arguments ==================================================================== */

START_TEST(order_args)
{
	int v = 1;

	errno = 0;
	ck_assert_ptr_null(corio_chan_new_lifo(0, sizeof(int))); /* no rendezvous */
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(corio_chan_new_lifo(4, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(corio_chan_new_priority(0, sizeof(int), cmp_int));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(corio_chan_new_priority(4, 0, cmp_int));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(corio_chan_new_priority(4, sizeof(int), NULL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(corio_chan_new_lifo(SIZE_MAX, 16));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(corio_chan_new_priority(SIZE_MAX / 4, 16, cmp_int));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(corio_chan_new_priority(1, SIZE_MAX - 4, cmp_int));
	ck_assert_int_eq(errno, ENOMEM);
	/* outside a task: the blocking calls refuse, the try variants work */
	ck_assert_ptr_nonnull(ch = corio_chan_new_priority(2, sizeof v, cmp_int));
	ck_assert_uint_eq(corio_chan_cap(ch), 2);
	ck_assert_int_eq(corio_chan_send(ch, &v), -EPERM);
	ck_assert_int_eq(corio_chan_recv(ch, &v), -EPERM);
	ck_assert_int_eq(corio_chan_try_send(ch, &v), 0);
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), 0);
	ck_assert_int_eq(corio_chan_try_send(ch, NULL), -EINVAL);
	corio_chan_free(ch);
}
END_TEST

/* ==== LIFO ============================================================================= */

static void *lifo_main(void *arg)
{
	int v;

	ck_assert_ptr_nonnull(ch = corio_chan_new_lifo(5, sizeof(int)));
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(corio_chan_send(ch, &i), 0); /* room: never parks */
	v = 9;
	ck_assert_int_eq(corio_chan_try_send(ch, &v), -EAGAIN);
	ck_assert_uint_eq(corio_chan_len(ch), 5);
	for (int i = 4; i >= 2; i--) {
		ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
		ck_assert_int_eq(v, i);
	}
	/* interleaved: the newest always leaves first */
	v = 10;
	ck_assert_int_eq(corio_chan_try_send(ch, &v), 0);
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), 0);
	ck_assert_int_eq(v, 10);
	for (int i = 1; i >= 0; i--) {
		ck_assert_int_eq(corio_chan_try_recv(ch, &v), 0);
		ck_assert_int_eq(v, i);
	}
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), -EAGAIN);
	ck_assert_uint_eq(corio_chan_len(ch), 0);
	corio_chan_free(ch);
	return NULL;
}

START_TEST(lifo_order)
{
	run(lifo_main);
}
END_TEST

/* ==== priority on structs: order and stability ========================================= */

struct job {
	int prio;        /* lower goes first */
	int id;          /* the order it was sent in, among its priority */
	char name[24];
};

static int cmp_job(const void *a, const void *b)
{
	const struct job *x = a, *y = b; /* elements reach cmp aligned */

	return (x->prio > y->prio) - (x->prio < y->prio);
}

static void *prio_struct_main(void *arg)
{
	enum { N = 200 };
	int next[5] = { 0 }, last_prio = -1, last_id = -1;
	struct job j;

	ck_assert_ptr_nonnull(ch = corio_chan_new_priority(N, sizeof(struct job), cmp_job));
	for (int i = 0; i < N; i++) {
		j.prio = (i * 7 + 3) % 5; /* every priority, many times, interleaved */
		j.id = next[j.prio]++;
		snprintf(j.name, sizeof j.name, "job %d/%d", j.prio, j.id);
		ck_assert_int_eq(corio_chan_send(ch, &j), 0);
	}
	for (int i = 0; i < N; i++) {
		char want[24];

		ck_assert_int_eq(corio_chan_recv(ch, &j), 0);
		if (j.prio == last_prio) {
			ck_assert_int_eq(j.id, last_id + 1); /* stable: sending order */
		} else {
			ck_assert_int_gt(j.prio, last_prio);
			ck_assert_int_eq(j.id, 0);
		}
		snprintf(want, sizeof want, "job %d/%d", j.prio, j.id);
		ck_assert_str_eq(j.name, want);
		last_prio = j.prio;
		last_id = j.id;
	}
	ck_assert_int_eq(corio_chan_try_recv(ch, &j), -EAGAIN);
	corio_chan_free(ch);
	return NULL;
}

START_TEST(prio_struct)
{
	run(prio_struct_main);
}
END_TEST

/* ==== odd element sizes (13 bytes): keys compared byte-wise, ties stable ================ */

enum { ODD = 13 };

static int cmp_odd(const void *a, const void *b)
{
	return (int)((const unsigned char *)a)[0] - (int)((const unsigned char *)b)[0];
}

static void odd_fill(unsigned char *e, unsigned key, unsigned id)
{
	e[0] = (unsigned char)key;
	memcpy(e + 1, &id, sizeof id);
	for (int k = 5; k < ODD; k++)
		e[k] = (unsigned char)(id * 31 + (unsigned)k);
}

static void *prio_odd_main(void *arg)
{
	unsigned char e[ODD], want[ODD];
	unsigned id;

	ck_assert_ptr_nonnull(ch = corio_chan_new_priority(64, ODD, cmp_odd));
	for (unsigned i = 0; i < 64; i++) {
		odd_fill(e, 3 - i % 4, i);
		ck_assert_int_eq(corio_chan_try_send(ch, e), 0);
	}
	/* keys 0, 1, 2, 3, each in sending order (ids i with 3 - i % 4 == key) */
	for (unsigned key = 0; key < 4; key++)
		for (unsigned i = 3 - key; i < 64; i += 4) {
			ck_assert_int_eq(corio_chan_recv(ch, e), 0);
			memcpy(&id, e + 1, sizeof id);
			ck_assert_uint_eq(id, i);
			odd_fill(want, key, i);
			ck_assert(memcmp(e, want, ODD) == 0);
		}
	corio_chan_free(ch);
	/* and a LIFO of the same odd size */
	ck_assert_ptr_nonnull(ch = corio_chan_new_lifo(3, ODD));
	for (unsigned i = 0; i < 3; i++) {
		odd_fill(e, 0, i);
		ck_assert_int_eq(corio_chan_send(ch, e), 0);
	}
	for (unsigned i = 3; i-- > 0;) {
		ck_assert_int_eq(corio_chan_recv(ch, e), 0);
		odd_fill(want, 0, i);
		ck_assert(memcmp(e, want, ODD) == 0);
	}
	corio_chan_free(ch);
	return NULL;
}

START_TEST(prio_odd_size)
{
	run(prio_odd_main);
}
END_TEST

/* ==== parked senders and receivers ===================================================== */

static void *sender(void *arg)
{
	int v = P2I(arg);

	results[v & 1023] = corio_chan_send(ch, &v);
	return NULL;
}

static void *receiver(void *arg)
{
	int v = -1, rc = corio_chan_recv(ch, &v);

	results[P2I(arg)] = rc == 0 ? v : rc;
	return NULL;
}

/* Spawns a sender of each value, in order, and lets each park before the next. */
static void park_senders(corio_task **t, const int *vals, int n)
{
	for (int i = 0; i < n; i++) {
		t[i] = corio_spawn(sender, I2P(vals[i]));
		yields(2);
	}
}

/* A full channel holding first then second, the senders of vals parked behind it: the
 * receives must give want (each receive lets the first parked sender's element in). */
static void full_case(corio_chan *c, const int *vals, const int *want, int nwant)
{
	corio_task *t[8];
	int v;

	ch = c;
	park_senders(t, vals, nwant - 2);
	v = 100;
	ck_assert_int_eq(corio_chan_try_send(ch, &v), -EAGAIN); /* no barging */
	for (int i = 0; i < nwant; i++) {
		ck_assert_int_eq(corio_chan_recv(ch, &v), 0);
		ck_assert_int_eq(v, want[i]);
	}
	ck_assert_int_eq(corio_gather(t, nwant - 2, NULL), 0);
	for (int i = 0; i < nwant - 2; i++)
		ck_assert_int_eq(results[vals[i]], 0);
	corio_chan_free(ch);
}

static void *parked_main(void *arg)
{
	static const int vals[] = { 3, 0, 4 };
	static const int want_prio[] = { 1, 3, 0, 4, 5 }, want_lifo[] = { 5, 3, 0, 4, 1 };
	corio_chan *c;
	corio_task *r;
	int v;

	/* priority {5, 1}: 1 leaves, 3 enters {5, 3}; 3 leaves, 0 enters; 0; 4 enters; 4; 5 */
	c = corio_chan_new_priority(2, sizeof(int), cmp_int);
	v = 5, corio_chan_send(c, &v);
	v = 1, corio_chan_send(c, &v);
	full_case(c, vals, want_prio, 5);
	/* LIFO [1, 5]: 5 leaves, 3 is pushed and is newest; 3; 0; 4; then 1 */
	c = corio_chan_new_lifo(2, sizeof(int));
	v = 1, corio_chan_send(c, &v);
	v = 5, corio_chan_send(c, &v);
	full_case(c, vals, want_lifo, 5);

	/* a parked receiver is handed the element directly (nothing buffered goes first) */
	ck_assert_ptr_nonnull(ch = corio_chan_new_priority(4, sizeof(int), cmp_int));
	r = corio_spawn(receiver, I2P(0));
	yields(2);
	v = 42;
	ck_assert_int_eq(corio_chan_try_send(ch, &v), 0);
	ck_assert_uint_eq(corio_chan_len(ch), 0);
	v = 7;
	ck_assert_int_eq(corio_chan_send(ch, &v), 0); /* buffered: the receiver is served */
	ck_assert_int_eq(corio_join(r, NULL), 0);
	ck_assert_int_eq(results[0], 42);
	ck_assert_uint_eq(corio_chan_len(ch), 1);
	corio_chan_free(ch);
	return NULL;
}

START_TEST(order_parked)
{
	run(parked_main);
}
END_TEST

/* ==== close and drain; cancelled and timed-out senders ================================== */

static void *close_main(void *arg)
{
	static const int vals[] = { 8, 2, 6, 4 };
	corio_task *t[2];
	corio_timeout to;
	int v;

	ck_assert_ptr_nonnull(ch = corio_chan_new_priority(4, sizeof(int), cmp_int));
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(corio_chan_send(ch, &vals[i]), 0);
	/* a timed-out and a cancelled parked sender leave the heap as it was */
	corio_timeout_enter(&to, CORIO_MS(5));
	v = 1;
	ck_assert_int_eq(corio_chan_send(ch, &v), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	t[0] = corio_spawn(sender, I2P(0));
	t[1] = corio_spawn(sender, I2P(10));
	yields(2);
	corio_cancel(t[0]);
	ck_assert_int_eq(corio_join(t[0], NULL), -ECANCELED);
	ck_assert_int_eq(results[0], -ECANCELED);
	ck_assert_uint_eq(corio_chan_len(ch), 4);
	corio_chan_close(ch); /* the parked sender of 10 gets -EPIPE */
	ck_assert_int_eq(corio_join(t[1], NULL), 0);
	ck_assert_int_eq(results[10], -EPIPE);
	ck_assert_int_eq(corio_chan_send(ch, &v), -EPIPE);
	ck_assert_int_eq(corio_chan_try_send(ch, &v), -EPIPE);
	for (int i = 2; i <= 8; i += 2) {
		ck_assert_int_eq(corio_chan_recv(ch, &v), 0); /* drains in order */
		ck_assert_int_eq(v, i);
	}
	ck_assert_int_eq(corio_chan_recv(ch, &v), -EPIPE);
	ck_assert_int_eq(corio_chan_try_recv(ch, &v), -EPIPE);
	corio_chan_free(ch);

	/* LIFO: free with a receiver parked */
	ck_assert_ptr_nonnull(ch = corio_chan_new_lifo(2, sizeof(int)));
	t[0] = corio_spawn(receiver, I2P(1));
	yields(2);
	corio_chan_free(ch);
	ck_assert_int_eq(corio_join(t[0], NULL), 0);
	ck_assert_int_eq(results[1], -EPIPE);
	return NULL;
}

START_TEST(order_close)
{
	run(close_main);
}
END_TEST

/* ==== seeded random run against a model ================================================ */

/* 13-byte elements: a key byte with few values (many ties), the sending number, filler.
 * Besides try_send and try_recv, a send to a full channel is sometimes made by a task that
 * parks: the model keeps those in a FIFO, and each receive lets the first one in. */
enum { MODEL_CAP = 16, MODEL_OPS = TH_ASAN ? 20000 : 60000, MODEL_TASKS = 400 };

struct model {
	unsigned char e[MODEL_CAP][ODD];
	int n;
	unsigned char pend[MODEL_TASKS][ODD]; /* parked senders' elements, oldest first */
	int pend_head, pend_n;
	bool lifo;
};

static struct model m;
static unsigned char task_elems[MODEL_TASKS][ODD];
static corio_task *model_tasks[MODEL_TASKS];
static int ntasks;

/* The element that must leave next: the newest (LIFO) or the first of the least key. */
static int model_next(void)
{
	int best = 0;

	if (m.lifo)
		return m.n - 1;
	for (int i = 1; i < m.n; i++)
		if (m.e[i][0] < m.e[best][0])
			best = i; /* strict: the earliest sent among equals */
	return best;
}

static void *model_sender(void *arg)
{
	ck_assert_int_eq(corio_chan_send(ch, arg), 0);
	return NULL;
}

static void model_send(unsigned id)
{
	unsigned char e[ODD];

	odd_fill(e, (unsigned)random() % 4, id);
	if (m.n == MODEL_CAP && ntasks < MODEL_TASKS && random() % 4 == 0) {
		memcpy(task_elems[ntasks], e, ODD);
		memcpy(m.pend[m.pend_head + m.pend_n++], e, ODD);
		model_tasks[ntasks] = corio_spawn(model_sender, task_elems[ntasks]);
		ntasks++;
		yields(2); /* it parks behind the ones before it */
		return;
	}
	ck_assert_int_eq(corio_chan_try_send(ch, e), m.n < MODEL_CAP ? 0 : -EAGAIN);
	if (m.n < MODEL_CAP)
		memcpy(m.e[m.n++], e, ODD);
}

static void model_recv(void)
{
	unsigned char e[ODD];
	int k;

	if (m.n == 0) {
		ck_assert_int_eq(corio_chan_try_recv(ch, e), -EAGAIN);
		return;
	}
	k = model_next();
	ck_assert_int_eq(corio_chan_try_recv(ch, e), 0);
	ck_assert(memcmp(e, m.e[k], ODD) == 0);
	memmove(m.e[k], m.e[k + 1], (size_t)(m.n - k - 1) * ODD);
	m.n--;
	if (m.pend_n > 0) { /* the first parked sender's element enters, in the order */
		memcpy(m.e[m.n++], m.pend[m.pend_head++], ODD);
		m.pend_n--;
	}
}

static void model_run(bool lifo, unsigned seed)
{
	unsigned id = 0;

	memset(&m, 0, sizeof m);
	m.lifo = lifo;
	ntasks = 0;
	ch = lifo ? corio_chan_new_lifo(MODEL_CAP, ODD) : corio_chan_new_priority(MODEL_CAP, ODD, cmp_odd);
	ck_assert_ptr_nonnull(ch);
	srandom(seed);
	for (int op = 0; op < MODEL_OPS; op++) {
		if (random() % 100 < 52)
			model_send(id++);
		else
			model_recv();
		ck_assert_uint_eq(corio_chan_len(ch), (size_t)m.n);
	}
	while (m.n > 0)
		model_recv();
	ck_assert_int_eq(corio_gather(model_tasks, (size_t)ntasks, NULL), 0);
	ck_assert_int_gt(ntasks, 10); /* the parked path was exercised */
	corio_chan_free(ch);
}

static void *model_main(void *arg)
{
	/* Two seeds per kind, fixed so that a failure replays. */
	model_run(false, 16);
	model_run(false, 1234567);
	model_run(true, 16);
	model_run(true, 1234567);
	return NULL;
}

START_TEST(order_model)
{
	run(model_main);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE_EACH("chan_order", 60, order_args, lifo_order, prio_struct,
				     prio_odd_size, order_parked, order_close, order_model));
}
