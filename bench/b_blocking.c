/* bench/b_blocking.c: round trips per second through corio_blocking (the thread pool that
 * wakes its loop through the mailbox's eventfd read), from one task at a time and from 32
 * tasks at once, beside asyncio.to_thread doing the same (bench/peers/python/to_thread.py).
 * Target (issue 3): >= 10x asyncio.to_thread. */
#include <stdint.h>
#include <stdio.h>

#include <corio/corio.h>

#include "bench/bench.h"

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

static void *rt_main(void *arg)
{
	struct rt *r = arg;
	corio_task *t[TASKS];
	uint64_t t0;
	unsigned n = 0;

	t0 = bench_now();
	while (n < r->tasks && (t[n] = corio_spawn(caller, r)))
		n++;
	if (corio_gather(t, n, NULL) != 0 || n < r->tasks)
		r->err = -1;
	r->per_sec = (double)(r->per_task * r->tasks) * 1e9 / (double)(bench_now() - t0);
	return NULL;
}

/* Round trips per second, or -1. */
static double measure_corio(unsigned tasks, uint64_t total)
{
	struct rt warm = { .tasks = tasks, .per_task = total / tasks / 10 + 1 };
	struct rt r = { .tasks = tasks, .per_task = total / tasks };

	if (corio_run(rt_main, &warm, NULL) != 0 || warm.err ||
	    corio_run(rt_main, &r, NULL) != 0 || r.err) {
		bench_log("blocking: corio_blocking failed (%d)\n", warm.err ? warm.err : r.err);
		return -1;
	}
	return r.per_sec;
}

static double measure_python(const char *mode, uint64_t n, const char **why)
{
	const char *py = bench_python(), *dir = bench_peers_dir("python");
	char script[4096], count[32], out[256];
	double v;
	int rc;

	if (!py) {
		*why = "/usr/bin/python3 not installed";
		return -1;
	}
	if (!dir) {
		*why = "bench/peers/python not found (set CORIO_BENCH_PEERS)";
		return -1;
	}
	snprintf(script, sizeof script, "%s/to_thread.py", dir);
	snprintf(count, sizeof count, "%llu", (unsigned long long)n);
	rc = bench_run_child((char *[]){ (char *)py, script, (char *)mode, count, NULL }, out,
			     sizeof out, NULL);
	if (rc != 0 || sscanf(out, "per_sec=%lf", &v) != 1) {
		bench_log("blocking: %s %s exited with %d, printed '%s'\n", py, script, rc, out);
		*why = "python peer failed";
		return -1;
	}
	return v;
}

static void target_note(bench_result *r, int py)
{
	double ratio = bench_result_ratio(r, py);

	if (ratio > 0)
		snprintf(r->note, sizeof r->note, "[target: >= 10x asyncio.to_thread: %s]",
			 ratio >= 10 ? "met" : "MISSED");
}

static int run(const bench_opts *o)
{
	uint64_t n = o->quick ? 20000 : 100000, py_n = o->quick ? 2000 : 10000;
	bench_result seq, par;
	int seq_c, seq_py, par_c, par_py;
	const char *why = NULL;

	bench_result_init(&seq, "blocking", "round trips/s", true, "1 task, N=%llu",
			  (unsigned long long)n);
	seq_c = bench_result_peer(&seq, "corio");
	seq_py = bench_result_peer(&seq, "asyncio");
	bench_result_init(&par, "blocking", "round trips/s", true, "%d tasks, N=%llu", TASKS,
			  (unsigned long long)n);
	par_c = bench_result_peer(&par, "corio");
	par_py = bench_result_peer(&par, "asyncio");
	for (int i = 0; i < o->runs; i++) {
		double cs = measure_corio(1, n), cp = measure_corio(TASKS, n), ps = -1, pp = -1;

		if (cs < 0 || cp < 0)
			return 1;
		if (!why) {
			ps = measure_python("seq", py_n, &why);
			pp = why ? -1 : measure_python("par", py_n, &why);
		}
		bench_log("  run %d: corio 1 task %.0f/s, %d tasks %.0f/s; asyncio %.0f/s, %.0f/s\n",
			  i + 1, cs, TASKS, cp, ps, pp);
		bench_result_add(&seq, seq_c, cs);
		bench_result_add(&par, par_c, cp);
		if (!why) {
			bench_result_add(&seq, seq_py, ps);
			bench_result_add(&par, par_py, pp);
		}
	}
	if (why) {
		bench_result_skip(&seq, seq_py, why);
		bench_result_skip(&par, par_py, why);
	} else {
		target_note(&seq, seq_py);
		target_note(&par, par_py);
	}
	bench_result_report(&seq, o);
	bench_result_report(&par, o);
	return 0;
}

const bench_def bench_blocking = {
	.name = "blocking",
	.desc = "round trips/s through corio_blocking (1 and 32 tasks) vs asyncio.to_thread",
	.run = run,
};
