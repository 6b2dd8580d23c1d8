/* bench/b_chan.c: items per second through a corio_chan between two tasks.
 *
 * A producer task sends the uint64 values 1..N into a channel and closes it; a consumer task
 * receives until -EPIPE and sums them. The main task creates the channel, spawns both, joins
 * both; the time from the spawns to the second join is the run, N / that time the result.
 * A warm-up of N/10 items on another channel of the same loop comes first. The sum (and the
 * count) must be exact: a wrong one makes the benchmark fail, it is never reported.
 *
 * Capacities 1, 64 and 0 (rendezvous: each send waits for the receiver to take the item).
 * Beside asyncio.Queue(maxsize=1 / 64) with the same pattern (bench/peers/python/chan.py: the
 * producer puts a None sentinel since asyncio.Queue has no close before 3.13). asyncio has
 * no rendezvous queue (maxsize=0 is unbounded), so capacity 0 has no Python peer. The asyncio
 * peer sends fewer items (its rate does not depend on N, and N = 1e6 at maxsize=1 takes
 * ~15 s), on asyncio's loop and on uvloop's. Beside them the runtimes a user would pick
 * instead, with the same shape (go-micro / tokio-micro, mode chan): a Go channel of the same
 * capacity between two goroutines (GOMAXPROCS=1; capacity 0 is Go's rendezvous channel) and
 * a tokio mpsc channel between two tasks (current_thread, and multi_thread with one worker;
 * tokio has no rendezvous channel: capacity 0 is skipped).
 *
 * Then a priority and a LIFO channel of capacity 64 (corio_chan_new_priority with a uint64
 * compare, corio_chan_new_lifo) with the same pattern, beside asyncio.PriorityQueue and
 * asyncio.LifoQueue(maxsize=64) (chan.py's shapes prio64 and lifo64); Go's channels and
 * tokio's mpsc have no other order, so those columns are skipped. The FIFO rows are the
 * ones the other orders must not slow down (the kind is one byte tested where the buffer
 * is pushed and popped).
 *
 * Every configuration is measured on an idle loop and on a loop with 1000 receives and a
 * timer in flight (bench/inflight.h), the peers too: a server's loop is never idle (issue
 * 13's target for capacity 1: in flight <= 1.5x idle).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "bench/bench.h"
#include "bench/inflight.h"

#define DEFAULT_N 1000000ull
#define QUICK_N 200000ull
#define PY_N 20000ull       /* asyncio.Queue(maxsize=1): ~20 us an item on this VM */
#define PY_QUICK_N 5000ull

struct xfer {
	corio_chan *ch;
	uint64_t n;       /* items the producer sends */
	uint64_t sum, got; /* what the consumer received */
	int send_err, recv_err;
};

static void *producer(void *arg)
{
	struct xfer *x = arg;

	for (uint64_t i = 1; i <= x->n; i++) {
		int rc = corio_chan_send(x->ch, &i);

		if (rc != 0) {
			x->send_err = rc;
			break;
		}
	}
	corio_chan_close(x->ch);
	return NULL;
}

static void *consumer(void *arg)
{
	struct xfer *x = arg;
	uint64_t v, sum = 0, got = 0;
	int rc;

	while ((rc = corio_chan_recv(x->ch, &v)) == 0) {
		sum += v;
		got++;
	}
	x->sum = sum;
	x->got = got;
	x->recv_err = rc == -EPIPE ? 0 : rc;
	return NULL;
}

/* The channel kinds measured: the FIFO corio_chan_new, and the other orders. */
enum { FIFO, PRIO, LIFO };

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static corio_chan *chan_of(int kind, size_t cap)
{
	switch (kind) {
	case PRIO:
		return corio_chan_new_priority(cap, sizeof(uint64_t), cmp_u64);
	case LIFO:
		return corio_chan_new_lifo(cap, sizeof(uint64_t));
	default:
		return corio_chan_new(cap, sizeof(uint64_t));
	}
}

