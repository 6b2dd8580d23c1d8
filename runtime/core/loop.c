/* runtime/core/loop.c: the ring (setup with flag fallback, feature probe), the submit choke
 * point, and the poll step: one io_uring_enter per loop turn for every queued SQE, then one
 * pass over every CQE, each delivered to its corio__completion. The bottom layer of the
 * runtime: it calls nothing above it (completions and teardown hooks are called through
 * pointers); runtime/core/run.c sets a loop up, drives it and tears it down. */
#include "runtime/core/loop.h"

#include "runtime/core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

__thread corio__loop *corio__tls_loop;

void corio_config_init(corio_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
}

bool corio_caps_has_op(const corio_capabilities *c, unsigned op)
{
	return op < 256 && (c->ops[op / 64] >> (op % 64)) & 1;
}

#define DEFAULT_SQ 256u
#define DEFAULT_CQ_MIN 4096u
#define DEFAULT_SPIN_US 20u

/* Tried first, then dropped one by one (in this order) while setup says -EINVAL:
 *   DEFER_TASKRUN  6.1: completions are posted only when we ask (GETEVENTS), no IPIs
 *   SINGLE_ISSUER  6.0: one thread submits; lets the kernel skip locking
 *   TASKRUN_FLAG   5.19: the kernel flags pending task work (IORING_SQ_TASKRUN in the SQ
 *                  ring's flags), so a turn with ready tasks enters only when something
 *                  completed (needs COOP_TASKRUN or DEFER_TASKRUN)
 *   COOP_TASKRUN   5.19: no interrupting task work when we are about to enter anyway
 *   SUBMIT_ALL     5.18: one bad SQE does not stop the rest of the batch
 * CQSIZE (5.5) is always used: the CQ must be larger than the SQ. */
static const unsigned drop_order[] = {
	IORING_SETUP_DEFER_TASKRUN,
	IORING_SETUP_SINGLE_ISSUER,
	IORING_SETUP_TASKRUN_FLAG,
	IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_SUBMIT_ALL,
};

static int ring_setup(corio__loop *l, const corio_config *cfg)
{
	unsigned sq = cfg->sq_entries ? cfg->sq_entries : DEFAULT_SQ;
	unsigned cq = cfg->cq_entries ? cfg->cq_entries : (sq * 8 > DEFAULT_CQ_MIN ? sq * 8 : DEFAULT_CQ_MIN);
	unsigned want = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
			IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_COOP_TASKRUN |
			IORING_SETUP_SUBMIT_ALL;
	struct io_uring_params p;
	int rc;

	if (cq < 2 * sq)
		cq = 2 * sq;
	want &= ~cfg->ring_flags_disable;
	for (size_t i = 0;; i++) {
		memset(&p, 0, sizeof p);
		p.flags = want | IORING_SETUP_CQSIZE;
		p.cq_entries = cq;
		rc = io_uring_queue_init_params(sq, &l->ring, &p);
		if (rc == 0)
			break;
		if (rc != -EINVAL || i == sizeof drop_order / sizeof drop_order[0])
			return rc;
		want &= ~drop_order[i];
	}
	l->caps.ring_flags = p.flags;
	l->caps.ring_features = p.features;
	l->caps.sq_entries = p.sq_entries;
	l->caps.cq_entries = p.cq_entries;
	return 0;
}

static void probe(corio__loop *l)
{
	struct io_uring_probe *pr = io_uring_get_probe_ring(&l->ring);
	struct utsname u;

	if (pr) {
		for (unsigned op = 0; op <= pr->last_op && op < 256; op++)
			if (io_uring_opcode_supported(pr, (int)op))
				l->caps.ops[op / 64] |= 1ull << (op % 64);
		io_uring_free_probe(pr);
	}
	/* 5.18: the ring fd is looked up once instead of at every io_uring_enter. */
	l->caps.ring_fd_registered = io_uring_register_ring_fd(&l->ring) == 1;
	/* 5.18: another loop can post a CQE straight into this ring. */
	l->caps.post_msg_ring = corio_caps_has_op(&l->caps, IORING_OP_MSG_RING);
	l->caps.process_wait = corio__process_wait_probe(l->caps.ops);
	/* 6.0: multishot recvmsg (IORING_RECV_MULTISHOT), which came with IORING_OP_SEND_ZC. */
	l->caps.udp_multishot = corio_caps_has_op(&l->caps, IORING_OP_SEND_ZC);
	if (uname(&u) == 0)
		snprintf(l->caps.kernel, sizeof l->caps.kernel, "%.63s", u.release);
}

