/* bench/b_blocking.c: round trips per second through corio_blocking (the thread pool that
 * wakes its loop through the mailbox's eventfd read), from one task at a time and from 32
 * tasks at once, beside asyncio.to_thread doing the same (bench/peers/python/to_thread.py)
 * on asyncio's loop and on uvloop's. Target (issue 3): >= 10x asyncio.to_thread.
 * Each on an idle loop and on a loop with 1000 receives and a timer in flight
 * (bench/inflight.h), the Python peers too: a server's loop is never idle, and a loop with
 * I/O in flight can no longer simply sleep on the mailbox's read. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <corio/corio.h>

#include "bench/bench.h"
#include "bench/inflight.h"

#define TASKS 32

struct rt {
	unsigned tasks;
	uint64_t per_task;
	int err;
	double per_sec;
};

static void *work(void *arg)
{
	return (void *)((uintptr_t)arg + 1);
}

static void *caller(void *arg)
{
	struct rt *r = arg;

	for (uint64_t i = 0; i < r->per_task; i++) {
		void *res;
		int rc = corio_blocking(work, (void *)(uintptr_t)i, &res);

		if (rc != 0 || (uintptr_t)res != i + 1) {
			r->err = rc ? rc : -1;
			break;
		}
	}
	return NULL;
}

static void round_trips(struct rt *r)
{
	corio_task *t[TASKS];
	uint64_t t0;
	unsigned n = 0;

	t0 = bench_now();
	while (n < r->tasks && (t[n] = corio_spawn(caller, r)))
		n++;
	if (corio_gather(t, n, NULL) != 0 || n < r->tasks)
		r->err = -1;
	r->per_sec = (double)(r->per_task * r->tasks) * 1e9 / (double)(bench_now() - t0);
}

/* A warm-up (the pool's threads start there) and the timed round trips, in one loop. */
static void *rt_main(void *arg)
{
	struct rt *r = arg, warm = *r;

	warm.per_task = r->per_task / 10 + 1;
	round_trips(&warm);
	if (warm.err) {
		r->err = warm.err;
		return NULL;
	}
	round_trips(r);
	return NULL;
}

/* Round trips per second with k receives and a timer in flight (k == 0: idle), or -1. */
static double measure_corio(unsigned tasks, uint64_t total, unsigned k)
{
	struct rt r = { .tasks = tasks, .per_task = total / tasks };
	int rc = bench_inflight_run(k, rt_main, &r);

	if (rc != 0 || r.err) {
		bench_log("blocking: corio_blocking failed (%d)\n", rc ? rc : r.err);
		return -1;
	}
	return r.per_sec;
}

/* "[target: >= 10x asyncio.to_thread: met]", after what is in the note already. */
static void target_note(bench_result *r, int py)
{
	double ratio = bench_result_ratio(r, py);
	size_t len = strlen(r->note);

	if (ratio > 0)
		snprintf(r->note + len, sizeof r->note - len, "%s[target: >= 10x asyncio.to_thread: "
			 "%s]", len ? " " : "", ratio >= 10 ? "met" : "MISSED");
}

static int run(const bench_opts *o)
{
	uint64_t n = o->quick ? 10000 : 50000, py_n = o->quick ? 1000 : 3000;
	static const unsigned ntasks[2] = { 1, TASKS };
	static const char *const pymode[2] = { "seq", "par" };
	bench_result res[BENCH_NSTATES][2];
	bench_py py = { { NULL } };
	bench_py_slot slots[BENCH_NSTATES][2];

	for (int s = 0; s < BENCH_NSTATES; s++)
		for (int m = 0; m < 2; m++) {
			bench_result_init(&res[s][m], "blocking", "round trips/s", true,
					  "%u task%s, N=%llu, %s", ntasks[m], m ? "s" : "",
					  (unsigned long long)n, bench_state_name[s]);
			bench_result_peer(&res[s][m], "corio");
			slots[s][m] = (bench_py_slot){ .r = &res[s][m], .shape = pymode[m],
						       .state = s };
			bench_py_add(&slots[s][m]);
		}
	for (int i = 0; i < o->runs; i++) {
		double c[BENCH_NSTATES][2];

		/* Idle first on even runs, in flight first on odd ones. */
		for (int j = 0; j < BENCH_NSTATES; j++) {
			int s = i % 2 == 0 ? j : BENCH_NSTATES - 1 - j;

			for (int m = 0; m < 2; m++)
				if ((c[s][m] = measure_corio(ntasks[m], n, bench_state_k(s))) < 0)
					return 1;
		}
		for (int s = 0; s < BENCH_NSTATES; s++)
			for (int m = 0; m < 2; m++)
				bench_result_add(&res[s][m], 0, c[s][m]);
		bench_py_measure(&py, "to_thread.py", "seq,par", py_n, "per_sec", &slots[0][0],
				 BENCH_NSTATES * 2, i % 2 == 1);
		bench_log("  run %d: corio 1 task %.0f/s, %d tasks %.0f/s idle; %.0f/s, %.0f/s in "
			  "flight\n", i + 1, c[0][0], TASKS, c[0][1], c[1][0], c[1][1]);
	}
	for (int m = 0; m < 2; m++) {
		bench_inflight_note(&res[BENCH_INFLIGHT][m], &res[BENCH_IDLE][m], false);
		for (int s = 0; s < BENCH_NSTATES; s++)
			target_note(&res[s][m], slots[s][m].col[0]);
	}
	for (int m = 0; m < 2; m++)
		for (int s = 0; s < BENCH_NSTATES; s++)
			bench_result_report(&res[s][m], o);
	return 0;
}

const bench_def bench_blocking = {
	.name = "blocking",
	.desc = "round trips/s through corio_blocking (1 and 32 tasks), idle and with I/O in "
		"flight, vs asyncio.to_thread on asyncio and uvloop",
	.run = run,
};
