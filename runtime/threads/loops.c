/* runtime/threads/loops.c: many event loops, one per thread (not the blocking thread pool,
 * which is runtime/threads/pool.c). corio_run_threads starts a loopset (struct
 * corio__loopset: the set of loops it runs, unrelated to corio_group, a group of tasks),
 * and corio_loop_post hands a function to another loop, by IORING_OP_MSG_RING from a loop
 * thread (5.18: the kernel posts a CQE straight into the target's ring) or through the
 * target's eventfd mailbox otherwise. A loop's own life (open, main, close) is
 * runtime/core/run.c's. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "runtime/core/op.h"
#include "runtime/core/run.h"
#include "runtime/threads/signal.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

/* The loops of one corio_run_threads call, and the start gate they pass together. */
struct corio__loopset {
	unsigned n;
	corio__loop **loops;
	pthread_mutex_t lock;    /* the start gate: every ring exists before any main runs */
	pthread_cond_t cond;
	unsigned inited;
	unsigned finished;       /* members whose loop has drained */
	int go;                  /* 0 wait, 1 run, -1 abort (a thread could not be started) */
	corio_fn fn;
	void *arg;
};

typedef struct member {
	struct corio__loopset *set;
	unsigned index;
	pthread_t th;
	int rc;
	bool ring; /* the loop was initialised: its ring must be released */
} member;

/* ---- posting ---- */

/* Benchmarks set this to measure the eventfd mailbox path against MSG_RING in one run. */
bool corio__post_force_mailbox;

typedef struct post {
	corio__msg msg;             /* what the target runs */
	corio__completion send_c;   /* the sender's CQE for its MSG_RING request */
	corio_fn fn;
	void *arg;
	corio__loop *target;
	atomic_int refs;            /* sender's CQE + the target's delivery */
} post;

static void post_unref(post *p)
{
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		free(p);
}

static void post_run(corio__loop *l, corio__msg *m)
{
	post *p = (post *)m;
	/* A MSG_RING delivery can still land while the loop drains: its tasks are gone and
	 * no new one may start, so the post is dropped like one refused with -ESHUTDOWN. */
	corio_task *t = l->mbox.closed ? NULL : corio_spawn(p->fn, p->arg);

	if (t)
		corio_detach(t);
	post_unref(p);
}

static void post_drop(corio__msg *m)
{
	post_unref((post *)m);
}

/* Target side of a MSG_RING delivery. */
static void post_arrived(corio__completion *c, int32_t res, uint32_t flags)
{
	post_run(corio__loop_get(), &((post *)c)->msg);
}

/* Sender side: the MSG_RING request finished. If it failed, the target never saw the
 * message: send it again through the mailbox. */
static void post_sent(corio__completion *c, int32_t res, uint32_t flags)
{
	post *p = (post *)((char *)c - offsetof(post, send_c));

	if (res < 0 && corio__mailbox_post(p->target, &p->msg) != 0)
		post_unref(p); /* the target has ended: the post is dropped */
	post_unref(p);
}

static bool target_open(corio__loop *t)
{
	bool open;

	pthread_mutex_lock(&t->mbox.lock);
	open = !t->mbox.closed;
	pthread_mutex_unlock(&t->mbox.lock);
	return open;
}

int corio_loop_post(corio_loop *target, corio_fn fn, void *arg)
{
	corio__loop *self = corio__loop_get();
	post *p;
	int rc;

	if (!target || !fn)
		return -EINVAL;
	if (target == self) {
		corio_task *t = corio_spawn(fn, arg);

		if (!t)
			return -ENOMEM;
		corio_detach(t);
		return 0;
	}
	if (!target_open(target))
		return -ESHUTDOWN;
	p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->fn = fn;
	p->arg = arg;
	p->target = target;
	p->msg.run = post_run;
	p->msg.drop = post_drop;
	/* MSG_RING only inside one corio_run_threads loopset, whose rings all stay open until
	 * every member has finished: the SQE leaves at the sender's next turn, and by then a
	 * plain corio_run target may have ended and its ring fd number may belong to another
	 * ring. Other targets get the mailbox, which checks under its lock. */
	if (self && self->caps.post_msg_ring && self->loopset && self->loopset == target->loopset &&
	    !corio__post_force_mailbox) {
		struct io_uring_sqe sqe;

		atomic_init(&p->refs, 2);
		p->msg.c = (corio__completion){ .fn = post_arrived, .foreign = true };
		p->send_c = (corio__completion){ .fn = post_sent };
		memset(&sqe, 0, sizeof sqe);
		io_uring_prep_msg_ring(&sqe, target->ring.ring_fd, 0,
				       (uint64_t)(uintptr_t)&p->msg.c, 0);
#if defined(__SANITIZE_THREAD__)
		/* The kernel orders this for us; ThreadSanitizer cannot see it. */
		__tsan_release(&p->msg.c);
#endif
		corio__submit(self, &sqe, &p->send_c, NULL, false);
		return 0;
	}
	atomic_init(&p->refs, 1);
	rc = corio__mailbox_post(target, &p->msg);
	if (rc != 0)
		free(p);
	return rc;
}

/* ---- loops on threads ---- */

corio_loop *corio_loop_current(void)
{
	corio__loop *l = corio__loop_get();

	/* The handle may reach other threads now: keep the mailbox open for their posts,
	 * and never call the loop deadlocked while it waits for them. */
	if (l && corio__mailbox_arm(l) == 0)
		l->exposed = true;
	return l;
}