int corio__loop_init(corio__loop *l, const corio_config *cfg)
{
	const char *spec = cfg->faults ? cfg->faults : getenv("CORIO_FAULTS");
	int rc;

	if (corio__faults_parse(&l->faults, spec) != 0) {
		corio__log(CORIO_LOG_ERROR, "bad fault spec \"%s\" (see README: SEED:RULE,...)", spec);
		return -EINVAL;
	}
	rc = ring_setup(l, cfg);
	if (rc != 0)
		return rc;
	probe(l);
	l->faulted_tail = &l->faulted;
	corio__stack_pool_init(&l->stacks, cfg);
	l->caps.stack_guard_markers = l->stacks.markers;
	l->park_clock = corio_now();
	return 0;
}

static void deliver(corio__loop *l, corio__completion *c, int32_t res, uint32_t flags)
{
	/* The single delivery point: every completion, real or injected, passes here. */
	if (c)
		c->fn(c, res, flags);
}

static void reap_faulted(corio__loop *l)
{
	corio__completion *c = l->faulted;

	l->faulted = NULL;
	l->faulted_tail = &l->faulted;
	while (c) {
		corio__completion *next = c->fault_next;

		deliver(l, c, c->fault_res, 0);
		c = next;
	}
}

static void reap(corio__loop *l)
{
	reap_faulted(l);
	for (int round = 0; round < 4; round++) {
		/* Only what is there now: without DEFER_TASKRUN the kernel keeps appending
		 * (another loop's MSG_RING flood), and the tasks must get their turn. */
		unsigned avail = io_uring_cq_ready(&l->ring);
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;

		io_uring_for_each_cqe(&l->ring, head, cqe) {
			if (n == avail)
				break;
			n++;
			/* A CQE with F_MORE promises another one for the same request. */
			corio__completion *c = io_uring_cqe_get_data(cqe);

#if defined(__SANITIZE_THREAD__)
			/* Any completion may be another loop's post (released by
			 * runtime/threads/loops.c); it cannot be told before reading it, so every
			 * one is acquired. */
			if (c)
				__tsan_acquire(c);
#endif

			if (!(cqe->flags & IORING_CQE_F_MORE) && !(c && c->foreign))
				l->inflight--;
			deliver(l, c, cqe->res, cqe->flags);
		}
		io_uring_cq_advance(&l->ring, n);
		l->stats.cqes_reaped += n;
		/* With IORING_FEAT_NODROP the kernel keeps what did not fit; ask for it. */
		if (!io_uring_cq_has_overflow(&l->ring))
			break;
		l->stats.cq_overflows++;
		l->stats.submit_calls++;
		io_uring_get_events(&l->ring);
	}
}

/* Stacks released in a burst are trimmed once no task needed them for a whole period
 * (stack.h). Only when the loop is about to sleep: a loop with work is using its stacks,
 * and one that sleeps wakes for the trim (sleep_ns). */
#define STACK_TRIM_NS CORIO_SEC(1)

static void trim_stacks(corio__loop *l)
{
	uint64_t now;

	if (!corio__stack_pool_excess(&l->stacks))
		return;
	now = corio_now();
	if (now < l->stack_trim_at)
		return;
	corio__stack_pool_trim(&l->stacks);
	l->stack_trim_at = now + STACK_TRIM_NS;
}

/* How long a sleeping loop may stay in the kernel: until the next stack trim while warm
 * stacks wait for one, else without limit (0). Only where the kernel takes the timeout as
 * an argument of io_uring_enter (5.11, IORING_FEAT_EXT_ARG): liburing's fallback would
 * queue a timeout SQE whose CQE is not ours to deliver. Elsewhere the trim waits for the
 * next wakeup. */
