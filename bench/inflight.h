/* bench/inflight.h: the two states every micro-benchmark measures, and the peers that are
 * measured in both.
 *
 * A server's loop is never idle: receives are parked on its connections and timers are
 * armed while its tasks switch, spawn and pass messages. So each hot path is measured on an
 * idle loop and on a loop with I/O in flight: K socket pairs with one task parked in a
 * corio_recv on one end of each (nothing is ever written) and one task in a 60 s
 * corio_sleep. The same state is given to the peers that have a loop (go-micro,
 * tokio-micro, the asyncio/uvloop scripts: `--inflight K`), so that every column of an
 * in-flight result pays for the same kernel state.
 *
 * Also here: running the compiled micro peers (go-micro, tokio-micro: the contract in
 * bench/peers/) and the Python scripts with their --inflight/--uvloop flags, and the note
 * that says how much the in-flight state costs corio against its idle figure.
 */
#ifndef CORIO_BENCH_INFLIGHT_H
#define CORIO_BENCH_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include <corio/corio.h>

#include "bench/bench.h"

/* Parked receives of the in-flight state (plus one armed timer). */
#define BENCH_INFLIGHT_K 1000u

/* The two states, in the order results are reported. */
enum { BENCH_IDLE, BENCH_INFLIGHT, BENCH_NSTATES };

/* "idle" / "1000 recvs + a timer in flight": the end of a result's configuration. */
extern const char *const bench_state_name[BENCH_NSTATES];

/* K of a state: 0 idle, BENCH_INFLIGHT_K in flight. */
static inline unsigned bench_state_k(int state)
{
	return state == BENCH_INFLIGHT ? BENCH_INFLIGHT_K : 0;
}

/* ---- the in-flight state ------------------------------------------------------------------ */

typedef struct bench_inflight bench_inflight;

/* From inside a task: k socket pairs, a task parked in corio_recv on one end of each, and
 * a task parked in corio_sleep(60 s); returns once every one of them is parked and its
 * operation submitted to the kernel. NULL when it could not be set up (logged; whatever was
 * set up is torn down). k == 0 still arms the timer. */
bench_inflight *bench_inflight_start(unsigned k);
/* Cancels and joins every task of f, closes its descriptors, frees f. 0, or -1 (logged)
 * when a receive or the sleep ended before it was cancelled (then the state was not what
 * was measured). NULL: 0. */
int bench_inflight_stop(bench_inflight *f);

/* corio_run(fn, arg) with k receives and a timer in flight around fn (k == 0: plain
 * corio_run, the idle loop). Returns corio_run's result, or -EIO when the in-flight state
 * could not be set up or did not hold (logged). */
int bench_inflight_run(unsigned k, corio_fn fn, void *arg);

/* Raises RLIMIT_NOFILE (soft, up to the hard limit) for `loops` loops in flight at once
 * plus what the peers need. Called by bench_inflight_start; harmless to call again. */
void bench_inflight_nofile(unsigned loops);

/* Writes into r->note how corio's in-flight median (r's peer 0) compares with its idle one
 * (idle's peer 0), as a cost (a rate's ratio is inverted): "1.12x idle"; with target, the
 * issue's target "[target: in-flight <= 1.5x idle: met]". Nothing when either is missing. */
void bench_inflight_note(bench_result *r, const bench_result *idle, bool target);

/* ---- go-micro and tokio-micro ------------------------------------------------------------ */

/* The columns, in order: "go" (GOMAXPROCS=1), "tokio" (current_thread), "tokio-multi"
 * (multi_thread, 1 worker). */
#define BENCH_MICRO_NPEERS 3

typedef struct bench_micro {
	int col[BENCH_MICRO_NPEERS];          /* column in the result */
	const char *why[BENCH_MICRO_NPEERS];  /* why it is skipped; NULL while it runs */
	uint64_t n[BENCH_MICRO_NPEERS];       /* N of its next run; 0: the caller's */
	char reason[BENCH_MICRO_NPEERS][128]; /* what why points to when the peer failed */
} bench_micro;

/* Timed work one peer run is allowed: a peer much slower than corio at an operation (tokio's
 * yield_now, ~2 us) gets a smaller N from its second run on, so that it costs the suite
 * about this long per run whatever its speed; the figure is per operation either way. */
#define BENCH_MICRO_BUDGET_NS 150000000ull

/* Adds the three columns to r; a program that is not built is skipped at once. m must live
 * until r is reported (the reasons are in it). */
void bench_micro_add(bench_result *r, bench_micro *m);
/* Marks column i of m skipped with why before any run (e.g. tokio has no rendezvous
 * channel). */
void bench_micro_skip(bench_result *r, bench_micro *m, int i, const char *why);
/* Runs every peer of m not skipped once: PROGRAM mode n [arg] --inflight k [flavor], and
 * adds its figure to r: ns per operation as printed, or 1e9 / that when rate (items/s). A
 * peer that fails is skipped from then on, with its reason. n is lowered for the next runs
 * of a peer that took more than BENCH_MICRO_BUDGET_NS (to a multiple of 1000, spawn-batch's
 * batch, and never below 1000). */
void bench_micro_measure(bench_result *r, bench_micro *m, const char *mode, uint64_t n,
			 const char *arg, unsigned k, bool rate);

/* ---- the Python scripts ------------------------------------------------------------------ */

/* The two Python columns, "asyncio" and "uvloop" (the same script on uvloop's loop). */
#define BENCH_PY_NPEERS 2

/* Why each loop is skipped (NULL while it runs), for every result of a benchmark. */
typedef struct bench_py {
	const char *why[BENCH_PY_NPEERS];
} bench_py;

/* Where one figure of a script's run goes: the line for shape (a mode or a capacity, as
 * the script prints it) in state goes to r's Python columns col[]. */
typedef struct bench_py_slot {
	bench_result *r;
	int col[BENCH_PY_NPEERS];
	const char *shape;
	int state;
} bench_py_slot;

/* Adds the two columns to s->r. */
void bench_py_add(bench_py_slot *s);
/* One run on each loop not skipped: /usr/bin/python3 bench/peers/python/SCRIPT SHAPES N
 * --inflight 0,1000 [--uvloop] (1000,0 when inflight_first: the order alternates with the
 * runs), every shape in both states in one process (the interpreter's start costs more
 * than a measurement). Each line "<name>=<shape> inflight=<K> <key>=<float>" goes to its
 * slot (at most 16). A loop that fails, or prints no figure for a slot, is skipped in every
 * slot from then on, with the reason (uvloop not importable: the script's own `skipped=`
 * line). */
void bench_py_measure(bench_py *p, const char *script, const char *shapes, uint64_t n,
		      const char *key, bench_py_slot *slots, int nslots, bool inflight_first);

#endif