/* One transfer of n items; 0 with *ns (the whole transfer), or -1 (logged). */
static int transfer(int kind, size_t cap, uint64_t n, uint64_t *ns)
{
	struct xfer x = { .n = n };
	corio_task *p, *c;
	uint64_t t0, t1;
	int rp, rc;

	x.ch = chan_of(kind, cap);
	if (!x.ch) {
		bench_log("chan: corio_chan_new(%zu): %s\n", cap, strerror(errno));
		return -1;
	}
	t0 = bench_now();
	p = corio_spawn(producer, &x);
	c = p ? corio_spawn(consumer, &x) : NULL;
	if (!c) {
		bench_log("chan: corio_spawn: %s\n", strerror(errno));
		if (p) {
			corio_cancel(p);
			corio_join(p, NULL);
		}
		corio_chan_free(x.ch);
		return -1;
	}
	rp = corio_join(p, NULL);
	rc = corio_join(c, NULL);
	t1 = bench_now();
	corio_chan_free(x.ch);
	if (rp != 0 || rc != 0 || x.send_err || x.recv_err) {
		bench_log("chan: capacity %zu: join %d/%d, send %s, recv %s\n", cap, rp, rc,
			  strerror(-x.send_err), strerror(-x.recv_err));
		return -1;
	}
	/* 1 + ... + n; n <= 2^32 keeps it inside uint64_t. */
	if (x.got != n || x.sum != n * (n + 1) / 2) {
		bench_log("chan: capacity %zu: received %llu items summing to %llu, expected "
			  "%llu summing to %llu\n", cap, (unsigned long long)x.got,
			  (unsigned long long)x.sum, (unsigned long long)n,
			  (unsigned long long)(n * (n + 1) / 2));
		return -1;
	}
	*ns = t1 - t0;
	return 0;
}

struct chan_run {
	int kind;
	size_t cap;
	uint64_t n;
	double rate; /* items/s, or -1 */
};

static void *chan_main(void *arg)
{
	struct chan_run *r = arg;
	uint64_t ns;

	r->rate = -1;
	if (transfer(r->kind, r->cap, r->n / 10 ? r->n / 10 : 1, &ns) != 0) /* warm-up */
		return NULL;
	if (transfer(r->kind, r->cap, r->n, &ns) != 0)
		return NULL;
	r->rate = (double)r->n * 1e9 / (double)(ns ? ns : 1);
	return NULL;
}

/* Items/s with k receives and a timer in flight (k == 0: idle), or -1. */
static double measure_corio(int kind, size_t cap, uint64_t n, unsigned k)
{
	struct chan_run r = { .kind = kind, .cap = cap, .n = n, .rate = -1 };
	int rc = bench_inflight_run(k, chan_main, &r);

	if (rc != 0) {
		bench_log("chan: corio_run: %s\n", strerror(-rc));
		return -1;
	}
	return r.rate;
}

/* The configurations: FIFO capacities 1, 64 and 0, then a priority and a LIFO channel of
 * capacity 64. name is the shape as the Python script prints it (its CAP argument). */
#define NCFGS 5

static const struct cfg {
	int kind;
	size_t cap;
	const char *name;
} cfgs[NCFGS] = {
	{ FIFO, 1, "1" }, { FIFO, 64, "64" }, { FIFO, 0, "0" },
	{ PRIO, 64, "prio64" }, { LIFO, 64, "lifo64" },
};

/* Per state and configuration: the result, its Python columns (none for capacity 0) and
 * the compiled runtimes' columns. */
struct results {
	bench_result res[BENCH_NSTATES][NCFGS];
	bench_py py;
	bench_py_slot py_slots[BENCH_NSTATES * NCFGS];
	int npy;
	bench_micro rt[BENCH_NSTATES][NCFGS];
};

static void result_init(bench_result *res, const struct cfg *c, uint64_t n, uint64_t py_n,
			int s)
{
	static const char *const kind_name[] = { [PRIO] = "priority ", [LIFO] = "LIFO " };

	if (c->cap)
		bench_result_init(res, "chan", "items/s", true,
				  "%scap %zu, N=%llu, asyncio %llu, %s",
				  c->kind == FIFO ? "" : kind_name[c->kind], c->cap,
				  (unsigned long long)n, (unsigned long long)py_n,
				  bench_state_name[s]);
	else
		bench_result_init(res, "chan", "items/s", true, "cap 0 (rendezvous), N=%llu, %s",
				  (unsigned long long)n, bench_state_name[s]);
	bench_result_peer(res, "corio");
}

