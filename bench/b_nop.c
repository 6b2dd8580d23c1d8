/* bench/b_nop.c: the runtime's per-operation overhead, with an operation that costs the
 * kernel almost nothing (IORING_OP_NOP).
 *
 * corio: N tasks (N = 1 and 256) each loop on corio_nop(): submit through the choke point,
 * park, one io_uring_enter per loop turn for all N, reap, deliver, switch back.
 * liburing: a raw loop on a ring with the flags the runtime obtained: get_sqe + prep_nop
 * x batch, one io_uring_submit_and_wait, reap all. batch = 256 beside N = 256 (the target:
 * corio within 1.5x), batch = 1 beside N = 1 (one syscall per operation on both sides).
 * Both on an idle ring and on a ring with 1000 receives and a timer in flight: corio's loop
 * through bench/inflight.h, the raw ring with the same operations submitted on socket pairs
 * of its own before the timed loop (a server's ring is never idle).
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <corio/corio.h>

#include "bench/bench.h"
#include "bench/inflight.h"

#define MAX_TASKS 256

/* ---- corio ------------------------------------------------------------------------------ */

struct nop_run {
	unsigned ntasks;
	uint64_t per_task;
	int err;
	double ns;
};

static void *nopper(void *arg)
{
	struct nop_run *r = arg;

	for (uint64_t i = 0; i < r->per_task; i++) {
		int rc = corio_nop();

		if (rc < 0) {
			r->err = rc;
			break;
		}
	}
	return NULL;
}

static int nop_round(struct nop_run *r)
{
	corio_task *t[MAX_TASKS];
	unsigned n = 0;
	int rc;

	while (n < r->ntasks && (t[n] = corio_spawn(nopper, r)))
		n++;
	rc = corio_gather(t, n, NULL);
	if (n < r->ntasks)
		return -ENOMEM;
	return rc != 0 ? rc : r->err;
}

static void *nop_main(void *arg)
{
	struct nop_run *r = arg, warm = *r;
	uint64_t t0, t1;

	warm.per_task = r->per_task / 10 + 1;
	r->err = nop_round(&warm);
	if (r->err != 0)
		return NULL;
	t0 = bench_now();
	r->err = nop_round(r);
	t1 = bench_now();
	r->ns = (double)(t1 - t0) / (double)(r->per_task * r->ntasks);
	return NULL;
}

/* ns per operation with k receives and a timer in flight (k == 0: idle), or -1. */
static double measure_corio(unsigned ntasks, uint64_t ops, unsigned k)
{
	struct nop_run r = { .ntasks = ntasks, .per_task = ops / ntasks };
	int rc = bench_inflight_run(k, nop_main, &r);

	if (rc != 0 || r.err != 0) {
		bench_log("nop: corio: %s\n", strerror(-(rc ? rc : r.err)));
		return -1;
	}
	return r.ns;
}

/* ---- raw liburing ---------------------------------------------------------------------- */

struct raw_ring {
	struct io_uring ring;
	unsigned flags;  /* IORING_SETUP_* obtained */
	bool fd_registered;
	int (*pairs)[2]; /* the in-flight state's socket pairs, npairs of them */
	unsigned npairs;
	struct __kernel_timespec sleep; /* its timer's 60 s */
};

/* user_data of the in-flight operations, which must never complete: a NOP's is its index. */
#define INFLIGHT_DATA (1ull << 63)

/* Same setup as the runtime: the flags it obtained, dropped one by one if refused. */
static int raw_init(struct raw_ring *rr, const corio_capabilities *caps)
{
	static const unsigned drop[] = { IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_SINGLE_ISSUER,
					 IORING_SETUP_COOP_TASKRUN, IORING_SETUP_SUBMIT_ALL };
	unsigned flags = caps->ring_flags | IORING_SETUP_CQSIZE;
	struct io_uring_params p;
	int rc;

	for (size_t i = 0;; i++) {
		memset(&p, 0, sizeof p);
		p.flags = flags;
		p.cq_entries = caps->cq_entries;
		rc = io_uring_queue_init_params(caps->sq_entries, &rr->ring, &p);
		if (rc == 0)
			break;
		if (rc != -EINVAL || i == sizeof drop / sizeof drop[0])
			return rc;
		flags &= ~drop[i];
	}
	rr->flags = p.flags;
	rr->fd_registered = caps->ring_fd_registered &&
			    io_uring_register_ring_fd(&rr->ring) == 1;
	return 0;
}

