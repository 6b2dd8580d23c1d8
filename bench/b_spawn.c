/* bench/b_spawn.c: the cost of a task's whole life: corio_spawn + its run + corio_join.
 *
 *   sequential:  spawn one task, join it, repeat (each task runs while the spawner waits);
 *   batch:       spawn 1000, gather the 1000, repeat (the stack pool is warm: stacks are
 *                reused from its free list);
 *   cold batch:  the first batch of 1000 of a fresh loop, which maps every stack.
 * Each on an idle loop and on a loop with 1000 receives and a timer in flight
 * (bench/inflight.h: a server's loop is never idle; issue 13's target for spawn + join is
 * in flight <= 1.5x idle). Beside, in both states, asyncio.create_task + await of the same
 * shape on asyncio's and on uvloop's loop (bench/peers/python/spawn.py), a goroutine with a
 * done channel or a WaitGroup (GOMAXPROCS=1) and tokio::spawn + await of the JoinHandle
 * (current_thread, and multi_thread with one worker): go-micro / tokio-micro, modes spawn
 * and spawn-batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "bench/bench.h"
#include "bench/inflight.h"

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

/* ns per task with k receives and a timer in flight (k == 0: idle), or -1. */
static double measure_corio(enum mode mode, uint64_t tasks, unsigned k)
{
	struct spawn_run s = { .mode = mode, .tasks = tasks };
	int rc = bench_inflight_run(k, spawn_main, &s);

	if (rc != 0) {
		bench_log("spawn: corio_run: %s\n", strerror(-rc));
		return -1;
	}
	if (s.ns < 0)
		bench_log("spawn: corio_spawn/corio_join failed\n");
	return s.ns;
}

/* Per state: the sequential and batch results with their peers, the cold batch alone. */
struct results {
	bench_result seq[BENCH_NSTATES], batch[BENCH_NSTATES], cold[BENCH_NSTATES];
	bench_py py;
	bench_py_slot py_slots[2 * BENCH_NSTATES]; /* seq idle, in flight, batch idle, ... */
	bench_micro seq_rt[BENCH_NSTATES], batch_rt[BENCH_NSTATES];
};

static void results_init(struct results *r)
{
	memset(&r->py, 0, sizeof r->py);
	for (int s = 0; s < BENCH_NSTATES; s++) {
		bench_py_slot *ps = &r->py_slots[s], *pb = &r->py_slots[BENCH_NSTATES + s];

		bench_result_init(&r->seq[s], "spawn", "ns/task", false,
				  "spawn + join, sequential, %s", bench_state_name[s]);
		bench_result_peer(&r->seq[s], "corio");
		*ps = (bench_py_slot){ .r = &r->seq[s], .shape = "seq", .state = s };
		bench_py_add(ps);
		bench_micro_add(&r->seq[s], &r->seq_rt[s]);
		bench_result_init(&r->batch[s], "spawn", "ns/task", false,
				  "spawn 1000 + gather, warm, %s", bench_state_name[s]);
		bench_result_peer(&r->batch[s], "corio");
		*pb = (bench_py_slot){ .r = &r->batch[s], .shape = "batch", .state = s };
		bench_py_add(pb);
		bench_micro_add(&r->batch[s], &r->batch_rt[s]);
		bench_result_init(&r->cold[s], "spawn", "ns/task", false,
				  "spawn 1000 + gather, new loop, %s", bench_state_name[s]);
		bench_result_peer(&r->cold[s], "corio");
	}
}

/* Every corio measurement of one run, idle first on even runs, in flight first on odd
 * ones; 0 or -1. */
static int run_corio(struct results *r, int i, uint64_t seq_n, uint64_t batch_n)
{
	double cs[BENCH_NSTATES], cb[BENCH_NSTATES], cc[BENCH_NSTATES];

	for (int j = 0; j < BENCH_NSTATES; j++) {
		int s = i % 2 == 0 ? j : BENCH_NSTATES - 1 - j;
		unsigned k = bench_state_k(s);

		cs[s] = measure_corio(SEQ, seq_n, k);
		cb[s] = measure_corio(BATCHED, batch_n, k);
		cc[s] = measure_corio(COLD, BATCH, k);
		if (cs[s] < 0 || cb[s] < 0 || cc[s] < 0)
			return -1;
	}
	bench_log("  run %d: idle seq %.1f ns, batch %.1f ns, cold %.1f ns; in flight seq %.1f "
		  "ns, batch %.1f ns, cold %.1f ns\n", i + 1, cs[0], cb[0], cc[0], cs[1], cb[1],
		  cc[1]);
	for (int s = 0; s < BENCH_NSTATES; s++) {
		bench_result_add(&r->seq[s], 0, cs[s]);
		bench_result_add(&r->batch[s], 0, cb[s]);
		bench_result_add(&r->cold[s], 0, cc[s]);
	}
	return 0;
}

static void run_peers(struct results *r, int i, uint64_t py_n, uint64_t peer_n)
{
	bench_py_measure(&r->py, "spawn.py", "seq,batch", py_n, "ns_per_task", r->py_slots,
			 2 * BENCH_NSTATES, i % 2 == 1);
	for (int s = 0; s < BENCH_NSTATES; s++) {
		unsigned k = bench_state_k(s);

		bench_micro_measure(&r->seq[s], &r->seq_rt[s], "spawn", peer_n, NULL, k, false);
		bench_micro_measure(&r->batch[s], &r->batch_rt[s], "spawn-batch", peer_n, NULL, k,
				    false);
	}
}

static int run(const bench_opts *o)
{
	uint64_t scale = o->quick ? 4 : 1;
	uint64_t seq_n = 200000 / scale, batch_n = 200000 / scale, peer_n = 100000 / scale;
	uint64_t py_n = o->quick ? 4000 : 10000; /* asyncio: ~10 us a task */
	struct results r;

	results_init(&r);
	for (int i = 0; i < o->runs; i++) {
		/* The peers go before corio on odd runs, after it on even ones. */
		if (i % 2 == 1)
			run_peers(&r, i, py_n, peer_n);
		if (run_corio(&r, i, seq_n, batch_n) != 0)
			return 1;
		if (i % 2 == 0)
			run_peers(&r, i, py_n, peer_n);
	}
	bench_inflight_note(&r.seq[BENCH_INFLIGHT], &r.seq[BENCH_IDLE], true);
	bench_inflight_note(&r.batch[BENCH_INFLIGHT], &r.batch[BENCH_IDLE], false);
	bench_inflight_note(&r.cold[BENCH_INFLIGHT], &r.cold[BENCH_IDLE], false);
	for (int s = 0; s < BENCH_NSTATES; s++)
		bench_result_report(&r.seq[s], o);
	for (int s = 0; s < BENCH_NSTATES; s++)
		bench_result_report(&r.batch[s], o);
	for (int s = 0; s < BENCH_NSTATES; s++)
		bench_result_report(&r.cold[s], o);
	return 0;
}

const bench_def bench_spawn = {
	.name = "spawn",
	.desc = "ns per corio_spawn + run + corio_join (sequential, batches of 1000), idle and with "
		"I/O in flight, vs asyncio, uvloop, Go, tokio",
	.run = run,
};