static uint64_t sleep_ns(corio__loop *l)
{
	uint64_t now;

	if (!(l->ring.features & IORING_FEAT_EXT_ARG) || !corio__stack_pool_excess(&l->stacks))
		return 0;
	now = corio_now();
	return l->stack_trim_at > now ? l->stack_trim_at - now : 1;
}

/* io_uring_enter: submit everything queued and, if wait, wait for one completion (or
 * until the stack trim is due). */
static void enter(corio__loop *l, bool wait)
{
	uint64_t ns = wait ? sleep_ns(l) : 0;

	for (;;) {
		struct __kernel_timespec ts = { .tv_sec = (long long)(ns / 1000000000u),
						.tv_nsec = (long long)(ns % 1000000000u) };
		struct io_uring_cqe *cqe;
		int rc = !wait ? io_uring_submit_and_get_events(&l->ring)
			 : ns  ? io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL)
			       : io_uring_submit_and_wait(&l->ring, 1);

		l->stats.submit_calls++;
		if (rc >= 0 || rc == -EINTR || rc == -ETIME)
			return;
		if (rc == -EBUSY || rc == -EAGAIN) {
			/* CQ overflow backlog (kernels before 5.19) or no memory for requests:
			 * make room by reaping, then the caller's turn goes on. */
			reap(l);
			return;
		}
		corio__log(CORIO_LOG_ERROR, "io_uring_enter failed: %s", strerror(-rc));
		abort();
	}
}

/* How long a thread with a cross-thread answer due may poll for it before sleeping in
 * the kernel: 0 on one CPU, where polling only delays the thread that would answer.
 * CORIO_SPIN_US overrides (0 turns polling off). */
uint64_t corio__spin_ns(void)
{
	static uint64_t cached = UINT64_MAX; /* racing first calls compute the same value */
	uint64_t us = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	const char *env;

	if (us != UINT64_MAX)
		return us * 1000;
	us = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? DEFAULT_SPIN_US : 0;
	env = getenv("CORIO_SPIN_US");
	if (env && *env) {
		char *end;
		unsigned long v = strtoul(env, &end, 10);

		if (*end == 0 && v <= 1000)
			us = v;
	}
	__atomic_store_n(&cached, us, __ATOMIC_RELAXED);
	return us * 1000;
}

/* The clock parks are dated with (corio_tasks_dump's "parked 1.250s"), so that parking
 * never reads it: read after every kernel entry, which costs a hundred times more, and
 * every 64th turn without one. So a park is dated at most 64 turns early, which only a
 * loop busy with tasks that never enter the kernel can make long; spawn + join in a loop
 * (a turn each, no syscall) pays one read per 64. */
#define PARK_CLOCK_TURNS 64

static void park_clock_tick(corio__loop *l, bool entered)
{
	if (entered || ++l->park_clock_turns >= PARK_CLOCK_TURNS) {
		l->park_clock_turns = 0;
		l->park_clock = corio_now();
	}
}

bool corio__loop_poll(corio__loop *l, bool may_block)
{
	bool pending = io_uring_sq_ready(&l->ring) > 0, entered = true;

	l->dl.turn_now = 0; /* a new turn: corio__deadline_after reads the clock again */

	if (may_block && !l->faulted) {
		/* Nothing can ever complete: no SQE queued, nothing in flight but our own
		 * mailbox read, no blocking job running, and no sibling loop that could post. */
		if (!pending && l->inflight == l->mbox.armed && l->external == 0 && !l->loopset &&
		    !l->exposed)
			return false;
		trim_stacks(l);
		enter(l, true);
	} else if (pending || __atomic_load_n(&l->mbox.notified, __ATOMIC_ACQUIRE) ||
		   (l->inflight > l->mbox.armed && !corio__ring_idle(l))) {
		/* Ready tasks are waiting: no sleep, but completions and timers must not starve
		 * behind tasks that only yield. No syscall when nothing is in flight (the
		 * mailbox read only matters once something was posted), nor, where the kernel
		 * flags its pending work, while nothing completed. */
		enter(l, false);
	} else {
		entered = false;
	}
	reap(l);
	park_clock_tick(l, entered);
	return true;
}

