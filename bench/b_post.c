/* bench/b_post.c: corio_loop_post between two loops on two threads (corio_run_threads):
 * a burst (messages per second, one loop posting as fast as it can) and a ping-pong (one
 * message in flight: one-way latency), over IORING_OP_MSG_RING and over the eventfd
 * mailbox in the same run. Target (issue 3): MSG_RING at least as fast as eventfd.
 * Each on idle loops and on loops with 1000 receives and a timer in flight on each
 * (bench/inflight.h): a server's loops are never idle, and a posted task must not wait for
 * (or pay for) the I/O its loop has parked. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <corio/corio.h>

#include "bench/bench.h"
#include "bench/inflight.h"

extern bool corio__post_force_mailbox; /* runtime/threads/loops.c */

static struct {
	uint64_t want;
	unsigned k;          /* receives in flight on each loop */
	atomic_uint_fast64_t got;
	atomic_int err;
	atomic_uint ready;   /* loops whose in-flight state is set up */
	uint64_t t0, t1;
} st;

static void *count(void *arg)
{
	if (atomic_fetch_add(&st.got, 1) + 1 == st.want)
		st.t1 = bench_now();
	return NULL;
}

static void *bounce(void *arg)
{
	uint64_t left = (uint64_t)(uintptr_t)arg;

	if (atomic_fetch_add(&st.got, 1) + 1 == st.want)
		st.t1 = bench_now();
	if (left > 0 &&
	    corio_loop_post(corio_thread_loop(1 - corio_thread_index()), bounce,
			    (void *)(uintptr_t)(left - 1)) != 0)
		atomic_store(&st.err, 1);
	return NULL;
}

/* Both loops: each sets up its in-flight state (when st.k > 0), loop 0 starts the traffic
 * once both have, both stay until every message arrived. */
static void *post_main(void *arg)
{
	bool burst = arg != NULL;
	bench_inflight *f = NULL;

	if (st.k && !(f = bench_inflight_start(st.k)))
		atomic_store(&st.err, 1);
	atomic_fetch_add(&st.ready, 1);
	while (atomic_load(&st.ready) < 2)
		corio_sleep(CORIO_MS(1));
	if (corio_thread_index() == 0 && !atomic_load(&st.err)) {
		st.t0 = bench_now();
		if (burst) {
			for (uint64_t i = 0; i < st.want; i++)
				if (corio_loop_post(corio_thread_loop(1), count, NULL) != 0) {
					atomic_store(&st.err, 1);
					break;
				}
		} else if (corio_loop_post(corio_thread_loop(1), bounce,
					   (void *)(uintptr_t)(st.want - 1)) != 0) {
			atomic_store(&st.err, 1);
		}
	}
	while (atomic_load(&st.got) < st.want && !atomic_load(&st.err))
		corio_sleep(CORIO_MS(1));
	if (bench_inflight_stop(f) != 0)
		atomic_store(&st.err, 1);
	return NULL;
}

/* Messages per second (burst) or ns one way (ping-pong) with k receives and a timer in
 * flight on each loop (k == 0: idle); -1 on failure. */
static double measure(bool burst, bool mailbox, uint64_t n, unsigned k)
{
	st.want = n;
	st.k = k;
	atomic_store(&st.got, 0);
	atomic_store(&st.err, 0);
	atomic_store(&st.ready, 0);
	corio__post_force_mailbox = mailbox;
	if (corio_run_threads(2, post_main, burst ? (void *)1 : NULL) != 0 || atomic_load(&st.err)) {
		corio__post_force_mailbox = false;
		bench_log("post: corio_loop_post failed\n");
		return -1;
	}
	corio__post_force_mailbox = false;
	if (burst)
		return (double)n * 1e9 / (double)(st.t1 - st.t0);
	return (double)(st.t1 - st.t0) / (double)n;
}

/* One run: both paths (MSG_RING is corio's, the eventfd mailbox the peer), both shapes,
 * one state; the mailbox goes first on odd runs. v[0..3]: burst MSG_RING, burst eventfd,
 * ping-pong MSG_RING, ping-pong eventfd. 0 or -1. */