/* Go's channels and tokio's mpsc are FIFO only; tokio has no rendezvous channel. */
static void micro_init(bench_result *res, bench_micro *m, const struct cfg *c)
{
	bench_micro_add(res, m);
	for (int p = 0; p < BENCH_MICRO_NPEERS; p++)
		if (c->kind != FIFO)
			bench_micro_skip(res, m, p, "FIFO channels only");
		else if (c->cap == 0 && p > 0)
			bench_micro_skip(res, m, p, "tokio's mpsc has no rendezvous channel");
}

static void results_init(struct results *r, uint64_t n, uint64_t py_n)
{
	memset(&r->py, 0, sizeof r->py);
	r->npy = 0;
	for (int s = 0; s < BENCH_NSTATES; s++)
		for (int c = 0; c < NCFGS; c++) {
			bench_result *res = &r->res[s][c];

			result_init(res, &cfgs[c], n, py_n, s);
			if (cfgs[c].cap) {
				bench_py_slot *ps = &r->py_slots[r->npy++];

				*ps = (bench_py_slot){ .r = res, .shape = cfgs[c].name, .state = s };
				bench_py_add(ps);
			} else
				snprintf(res->note, sizeof res->note,
					 "(asyncio.Queue has no rendezvous mode)");
			micro_init(res, &r->rt[s][c], &cfgs[c]);
		}
}

/* One run of every corio measurement, idle first on even runs; 0 or -1. */
static int run_corio(struct results *r, int i, uint64_t n)
{
	double v[BENCH_NSTATES][NCFGS];

	for (int j = 0; j < BENCH_NSTATES; j++) {
		int s = i % 2 == 0 ? j : BENCH_NSTATES - 1 - j;

		for (int c = 0; c < NCFGS; c++)
			if ((v[s][c] = measure_corio(cfgs[c].kind, cfgs[c].cap, n,
						     bench_state_k(s))) < 0)
				return -1;
	}
	bench_log("  run %d: corio cap 1, 64, 0, prio64, lifo64: idle %.0f, %.0f, %.0f, %.0f, "
		  "%.0f items/s; in flight %.0f, %.0f, %.0f, %.0f, %.0f items/s\n", i + 1,
		  v[0][0], v[0][1], v[0][2], v[0][3], v[0][4], v[1][0], v[1][1], v[1][2], v[1][3],
		  v[1][4]);
	for (int s = 0; s < BENCH_NSTATES; s++)
		for (int c = 0; c < NCFGS; c++)
			bench_result_add(&r->res[s][c], 0, v[s][c]);
	return 0;
}

static void run_peers(struct results *r, int i, uint64_t n, uint64_t py_n)
{
	bench_py_measure(&r->py, "chan.py", "1,64,prio64,lifo64", py_n, "items_per_s",
			 r->py_slots, r->npy, i % 2 == 1);
	for (int s = 0; s < BENCH_NSTATES; s++)
		for (int c = 0; c < NCFGS; c++)
			bench_micro_measure(&r->res[s][c], &r->rt[s][c], "chan", n, cfgs[c].name,
					    bench_state_k(s), true);
}

static int run(const bench_opts *o)
{
	uint64_t n = o->quick ? QUICK_N : DEFAULT_N, py_n = o->quick ? PY_QUICK_N : PY_N;
	uint64_t peer_n = n / 2; /* lowered per peer after its first run (inflight.h) */
	struct results r;

	results_init(&r, n, py_n);
	for (int i = 0; i < o->runs; i++) {
		/* Peers before corio on odd runs, after it on even ones. */
		if (i % 2 == 1)
			run_peers(&r, i, peer_n, py_n);
		if (run_corio(&r, i, n) != 0)
			return 1;
		if (i % 2 == 0)
			run_peers(&r, i, peer_n, py_n);
	}
	for (int c = 0; c < NCFGS; c++)
		bench_inflight_note(&r.res[BENCH_INFLIGHT][c], &r.res[BENCH_IDLE][c],
				    cfgs[c].kind == FIFO && cfgs[c].cap == 1);
	for (int c = 0; c < NCFGS; c++)
		for (int s = 0; s < BENCH_NSTATES; s++)
			bench_result_report(&r.res[s][c], o);
	return 0;
}

const bench_def bench_chan = {
	.name = "chan",
	.desc = "items/s through a corio_chan between two tasks (capacity 1, 64, 0; priority and "
		"LIFO 64), idle and with I/O in flight, vs asyncio.Queue (PriorityQueue, LifoQueue), "
		"uvloop, Go channels, tokio mpsc",
	.run = run,
};
