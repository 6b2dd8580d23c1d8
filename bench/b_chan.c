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
 * no rendezvous queue (maxsize=0 is unbounded), so capacity 0 has no peer. The asyncio peer
 * sends fewer items (its rate does not depend on N, and N = 1e6 at maxsize=1 takes ~10 s).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "bench/bench.h"

#define DEFAULT_N 1000000ull
#define QUICK_N 200000ull
#define PY_N 200000ull
#define PY_QUICK_N 50000ull

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

/* One transfer of n items; 0 with *ns (the whole transfer), or -1 (logged). */
static int transfer(size_t cap, uint64_t n, uint64_t *ns)
{
	struct xfer x = { .n = n };
	corio_task *p, *c;
	uint64_t t0, t1;
	int rp, rc;

	x.ch = corio_chan_new(cap, sizeof(uint64_t));
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
	size_t cap;
	uint64_t n;
	double rate; /* items/s, or -1 */
};

static void *chan_main(void *arg)
{
	struct chan_run *r = arg;
	uint64_t ns;

	r->rate = -1;
	if (transfer(r->cap, r->n / 10 ? r->n / 10 : 1, &ns) != 0) /* warm-up */
		return NULL;
	if (transfer(r->cap, r->n, &ns) != 0)
		return NULL;
	r->rate = (double)r->n * 1e9 / (double)(ns ? ns : 1);
	return NULL;
}

static double measure_corio(size_t cap, uint64_t n)
{
	struct chan_run r = { .cap = cap, .n = n, .rate = -1 };
	int rc = corio_run(chan_main, &r, NULL);

	if (rc != 0) {
		bench_log("chan: corio_run: %s\n", strerror(-rc));
		return -1;
	}
	return r.rate;
}

/* The asyncio peer: items/s, or -1 (the reason is logged and kept in *why). */
static double measure_python(size_t cap, uint64_t n, const char **why)
{
	const char *py = bench_python(), *dir = bench_peers_dir("python");
	char script[4096], capacity[32], count[32], out[256];
	unsigned long long sum = 0;
	const char *s;
	double rate;
	int rc;

	if (!py) {
		*why = "/usr/bin/python3 not installed";
		return -1;
	}
	if (!dir) {
		*why = "bench/peers/python not found (set CORIO_BENCH_PEERS)";
		return -1;
	}
	snprintf(script, sizeof script, "%s/chan.py", dir);
	snprintf(capacity, sizeof capacity, "%zu", cap);
	snprintf(count, sizeof count, "%llu", (unsigned long long)n);
	rc = bench_run_child((char *[]){ (char *)py, script, capacity, count, NULL }, out,
			     sizeof out, NULL);
	if (rc != 0 || sscanf(out, "items_per_s=%lf", &rate) != 1 || rate <= 0 ||
	    !(s = strstr(out, "sum=")) || sscanf(s, "sum=%llu", &sum) != 1 ||
	    sum != n * (n + 1) / 2) {
		bench_log("chan: %s %s %s %s exited with %d, printed '%s'\n", py, script, capacity,
			  count, rc, out);
		*why = "python peer failed";
		return -1;
	}
	return rate;
}

#define NCAPS 3

static int run(const bench_opts *o)
{
	static const size_t caps[NCAPS] = { 1, 64, 0 };
	uint64_t n = o->quick ? QUICK_N : DEFAULT_N, py_n = o->quick ? PY_QUICK_N : PY_N;
	bench_result res[NCAPS];
	int pc[NCAPS], pp[NCAPS];
	const char *why = NULL;

	for (int k = 0; k < NCAPS; k++) {
		if (caps[k])
			bench_result_init(&res[k], "chan", "items/s", true,
					  "cap %zu, N=%llu, asyncio %llu", caps[k],
					  (unsigned long long)n, (unsigned long long)py_n);
		else
			bench_result_init(&res[k], "chan", "items/s", true,
					  "cap 0 (rendezvous), N=%llu", (unsigned long long)n);
		pc[k] = bench_result_peer(&res[k], "corio");
		pp[k] = -1;
		if (caps[k])
			pp[k] = bench_result_peer(&res[k], "asyncio");
		else
			snprintf(res[k].note, sizeof res[k].note,
				 "(asyncio.Queue has no rendezvous mode)");
	}

	for (int i = 0; i < o->runs; i++) {
		double c[NCAPS], p[NCAPS] = { -1, -1, -1 };

		/* Peers before corio on odd runs, after it on even ones. */
		for (int k = 0; k < NCAPS && i % 2 == 1; k++)
			if (caps[k] && !why)
				p[k] = measure_python(caps[k], py_n, &why);
		for (int k = 0; k < NCAPS; k++)
			if ((c[k] = measure_corio(caps[k], n)) < 0)
				return 1;
		for (int k = 0; k < NCAPS && i % 2 == 0; k++)
			if (caps[k] && !why)
				p[k] = measure_python(caps[k], py_n, &why);
		bench_log("  run %d: corio cap 1 %.0f, cap 64 %.0f, cap 0 %.0f items/s; "
			  "asyncio cap 1 %.0f, cap 64 %.0f items/s\n", i + 1, c[0], c[1], c[2],
			  p[0], p[1]);
		for (int k = 0; k < NCAPS; k++) {
			bench_result_add(&res[k], pc[k], c[k]);
			if (pp[k] >= 0 && !why)
				bench_result_add(&res[k], pp[k], p[k]);
		}
	}
	for (int k = 0; k < NCAPS; k++) {
		if (why && pp[k] >= 0)
			bench_result_skip(&res[k], pp[k], why);
		bench_result_report(&res[k], o);
	}
	return 0;
}

const bench_def bench_chan = {
	.name = "chan",
	.desc = "items/s through a corio_chan between two tasks (capacity 1, 64, 0) vs "
		"asyncio.Queue",
	.run = run,
};
