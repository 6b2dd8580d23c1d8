/* bench/b_switch.c: the cost of one coroutine switch.
 *
 * Ping-pongs measured in the same run, interleaved:
 *   raw:         two contexts switching with corio__ctx_switch (runtime/core/coro.h), one of them
 *                on a stack mapped here: the bare primitive;
 *   yield:       two tasks of a corio loop calling corio_yield in turn: one "yield-switch"
 *                is task A -> scheduler -> task B, the path every real wake-up takes; and
 *                the same once corio_blocking has been used (the loop then keeps a read of
 *                its eventfd in flight, which must not cost a syscall per turn);
 *   swapcontext: two ucontexts ping-ponging with swapcontext(3), the peer (it makes a
 *                rt_sigprocmask syscall per switch).
 * Each yield is measured on an idle loop and on a loop with 1000 receives and a timer in
 * flight (bench/inflight.h), the state a server's loop is always in: a turn with ready
 * tasks must not cost a syscall for it (issue 13: in flight <= 1.5x idle). Beside them, in
 * both states, the runtimes a user would pick instead: two goroutines calling
 * runtime.Gosched (GOMAXPROCS=1) and two tokio tasks calling yield_now (current_thread, and
 * multi_thread with one worker), from bench/peers/go and bench/peers/rust.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <corio/corio.h>

#include "runtime/core/coro.h"
#include "bench/bench.h"
#include "bench/inflight.h"

#define STACK_BYTES (64u * 1024u)

/* ---- raw corio__ctx_switch ------------------------------------------------------------ */

static corio__ctx raw_main, raw_co;

static void raw_body(void *arg)
{
	(void)arg;
	for (;;)
		corio__ctx_switch(&raw_co, &raw_main);
}

/* ns per switch (each direction counts one). */
static double measure_raw(void *stack, uint64_t round_trips)
{
	uint64_t t0, t1;

	corio__ctx_make(&raw_co, stack, STACK_BYTES, raw_body, NULL);
	corio__ctx_switch(&raw_main, &raw_co); /* enters raw_body, which switches back */
	t0 = bench_now();
	for (uint64_t i = 0; i < round_trips; i++)
		corio__ctx_switch(&raw_main, &raw_co);
	t1 = bench_now();
	/* raw_co stays suspended; the next measurement makes it afresh on the same stack. */
	return (double)(t1 - t0) / (double)(2 * round_trips);
}

/* ---- swapcontext ----------------------------------------------------------------------- */

static ucontext_t uc_main, uc_co;

static void uc_body(void)
{
	for (;;)
		swapcontext(&uc_co, &uc_main);
}

static double measure_swapcontext(void *stack, uint64_t round_trips)
{
	uint64_t t0, t1;

	if (getcontext(&uc_co) != 0)
		return -1;
	uc_co.uc_stack.ss_sp = stack;
	uc_co.uc_stack.ss_size = STACK_BYTES;
	uc_co.uc_link = NULL;
	makecontext(&uc_co, uc_body, 0);
	if (swapcontext(&uc_main, &uc_co) != 0)
		return -1;
	t0 = bench_now();
	for (uint64_t i = 0; i < round_trips; i++)
		swapcontext(&uc_main, &uc_co);
	t1 = bench_now();
	return (double)(t1 - t0) / (double)(2 * round_trips);
}

/* ---- corio_yield through the runtime --------------------------------------------------- */

static void *yielder(void *arg)
{
	uint64_t n = *(const uint64_t *)arg;

	for (uint64_t i = 0; i < n; i++)
		corio_yield();
	return NULL;
}

struct yield_run {
	uint64_t per_task;
	bool blocking_first; /* one corio_blocking call before: the loop's mailbox is armed */
	double ns;
};

static void *nothing(void *arg)
{
	return arg;
}

static void *yield_main(void *arg)
{
	struct yield_run *y = arg;
	corio_task *t[2];
	uint64_t t0, t1;
	void *r;

	/* corio_blocking (also used by name resolution and some fs calls) leaves a read of the
	 * loop's eventfd in flight for good: measures what that does to a scheduler turn. */
	if (y->blocking_first && corio_blocking(nothing, NULL, &r) != 0) {
		y->ns = -1;
		return NULL;
	}
	t0 = bench_now();

	t[0] = corio_spawn(yielder, &y->per_task);
	t[1] = corio_spawn(yielder, &y->per_task);
	if (!t[0] || !t[1] || corio_gather(t, 2, NULL) != 0) {
		y->ns = -1; /* a spawned task is never left unjoined: corio_run would wait */
		return NULL;
	}
	t1 = bench_now();
	y->ns = (double)(t1 - t0) / (double)(2 * y->per_task);
	return NULL;
}

/* ns per yield-switch with k receives and a timer in flight (k == 0: idle), or -1. */
static double measure_yield(uint64_t per_task, bool blocking_first, unsigned k)
{
	struct yield_run y = { .per_task = per_task, .blocking_first = blocking_first };
	int rc = bench_inflight_run(k, yield_main, &y);

	if (rc != 0) {
		bench_log("switch: corio_run: %s\n", strerror(-rc));
		return -1;
	}
	return y.ns;
}

/* ---- the benchmark --------------------------------------------------------------------- */

/* Every result of the benchmark: raw, then per state yield and yield after
 * corio_blocking (swapcontext beside the idle ones), go and tokio beside the yields. */
struct results {
	bench_result raw, yield[BENCH_NSTATES], yieldb[BENCH_NSTATES];
	int raw_uc, y_uc, yb_uc;
	bench_micro peers[BENCH_NSTATES];
};

