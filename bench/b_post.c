/* bench/b_post.c: corio_loop_post between two loops on two threads (corio_run_threads):
 * a burst (messages per second, one loop posting as fast as it can) and a ping-pong (one
 * message in flight: one-way latency), over IORING_OP_MSG_RING and over the eventfd
 * mailbox in the same run. Target (issue 3): MSG_RING at least as fast as eventfd. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include <corio/corio.h>

#include "bench/bench.h"

extern bool corio__post_force_mailbox; /* runtime/threads/loops.c */

static struct {
	uint64_t want;
	atomic_uint_fast64_t got;
	atomic_int err;
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

/* Both loops: loop 0 starts the traffic; both stay until every message arrived. */
static void *post_main(void *arg)
{
	bool burst = arg != NULL;

	if (corio_thread_index() == 0) {
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
	return NULL;
}

/* Messages per second (burst) or ns one way (ping-pong); -1 on failure. */
static double measure(bool burst, bool mailbox, uint64_t n)
{
	st.want = n;
	atomic_store(&st.got, 0);
	atomic_store(&st.err, 0);
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

static int run(const bench_opts *o)
{
	uint64_t burst_n = o->quick ? 50000 : 200000, pp_n = o->quick ? 5000 : 20000;
	bench_result burst, pp;
	int b_ring, b_efd, p_ring, p_efd;

	bench_result_init(&burst, "post", "msg/s", true, "burst, 2 loops, N=%llu",
			  (unsigned long long)burst_n);
	b_ring = bench_result_peer(&burst, "corio");
	b_efd = bench_result_peer(&burst, "eventfd mailbox");
	bench_result_init(&pp, "post", "ns one way", false, "ping-pong, 2 loops, N=%llu",
			  (unsigned long long)pp_n);
	p_ring = bench_result_peer(&pp, "corio");
	p_efd = bench_result_peer(&pp, "eventfd mailbox");
	for (int i = 0; i < o->runs; i++) {
		bool first_efd = i % 2 == 1; /* interleaved: each path goes first half the time */
		double be = first_efd ? measure(true, true, burst_n) : 0;
		double br = measure(true, false, burst_n);
		double pe = first_efd ? measure(false, true, pp_n) : 0;
		double pr = measure(false, false, pp_n);

		if (!first_efd) {
			be = measure(true, true, burst_n);
			pe = measure(false, true, pp_n);
		}
		if (be < 0 || br < 0 || pe < 0 || pr < 0)
			return 1;
		bench_log("  run %d: burst MSG_RING %.0f/s eventfd %.0f/s; ping-pong MSG_RING %.0f ns "
			  "eventfd %.0f ns\n", i + 1, br, be, pr, pe);
		bench_result_add(&burst, b_ring, br);
		bench_result_add(&burst, b_efd, be);
		bench_result_add(&pp, p_ring, pr);
		bench_result_add(&pp, p_efd, pe);
	}
	snprintf(burst.note, sizeof burst.note, "corio = MSG_RING [target: >= eventfd: %s]",
		 bench_result_ratio(&burst, b_efd) >= 1.0 ? "met" : "MISSED");
	snprintf(pp.note, sizeof pp.note, "corio = MSG_RING [target: >= eventfd: %s]",
		 bench_result_ratio(&pp, p_efd) >= 1.0 ? "met" : "MISSED");
	bench_result_report(&burst, o);
	bench_result_report(&pp, o);
	return 0;
}

const bench_def bench_post = {
	.name = "post",
	.desc = "corio_loop_post between 2 loops: burst msg/s and ping-pong latency, MSG_RING vs eventfd",
	.run = run,
};
