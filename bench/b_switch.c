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
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <corio/corio.h>

#include "runtime/core/coro.h"
#include "bench/bench.h"

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

static double measure_yield(uint64_t per_task, bool blocking_first)
{
	struct yield_run y = { .per_task = per_task, .blocking_first = blocking_first };
	int rc = corio_run(yield_main, &y, NULL);

	if (rc != 0) {
		bench_log("switch: corio_run: %s\n", strerror(-rc));
		return -1;
	}
	return y.ns;
}

/* ---- the benchmark --------------------------------------------------------------------- */

static int run(const bench_opts *o)
{
	uint64_t scale = o->quick ? 4 : 1;
	uint64_t raw_n = 5000000 / scale, yield_n = 1000000 / scale, uc_n = 500000 / scale;
	bench_result raw, yield, yieldb;
	int raw_c, raw_uc, y_c, y_uc, yb_c, yb_uc, rc = 0;
	void *stack = mmap(NULL, STACK_BYTES, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (stack == MAP_FAILED) {
		bench_log("switch: mmap: %s\n", strerror(errno));
		return 1;
	}
	bench_result_init(&raw, "switch", "ns/switch", false, "raw ctx_switch ping-pong");
	raw_c = bench_result_peer(&raw, "corio");
	raw_uc = bench_result_peer(&raw, "swapcontext");
	bench_result_init(&yield, "switch", "ns/switch", false, "corio_yield, 2 tasks");
	y_c = bench_result_peer(&yield, "corio");
	y_uc = bench_result_peer(&yield, "swapcontext");
	bench_result_init(&yieldb, "switch", "ns/switch", false,
			  "corio_yield, 2 tasks, after corio_blocking");
	yb_c = bench_result_peer(&yieldb, "corio");
	yb_uc = bench_result_peer(&yieldb, "swapcontext");

	/* Warm-up: page in the stack and the code, let the CPU clock settle. */
	measure_raw(stack, raw_n / 10);
	measure_swapcontext(stack, uc_n / 10);
	measure_yield(yield_n / 10, false);

	for (int i = 0; i < o->runs && rc == 0; i++) {
		double r, y, yb, u;

		/* Alternate the order so that neither side always runs first. */
		if (i % 2 == 0) {
			r = measure_raw(stack, raw_n);
			y = measure_yield(yield_n, false);
			yb = measure_yield(yield_n, true);
			u = measure_swapcontext(stack, uc_n);
		} else {
			u = measure_swapcontext(stack, uc_n);
			yb = measure_yield(yield_n, true);
			y = measure_yield(yield_n, false);
			r = measure_raw(stack, raw_n);
		}
		if (r < 0 || y < 0 || yb < 0 || u < 0) {
			rc = 1;
			break;
		}
		bench_log("  run %d: raw %.2f ns, yield %.2f ns, yield after corio_blocking %.2f ns, "
			  "swapcontext %.1f ns\n", i + 1, r, y, yb, u);
		bench_result_add(&raw, raw_c, r);
		bench_result_add(&raw, raw_uc, u);
		bench_result_add(&yield, y_c, y);
		bench_result_add(&yield, y_uc, u);
		bench_result_add(&yieldb, yb_c, yb);
		bench_result_add(&yieldb, yb_uc, u);
	}
	munmap(stack, STACK_BYTES);
	if (rc != 0)
		return rc;
	snprintf(raw.note, sizeof raw.note, "[target: >= 20x better: %s]",
		 bench_result_ratio(&raw, raw_uc) >= 20 ? "met" : "MISSED");
	bench_result_report(&raw, o);
	bench_result_report(&yield, o);
	bench_result_report(&yieldb, o);
	return 0;
}

const bench_def bench_switch = {
	.name = "switch",
	.desc = "ns per coroutine switch: raw corio__ctx_switch and corio_yield vs swapcontext",
	.run = run,
};