static int run_state(int i, unsigned k, uint64_t burst_n, uint64_t pp_n, double v[4])
{
	bool first_efd = i % 2 == 1;

	v[1] = first_efd ? measure(true, true, burst_n, k) : 0;
	v[0] = measure(true, false, burst_n, k);
	v[3] = first_efd ? measure(false, true, pp_n, k) : 0;
	v[2] = measure(false, false, pp_n, k);
	if (!first_efd) {
		v[1] = measure(true, true, burst_n, k);
		v[3] = measure(false, true, pp_n, k);
	}
	return v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 ? -1 : 0;
}

static int run(const bench_opts *o)
{
	/* Half the messages of one state before the in-flight one came: the two together take
	 * the time one took (the eventfd burst is ~20k/s on a loaded VM). */
	uint64_t burst_n = o->quick ? 25000 : 100000, pp_n = o->quick ? 2500 : 10000;
	bench_result burst[BENCH_NSTATES], pp[BENCH_NSTATES];

	for (int s = 0; s < BENCH_NSTATES; s++) {
		bench_result_init(&burst[s], "post", "msg/s", true, "burst, 2 loops, N=%llu, %s%s",
				  (unsigned long long)burst_n, bench_state_name[s],
				  s == BENCH_INFLIGHT ? " on each" : "");
		bench_result_peer(&burst[s], "corio");
		bench_result_peer(&burst[s], "eventfd mailbox");
		bench_result_init(&pp[s], "post", "ns one way", false,
				  "ping-pong, 2 loops, N=%llu, %s%s", (unsigned long long)pp_n,
				  bench_state_name[s], s == BENCH_INFLIGHT ? " on each" : "");
		bench_result_peer(&pp[s], "corio");
		bench_result_peer(&pp[s], "eventfd mailbox");
	}
	bench_inflight_nofile(2);
	for (int i = 0; i < o->runs; i++) {
		double v[BENCH_NSTATES][4];

		for (int j = 0; j < BENCH_NSTATES; j++) {
			int s = i % 2 == 0 ? j : BENCH_NSTATES - 1 - j;

			if (run_state(i, bench_state_k(s), burst_n, pp_n, v[s]) != 0)
				return 1;
		}
		bench_log("  run %d: burst MSG_RING %.0f/s eventfd %.0f/s, in flight %.0f/s %.0f/s; "
			  "ping-pong MSG_RING %.0f ns eventfd %.0f ns, in flight %.0f ns %.0f ns\n",
			  i + 1, v[0][0], v[0][1], v[1][0], v[1][1], v[0][2], v[0][3], v[1][2],
			  v[1][3]);
		for (int s = 0; s < BENCH_NSTATES; s++) {
			bench_result_add(&burst[s], 0, v[s][0]);
			bench_result_add(&burst[s], 1, v[s][1]);
			bench_result_add(&pp[s], 0, v[s][2]);
			bench_result_add(&pp[s], 1, v[s][3]);
		}
	}
	bench_inflight_note(&burst[BENCH_INFLIGHT], &burst[BENCH_IDLE], false);
	bench_inflight_note(&pp[BENCH_INFLIGHT], &pp[BENCH_IDLE], false);
	for (int s = 0; s < BENCH_NSTATES; s++) {
		size_t bl = strlen(burst[s].note), pl = strlen(pp[s].note);

		snprintf(burst[s].note + bl, sizeof burst[s].note - bl,
			 "%scorio = MSG_RING [target: >= eventfd: %s]", bl ? "; " : "",
			 bench_result_ratio(&burst[s], 1) >= 1.0 ? "met" : "MISSED");
		snprintf(pp[s].note + pl, sizeof pp[s].note - pl,
			 "%scorio = MSG_RING [target: >= eventfd: %s]", pl ? "; " : "",
			 bench_result_ratio(&pp[s], 1) >= 1.0 ? "met" : "MISSED");
	}
	for (int s = 0; s < BENCH_NSTATES; s++)
		bench_result_report(&burst[s], o);
	for (int s = 0; s < BENCH_NSTATES; s++)
		bench_result_report(&pp[s], o);
	return 0;
}

const bench_def bench_post = {
	.name = "post",
	.desc = "corio_loop_post between 2 loops: burst msg/s and ping-pong latency, MSG_RING vs "
		"eventfd, idle and with I/O in flight",
	.run = run,
};
