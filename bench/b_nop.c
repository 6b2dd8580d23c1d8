/* bench/b_nop.c: the runtime's per-operation overhead, with an operation that costs the
 * kernel almost nothing (IORING_OP_NOP).
 *
 * corio: N tasks (N = 1 and 256) each loop on corio_nop(): submit through the choke point,
 * park, one io_uring_enter per loop turn for all N, reap, deliver, switch back.
 * liburing: a raw loop on a ring with the flags the runtime obtained: get_sqe + prep_nop
 * x batch, one io_uring_submit_and_wait, reap all. batch = 256 beside N = 256 (the target:
 * corio within 1.5x), batch = 1 beside N = 1 (one syscall per operation on both sides).
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>

#include <corio/corio.h>

#include "bench/bench.h"

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

static double measure_corio(unsigned ntasks, uint64_t ops)
{
	struct nop_run r = { .ntasks = ntasks, .per_task = ops / ntasks };
	int rc = corio_run(nop_main, &r, NULL);

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
};

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

static double measure_raw(const corio_capabilities *caps, unsigned batch, uint64_t ops)
{
	struct raw_ring rr;
	uint64_t rounds = ops / batch, t0, t1;
	int rc = raw_init(&rr, caps);

	if (rc != 0) {
		bench_log("nop: io_uring_queue_init_params: %s\n", strerror(-rc));
		return -1;
	}
	rc = raw_loop(&rr.ring, batch, rounds / 10 + 1); /* warm-up */
	t0 = bench_now();
	if (rc == 0)
		rc = raw_loop(&rr.ring, batch, rounds);
	t1 = bench_now();
	io_uring_queue_exit(&rr.ring);
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

static int run(const bench_opts *o)
{
	uint64_t scale = o->quick ? 4 : 1;
	uint64_t ops1 = 200000 / scale, ops256 = 1024000 / scale;
	static const unsigned ns[2] = { 1, 256 };
	bench_result res[2];
	int c[2], u[2];
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

	for (int k = 0; k < 2; k++) {
		bench_result_init(&res[k], "nop", "ns/op", false, "N=%u tasks vs batch of %u", ns[k],
				  ns[k]);
		c[k] = bench_result_peer(&res[k], "corio");
		u[k] = bench_result_peer(&res[k], "liburing");
	}

	for (int i = 0; i < o->runs; i++) {
		double v[2][2];

		for (int k = 0; k < 2; k++) {
			uint64_t ops = ns[k] == 1 ? ops1 : ops256;

			if (i % 2 == 0) {
				v[k][0] = measure_corio(ns[k], ops);
				v[k][1] = measure_raw(&caps, ns[k], ops);
			} else {
				v[k][1] = measure_raw(&caps, ns[k], ops);
				v[k][0] = measure_corio(ns[k], ops);
			}
			if (v[k][0] < 0 || v[k][1] < 0)
				return 1;
			bench_result_add(&res[k], c[k], v[k][0]);
			bench_result_add(&res[k], u[k], v[k][1]);
		}
		bench_log("  run %d: N=1 corio %.0f ns, liburing %.0f ns; N=256 corio %.1f ns, "
			  "liburing %.1f ns\n", i + 1, v[0][0], v[0][1], v[1][0], v[1][1]);
	}
	snprintf(res[1].note, sizeof res[1].note, "[target: at most 1.5x worse: %s]",
		 bench_result_ratio(&res[1], u[1]) >= 1 / 1.5 ? "met" : "MISSED");
	bench_result_report(&res[0], o);
	bench_result_report(&res[1], o);
	return 0;
}

const bench_def bench_nop = {
	.name = "nop",
	.desc = "ns per IORING_OP_NOP from 1 and 256 tasks vs a raw liburing batch loop",
	.run = run,
};