unsigned corio_thread_index(void)
{
	corio__loop *l = corio__loop_get();

	return l ? l->index : 0;
}

corio_loop *corio_thread_loop(unsigned i)
{
	corio__loop *l = corio__loop_get();

	if (!l || !l->loopset || i >= l->loopset->n)
		return NULL;
	return l->loopset->loops[i];
}

static void drop_leftover_posts(corio__loop *l);

/* Once every loop of the loopset has drained, nobody can post any more; a MSG_RING that
 * reached this ring after its loop stopped reading sits in the kernel's deferred work
 * (DEFER_TASKRUN) until this thread asks for it: ask, and drop those posts. */
static void settle(struct corio__loopset *set, corio__loop *l)
{
	pthread_mutex_lock(&set->lock);
	set->finished++;
	pthread_cond_broadcast(&set->cond);
	while (set->finished < set->n)
		pthread_cond_wait(&set->cond, &set->lock);
	pthread_mutex_unlock(&set->lock);
	if (l) {
		io_uring_get_events(&l->ring);
		drop_leftover_posts(l);
	}
}

static void *member_main(void *p)
{
	member *m = p;
	corio__loop *l = m->set->loops[m->index];
	corio_config cfg;

	struct corio__loopset *set = m->set;
	int go;

	corio_config_init(&cfg);
	m->rc = corio__loop_open(l, &cfg);
	m->ring = m->rc == 0;
	/* Open for posts before the gate: a sibling may post before this thread reaches
	 * its main task. */
	if (m->rc == 0)
		m->rc = corio__mailbox_arm(l);
	if (m->rc != 0 && m->ring) {
		l->mbox.closed = true; /* no eventfd: refuse posts rather than lose them */
	} else if (!m->ring) {
		/* Siblings may already hold this loop: make posts to it fail cleanly. */
		corio__mailbox_init(&l->mbox);
		l->mbox.closed = true;
	}
	l->loopset = set;
	l->index = m->index;
	pthread_mutex_lock(&set->lock);
	set->inited++;
	pthread_cond_broadcast(&set->cond);
	while (!(go = set->go))
		pthread_cond_wait(&set->cond, &set->lock);
	pthread_mutex_unlock(&set->lock);
	if (go > 0) {
		if (m->rc == 0)
			m->rc = corio__loop_main(l, set->fn, set->arg, NULL);
		settle(set, m->ring ? l : NULL);
	}
	return NULL;
}

/* Frees posts that reached a ring after its loop stopped reading it. */
static void drop_leftover_posts(corio__loop *l)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&l->ring, &cqe) == 0) {
		corio__completion *c = io_uring_cqe_get_data(cqe);

		if (c && c->fn == post_arrived)
			post_unref((post *)c);
		io_uring_cqe_seen(&l->ring, cqe);
	}
}

static int join_members(struct corio__loopset *set, member *ms, unsigned started)
{
	int rc = 0;

	for (unsigned i = 0; i < started; i++) {
		pthread_join(ms[i].th, NULL);
		if (rc == 0)
			rc = ms[i].rc;
	}
	for (unsigned i = 0; i < started; i++) {
		corio__loop *l = set->loops[i];

		if (ms[i].ring) {
			drop_leftover_posts(l);
			corio__loop_close(l);
		} else {
			corio__mailbox_fini(&l->mbox);
		}
	}
	return rc;
}

int corio_run_threads(unsigned n, corio_fn fn, void *arg)
{
	struct corio__loopset set = { .n = n, .fn = fn, .arg = arg };
	member *ms;
	unsigned started = 0;
	sigset_t all, old;
	int rc = 0;

	if (n == 0 || !fn)
		return -EINVAL;
	ms = calloc(n, sizeof *ms);
	set.loops = calloc(n, sizeof *set.loops);
	for (unsigned i = 0; set.loops && i < n; i++)
		if (!(set.loops[i] = calloc(1, sizeof **set.loops)))
			rc = -ENOMEM;
	if (!ms || !set.loops || rc != 0) {
		rc = -ENOMEM;
		goto out;
	}
	pthread_mutex_init(&set.lock, NULL);
	pthread_cond_init(&set.cond, NULL);
	/* The loops start with the signals blocked (runtime/threads/signal.h): a process-directed
	 * signal must not kill the process through a loop thread while a task waits for it in
	 * corio_signal_wait. */
	corio__signals_for_threads(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; started < n; started++) {
		ms[started] = (member){ .set = &set, .index = started };
		if (pthread_create(&ms[started].th, NULL, member_main, &ms[started]) != 0)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_lock(&set.lock);
	while (set.inited < started)
		pthread_cond_wait(&set.cond, &set.lock);
	/* A missing thread would leave its loop unserved: run nothing at all then. */
	set.go = started == n ? 1 : -1;
	pthread_cond_broadcast(&set.cond);
	pthread_mutex_unlock(&set.lock);
	rc = join_members(&set, ms, started);
	if (started < n)
		rc = -EAGAIN;
	pthread_cond_destroy(&set.cond);
	pthread_mutex_destroy(&set.lock);
out:
	for (unsigned i = 0; set.loops && i < n; i++)
		free(set.loops[i]);
	free(set.loops);
	free(ms);
	return rc;
}