static int raw_loop(struct io_uring *ring, unsigned batch, uint64_t rounds)
{
	for (uint64_t r = 0; r < rounds; r++) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int rc;

		for (unsigned i = 0; i < batch; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

			if (!sqe)
				return -EBUSY; /* batch <= sq_entries: cannot happen */
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data64(sqe, i);
		}
		rc = io_uring_submit_and_wait(ring, batch);
		if (rc < 0)
			return rc;
		while (seen < batch) {
			unsigned n = 0;

			io_uring_for_each_cqe(ring, head, cqe) {
				if (cqe->user_data & INFLIGHT_DATA)
					return -EIO; /* a parked receive or the timer ended */
				if (cqe->res < 0)
					return cqe->res;
				n++;
			}
			io_uring_cq_advance(ring, n);
			seen += n;
			if (seen < batch && (rc = io_uring_wait_cqe_nr(ring, &cqe, batch - seen)) < 0)
				return rc;
		}
	}
	return 0;
}

static struct io_uring_sqe *raw_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe && io_uring_submit(ring) >= 0)
		sqe = io_uring_get_sqe(ring);
	return sqe;
}

/* The in-flight state on the raw ring: k receives on socket pairs (nothing is ever written)
 * and a 60 s timeout, submitted; 0 or -errno. raw_close undoes it. */
static int raw_inflight(struct raw_ring *rr, unsigned k)
{
	static char byte; /* never written: nothing is ever received */
	struct io_uring_sqe *sqe;
	int rc;

	if (k == 0)
		return 0;
	if (!(rr->pairs = calloc(k, sizeof *rr->pairs)))
		return -ENOMEM;
	for (; rr->npairs < k; rr->npairs++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rr->pairs[rr->npairs]) != 0)
			return -errno;
		if (!(sqe = raw_sqe(&rr->ring)))
			return -EBUSY;
		io_uring_prep_recv(sqe, rr->pairs[rr->npairs][0], &byte, 1, 0);
		io_uring_sqe_set_data64(sqe, INFLIGHT_DATA | rr->npairs);
	}
	rr->sleep = (struct __kernel_timespec){ .tv_sec = 60 };
	if (!(sqe = raw_sqe(&rr->ring)))
		return -EBUSY;
	io_uring_prep_timeout(sqe, &rr->sleep, 0, 0);
	io_uring_sqe_set_data64(sqe, INFLIGHT_DATA | k);
	rc = io_uring_submit(&rr->ring);
	return rc < 0 ? rc : 0;
}

/* The ring (the kernel cancels what is in flight), then the in-flight descriptors. */
static void raw_close(struct raw_ring *rr)
{
	io_uring_queue_exit(&rr->ring);
	for (unsigned i = 0; i < rr->npairs; i++) {
		close(rr->pairs[i][0]);
		close(rr->pairs[i][1]);
	}
	free(rr->pairs);
}

static double measure_raw(const corio_capabilities *caps, unsigned batch, uint64_t ops,
			  unsigned k)
{
	struct raw_ring rr = { .npairs = 0 };
	uint64_t rounds = ops / batch, t0, t1;
	int rc = raw_init(&rr, caps);

	if (rc != 0) {
		bench_log("nop: io_uring_queue_init_params: %s\n", strerror(-rc));
		return -1;
	}
	if ((rc = raw_inflight(&rr, k)) != 0) {
		bench_log("nop: raw ring, %u receives in flight: %s\n", k, strerror(-rc));
		raw_close(&rr);
		return -1;
	}
	rc = raw_loop(&rr.ring, batch, rounds / 10 + 1); /* warm-up */
	t0 = bench_now();
	if (rc == 0)
		rc = raw_loop(&rr.ring, batch, rounds);
	t1 = bench_now();
	raw_close(&rr);
	if (rc != 0) {
		bench_log("nop: raw loop: %s\n", strerror(-rc));
		return -1;
	}
	return (double)(t1 - t0) / (double)(rounds * batch);
}

/* ---- the benchmark --------------------------------------------------------------------- */

static void *get_caps(void *arg)
{
	return corio_caps(arg) == 0 ? arg : NULL;
}

/* One state of one run: corio and the raw ring for N = 1 and N = 256, the raw ring first
 * on odd runs. v[k][0] corio's, v[k][1] liburing's. 0 or -1. */