static void flush(corio__loop *l, unsigned need)
{
	l->stats.sq_full_flushes++;
	while (io_uring_sq_space_left(&l->ring) < need) {
		int rc = io_uring_submit(&l->ring);

		l->stats.submit_calls++;
		if (rc == -EBUSY || rc == -EAGAIN)
			reap(l);
		else if (rc < 0 && rc != -EINTR) {
			corio__log(CORIO_LOG_ERROR, "io_uring_submit failed: %s", strerror(-rc));
			abort();
		}
	}
}

static struct io_uring_sqe *sqe_get(corio__loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (!sqe) {
		flush(l, 1);
		sqe = io_uring_get_sqe(&l->ring);
	}
	l->inflight++;
	l->stats.sqes_submitted++;
	return sqe;
}

void corio__submit(corio__loop *l, const struct io_uring_sqe *proto, corio__completion *c,
		   const struct __kernel_timespec *link_ts, bool may_fault)
{
	struct io_uring_sqe tmp, *sqe;
	unsigned need = link_ts ? 2 : 1;
	uint64_t seq = ++l->op_seq;

	if (c && may_fault && l->faults.nrules) {
		bool touched = false;
		int err;

		tmp = *proto;
		err = corio__faults_apply(&l->faults, &tmp, seq, &touched);
		l->stats.faults_injected += touched;
		if (err) {
			/* Never reaches the kernel: delivered with err at the next reap. */
			c->fault_res = err;
			c->fault_next = NULL;
			*l->faulted_tail = c;
			l->faulted_tail = &c->fault_next;
			return;
		}
		proto = &tmp;
	}
	/* A linked pair must land in the same batch: make room for both first. */
	if (link_ts && io_uring_sq_space_left(&l->ring) < need)
		flush(l, need);
	sqe = sqe_get(l);
	*sqe = *proto;
	io_uring_sqe_set_data(sqe, c);
	if (link_ts) {
		struct io_uring_sqe *lt;

		sqe->flags |= IOSQE_IO_LINK;
		lt = sqe_get(l);
		/* The kernel copies the timespec when it consumes the SQE, which happens while
		 * the caller is parked with *link_ts on its stack. */
		io_uring_prep_link_timeout(lt, (struct __kernel_timespec *)link_ts,
					   IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data(lt, NULL);
	}
}

void corio__submit_cancel(corio__loop *l, corio__completion *c)
{
	struct io_uring_sqe sqe;

	memset(&sqe, 0, sizeof sqe);
	io_uring_prep_cancel64(&sqe, (uint64_t)(uintptr_t)c, 0);
	corio__submit(l, &sqe, NULL, NULL, false);
}

void corio__loop_drain(corio__loop *l)
{
	if (l->inflight > 0) {
		/* Nothing should be left (every task waited for its own operations), but a
		 * leftover multishot request would hold the drain forever: cancel them all
		 * (IORING_ASYNC_CANCEL_ANY, 5.19). */
		struct io_uring_sqe sqe;

		memset(&sqe, 0, sizeof sqe);
		io_uring_prep_cancel64(&sqe, 0, IORING_ASYNC_CANCEL_ANY);
		corio__submit(l, &sqe, NULL, NULL, false);
	}
	/* Not corio__loop_poll: it would refuse to sleep on the mailbox read alone. */
	while (l->inflight > 0 || l->faulted) {
		if (l->inflight > 0)
			enter(l, true);
		reap(l);
	}
}

void corio__loop_release(corio__loop *l)
{
	/* The layers above registered what they keep per loop (runtime/time/'s spare sleep
	 * buckets): called through the list, the loop depends on none of them. */
	while (l->finis) {
		corio__loop_fini *f = l->finis;

		l->finis = f->next;
		f->fn(l);
	}
	corio__stack_pool_fini(&l->stacks);
	io_uring_queue_exit(&l->ring);
}

