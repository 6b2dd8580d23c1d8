/* bench/b_spawn.c: the cost of a task's whole life: corio_spawn + its run + corio_join.
 *
 *   sequential:  spawn one task, join it, repeat (each task runs while the spawner waits);
 *   batch:       spawn 1000, gather the 1000, repeat (the stack pool is warm: stacks are
 *                reused from its free list);
 *   cold batch:  the first batch of 1000 of a fresh loop, which maps every stack.
 * Beside asyncio.create_task + await of the same shape (bench/peers/python/spawn.py).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "bench/bench.h"

#define BATCH 1000

static void *noop(void *arg)
{
	return arg;
}

static int spawn_join(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		corio_task *t = corio_spawn(noop, NULL);

		if (!t || corio_join(t, NULL) != 0)
			return -1;
	}
	return 0;
}

static int spawn_gather(uint64_t batches)
{
	corio_task *tasks[BATCH];

	for (uint64_t b = 0; b < batches; b++) {
		size_t n = 0;

		while (n < BATCH && (tasks[n] = corio_spawn(noop, NULL)))
			n++;
		/* Whatever was spawned must be gathered, even if a spawn failed. */
		if (corio_gather(tasks, n, NULL) != 0 || n < BATCH)
			return -1;
	}
	return 0;
}

enum mode { SEQ, BATCHED, COLD };

struct spawn_run {
	enum mode mode;
	uint64_t tasks;
	double ns;
};

static void *spawn_main(void *arg)
{
	struct spawn_run *s = arg;
	uint64_t t0, t1;
	int rc;

	/* Warm-up in the same loop (stacks mapped, code and allocator warm), except for the
	 * cold measurement, which is precisely the first batch. */
	if (s->mode == SEQ)
		rc = spawn_join(s->tasks / 10);
	else if (s->mode == BATCHED)
		rc = spawn_gather(1);
	else
		rc = 0;
	t0 = bench_now();
	if (rc == 0)
		rc = s->mode == SEQ ? spawn_join(s->tasks) : spawn_gather(s->tasks / BATCH);
	t1 = bench_now();
	s->ns = rc == 0 ? (double)(t1 - t0) / (double)s->tasks : -1;
	return NULL;
}

static double measure_corio(enum mode mode, uint64_t tasks)
{
	struct spawn_run s = { .mode = mode, .tasks = tasks };
	int rc = corio_run(spawn_main, &s, NULL);

	if (rc != 0) {
		bench_log("spawn: corio_run: %s\n", strerror(-rc));
		return -1;
	}
	if (s.ns < 0)
		bench_log("spawn: corio_spawn/corio_join failed\n");
	return s.ns;
}

/* The asyncio peer: >= 0 ns per task, or -1 (the reason is logged and kept in *why). */
static double measure_python(const char *mode, uint64_t tasks, const char **why)
{
	const char *py = bench_python(), *dir = bench_peers_dir("python");
	char script[4096], count[32], out[256];
	double ns;
	int rc;

	if (!py) {
		*why = "/usr/bin/python3 not installed";
		return -1;
	}
	if (!dir) {
		*why = "bench/peers/python not found (set CORIO_BENCH_PEERS)";
		return -1;
	}
	snprintf(script, sizeof script, "%s/spawn.py", dir);
	snprintf(count, sizeof count, "%llu", (unsigned long long)tasks);
	rc = bench_run_child((char *[]){ (char *)py, script, (char *)mode, count, NULL }, out,
			     sizeof out, NULL);
	if (rc != 0 || sscanf(out, "ns_per_task=%lf", &ns) != 1) {
		bench_log("spawn: %s %s exited with %d, printed '%s'\n", py, script, rc, out);
		*why = "python peer failed";
		return -1;
	}
	return ns;
}

static int run(const bench_opts *o)
{
	uint64_t scale = o->quick ? 4 : 1;
	uint64_t seq_n = 200000 / scale, batch_n = 200000 / scale, py_n = 20000 / scale;
	bench_result seq, batch, cold;
	int seq_c, seq_py, batch_c, batch_py, cold_c;
	const char *why = NULL;

	bench_result_init(&seq, "spawn", "ns/task", false, "spawn + join, sequential");
	seq_c = bench_result_peer(&seq, "corio");
	seq_py = bench_result_peer(&seq, "asyncio");
	bench_result_init(&batch, "spawn", "ns/task", false, "spawn 1000 + gather, warm");
	batch_c = bench_result_peer(&batch, "corio");
	batch_py = bench_result_peer(&batch, "asyncio");
	bench_result_init(&cold, "spawn", "ns/task", false, "spawn 1000 + gather, new loop");
	cold_c = bench_result_peer(&cold, "corio");

	for (int i = 0; i < o->runs; i++) {
		double cs, cb, cc, ps = -1, pb = -1;

		if (i % 2 == 1 && !why) {
			ps = measure_python("seq", py_n, &why);
			pb = why ? -1 : measure_python("batch", py_n, &why);
		}
		cs = measure_corio(SEQ, seq_n);
		cb = measure_corio(BATCHED, batch_n);
		cc = measure_corio(COLD, BATCH);
		if (i % 2 == 0 && !why) {
			ps = measure_python("seq", py_n, &why);
			pb = why ? -1 : measure_python("batch", py_n, &why);
		}
		if (cs < 0 || cb < 0 || cc < 0)
			return 1;
		bench_log("  run %d: seq %.1f ns, batch %.1f ns, cold %.1f ns; asyncio seq %.0f ns, "
			  "batch %.0f ns\n", i + 1, cs, cb, cc, ps, pb);
		bench_result_add(&seq, seq_c, cs);
		bench_result_add(&batch, batch_c, cb);
		bench_result_add(&cold, cold_c, cc);
		if (!why) {
			bench_result_add(&seq, seq_py, ps);
			bench_result_add(&batch, batch_py, pb);
		}
	}
	if (why) {
		bench_result_skip(&seq, seq_py, why);
		bench_result_skip(&batch, batch_py, why);
	}
	bench_result_report(&seq, o);
	bench_result_report(&batch, o);
	bench_result_report(&cold, o);
	return 0;
}

const bench_def bench_spawn = {
	.name = "spawn",
	.desc = "ns per corio_spawn + run + corio_join (sequential, batches of 1000) vs asyncio",
	.run = run,
};