static int run_state(const corio_capabilities *caps, int i, unsigned inflight,
		     const unsigned ns[2], uint64_t ops1, uint64_t ops256, double v[2][2])
{
	for (int k = 0; k < 2; k++) {
		uint64_t ops = ns[k] == 1 ? ops1 : ops256;

		if (i % 2 == 0) {
			v[k][0] = measure_corio(ns[k], ops, inflight);
			v[k][1] = measure_raw(caps, ns[k], ops, inflight);
		} else {
			v[k][1] = measure_raw(caps, ns[k], ops, inflight);
			v[k][0] = measure_corio(ns[k], ops, inflight);
		}
		if (v[k][0] < 0 || v[k][1] < 0)
			return -1;
	}
	return 0;
}

static int run(const bench_opts *o)
{
	uint64_t scale = o->quick ? 4 : 1;
	uint64_t ops1 = 200000 / scale, ops256 = 1024000 / scale;
	static const unsigned ns[2] = { 1, 256 };
	bench_result res[BENCH_NSTATES][2];
	corio_capabilities caps;
	void *ok = NULL;
	int rc = corio_run(get_caps, &caps, &ok);
	struct raw_ring probe;
	char flags[160];

	if (rc != 0 || !ok) {
		bench_log("nop: corio_run: %s\n", strerror(rc ? -rc : ESRCH));
		return 1;
	}
	/* Say which flags the raw ring got (the same as the runtime's unless refused). */
	if (raw_init(&probe, &caps) != 0) {
		bench_log("nop: cannot set up a raw ring\n");
		return 1;
	}
	corio_caps_flags_str(&(corio_capabilities){ .ring_flags = probe.flags }, flags,
			     sizeof flags);
	io_uring_queue_exit(&probe.ring);
	bench_log("  raw ring flags: %s\n", flags);

	for (int s = 0; s < BENCH_NSTATES; s++)
		for (int k = 0; k < 2; k++) {
			bench_result_init(&res[s][k], "nop", "ns/op", false,
					  "N=%u tasks vs batch of %u, %s", ns[k], ns[k],
					  bench_state_name[s]);
			bench_result_peer(&res[s][k], "corio");
			bench_result_peer(&res[s][k], "liburing");
		}
	bench_inflight_nofile(1); /* the raw ring's socket pairs too (never with corio's at once) */

	for (int i = 0; i < o->runs; i++) {
		double v[BENCH_NSTATES][2][2];

		for (int j = 0; j < BENCH_NSTATES; j++) {
			int s = i % 2 == 0 ? j : BENCH_NSTATES - 1 - j;

			if (run_state(&caps, i, bench_state_k(s), ns, ops1, ops256, v[s]) != 0)
				return 1;
			for (int k = 0; k < 2; k++) {
				bench_result_add(&res[s][k], 0, v[s][k][0]);
				bench_result_add(&res[s][k], 1, v[s][k][1]);
			}
		}
		bench_log("  run %d: N=1 corio %.0f ns, liburing %.0f ns; N=256 corio %.1f ns, "
			  "liburing %.1f ns; in flight: %.0f, %.0f, %.1f, %.1f ns\n", i + 1,
			  v[0][0][0], v[0][0][1], v[0][1][0], v[0][1][1], v[1][0][0], v[1][0][1],
			  v[1][1][0], v[1][1][1]);
	}
	for (int k = 0; k < 2; k++)
		bench_inflight_note(&res[BENCH_INFLIGHT][k], &res[BENCH_IDLE][k], false);
	for (int s = 0; s < BENCH_NSTATES; s++) {
		size_t len = strlen(res[s][1].note);

		snprintf(res[s][1].note + len, sizeof res[s][1].note - len,
			 "%s[target: at most 1.5x worse: %s]", len ? " " : "",
			 bench_result_ratio(&res[s][1], 1) >= 1 / 1.5 ? "met" : "MISSED");
	}
	for (int k = 0; k < 2; k++)
		for (int s = 0; s < BENCH_NSTATES; s++)
			bench_result_report(&res[s][k], o);
	return 0;
}

const bench_def bench_nop = {
	.name = "nop",
	.desc = "ns per IORING_OP_NOP from 1 and 256 tasks vs a raw liburing batch loop, idle and "
		"with I/O in flight",
	.run = run,
};