static void results_init(struct results *r)
{
	bench_result_init(&r->raw, "switch", "ns/switch", false, "raw ctx_switch ping-pong");
	bench_result_peer(&r->raw, "corio");
	r->raw_uc = bench_result_peer(&r->raw, "swapcontext");
	for (int s = 0; s < BENCH_NSTATES; s++) {
		bench_result_init(&r->yield[s], "switch", "ns/switch", false,
				  "corio_yield, 2 tasks, %s", bench_state_name[s]);
		bench_result_peer(&r->yield[s], "corio");
		if (s == BENCH_IDLE)
			r->y_uc = bench_result_peer(&r->yield[s], "swapcontext");
		bench_micro_add(&r->yield[s], &r->peers[s]);
		bench_result_init(&r->yieldb[s], "switch", "ns/switch", false,
				  "corio_yield, 2 tasks, after corio_blocking, %s",
				  bench_state_name[s]);
		bench_result_peer(&r->yieldb[s], "corio");
		if (s == BENCH_IDLE)
			r->yb_uc = bench_result_peer(&r->yieldb[s], "swapcontext");
	}
}

/* One run of every corio measurement and swapcontext, in an order that alternates with
 * the run so that neither side always goes first; 0 or -1. */
static int run_corio(struct results *res, int i, void *stack, uint64_t raw_n, uint64_t yield_n,
		     uint64_t uc_n)
{
	double r, y[BENCH_NSTATES], yb[BENCH_NSTATES], u;

	if (i % 2 == 0) {
		r = measure_raw(stack, raw_n);
		for (int s = 0; s < BENCH_NSTATES; s++) {
			y[s] = measure_yield(yield_n, false, bench_state_k(s));
			yb[s] = measure_yield(yield_n, true, bench_state_k(s));
		}
		u = measure_swapcontext(stack, uc_n);
	} else {
		u = measure_swapcontext(stack, uc_n);
		for (int s = BENCH_NSTATES - 1; s >= 0; s--) {
			yb[s] = measure_yield(yield_n, true, bench_state_k(s));
			y[s] = measure_yield(yield_n, false, bench_state_k(s));
		}
		r = measure_raw(stack, raw_n);
	}
	if (r < 0 || u < 0 || y[0] < 0 || y[1] < 0 || yb[0] < 0 || yb[1] < 0)
		return -1;
	bench_log("  run %d: raw %.2f ns, yield %.2f ns idle, %.2f ns in flight; after "
		  "corio_blocking %.2f ns, %.2f ns; swapcontext %.1f ns\n", i + 1, r, y[0], y[1],
		  yb[0], yb[1], u);
	bench_result_add(&res->raw, 0, r);
	bench_result_add(&res->raw, res->raw_uc, u);
	for (int s = 0; s < BENCH_NSTATES; s++) {
		bench_result_add(&res->yield[s], 0, y[s]);
		bench_result_add(&res->yieldb[s], 0, yb[s]);
	}
	bench_result_add(&res->yield[BENCH_IDLE], res->y_uc, u);
	bench_result_add(&res->yieldb[BENCH_IDLE], res->yb_uc, u);
	return 0;
}

static void run_peers(struct results *res, uint64_t peer_n)
{
	for (int s = 0; s < BENCH_NSTATES; s++)
		bench_micro_measure(&res->yield[s], &res->peers[s], "yield", peer_n, NULL,
				    bench_state_k(s), false);
}

static int run(const bench_opts *o)
{
	uint64_t scale = o->quick ? 4 : 1;
	uint64_t raw_n = 5000000 / scale, yield_n = 1000000 / scale, uc_n = 500000 / scale;
	uint64_t peer_n = 200000 / scale; /* lowered per peer after its first run (inflight.h) */
	struct results res;
	int rc = 0;
	void *stack = mmap(NULL, STACK_BYTES, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (stack == MAP_FAILED) {
		bench_log("switch: mmap: %s\n", strerror(errno));
		return 1;
	}
	results_init(&res);

	/* Warm-up: page in the stack and the code, let the CPU clock settle. */
	measure_raw(stack, raw_n / 10);
	measure_swapcontext(stack, uc_n / 10);
	measure_yield(yield_n / 10, false, 0);
	measure_yield(yield_n / 10, false, BENCH_INFLIGHT_K);

	for (int i = 0; i < o->runs && rc == 0; i++) {
		/* The peers go before corio on odd runs, after it on even ones. */
		if (i % 2 == 1)
			run_peers(&res, peer_n);
		rc = run_corio(&res, i, stack, raw_n, yield_n, uc_n);
		if (i % 2 == 0 && rc == 0)
			run_peers(&res, peer_n);
	}
	munmap(stack, STACK_BYTES);
	if (rc != 0)
		return 1;
	snprintf(res.raw.note, sizeof res.raw.note, "[target: >= 20x better: %s]",
		 bench_result_ratio(&res.raw, res.raw_uc) >= 20 ? "met" : "MISSED");
	bench_inflight_note(&res.yield[BENCH_INFLIGHT], &res.yield[BENCH_IDLE], true);
	bench_inflight_note(&res.yieldb[BENCH_INFLIGHT], &res.yieldb[BENCH_IDLE], false);
	bench_result_report(&res.raw, o);
	for (int s = 0; s < BENCH_NSTATES; s++)
		bench_result_report(&res.yield[s], o);
	for (int s = 0; s < BENCH_NSTATES; s++)
		bench_result_report(&res.yieldb[s], o);
	return 0;
}

const bench_def bench_switch = {
	.name = "switch",
	.desc = "ns per coroutine switch: raw corio__ctx_switch and corio_yield (idle and with I/O "
		"in flight) vs swapcontext, Go, tokio",
	.run = run,
};
