/* runtime/threads/loops.c: many loops, one per thread: corio_run_threads starts them, and
 * corio_loop_post hands a function to another loop, by IORING_OP_MSG_RING from a loop
 * thread (the kernel posts a CQE straight into the target's ring) or through the target's
 * eventfd mailbox otherwise. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "runtime/core/op.h"
#include "runtime/core/run.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

struct corio__group {
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
	struct corio__group *g;
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
	/* MSG_RING only inside one corio_run_threads group, whose rings all stay open until
	 * every member has finished: the SQE leaves at the sender's next turn, and by then a
	 * plain corio_run target may have ended and its ring fd number may belong to another
	 * ring. Other targets get the mailbox, which checks under its lock. */
	if (self && self->caps.post_msg_ring && self->group && self->group == target->group &&
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

	if (!l || !l->group || i >= l->group->n)
		return NULL;
	return l->group->loops[i];
}

static void drop_leftover_posts(corio__loop *l);

/* Once every loop of the group has drained, nobody can post any more; a MSG_RING that
 * reached this ring after its loop stopped reading sits in the kernel's deferred work
 * (DEFER_TASKRUN) until this thread asks for it: ask, and drop those posts. */
static void settle(struct corio__group *g, corio__loop *l)
{
	pthread_mutex_lock(&g->lock);
	g->finished++;
	pthread_cond_broadcast(&g->cond);
	while (g->finished < g->n)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	if (l) {
		io_uring_get_events(&l->ring);
		drop_leftover_posts(l);
	}
}

static void *member_main(void *p)
{
	member *m = p;
	corio__loop *l = m->g->loops[m->index];
	corio_config cfg;

	struct corio__group *g = m->g;
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
	l->group = g;
	l->index = m->index;
	pthread_mutex_lock(&g->lock);
	g->inited++;
	pthread_cond_broadcast(&g->cond);
	while (!(go = g->go))
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	if (go > 0) {
		if (m->rc == 0)
			m->rc = corio__loop_main(l, g->fn, g->arg, NULL);
		settle(g, m->ring ? l : NULL);
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

static int join_members(struct corio__group *g, member *ms, unsigned started)
{
	int rc = 0;

	for (unsigned i = 0; i < started; i++) {
		pthread_join(ms[i].th, NULL);
		if (rc == 0)
			rc = ms[i].rc;
	}
	for (unsigned i = 0; i < started; i++) {
		corio__loop *l = g->loops[i];

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
	struct corio__group g = { .n = n, .fn = fn, .arg = arg };
	member *ms;
	unsigned started = 0;
	int rc = 0;

	if (n == 0 || !fn)
		return -EINVAL;
	ms = calloc(n, sizeof *ms);
	g.loops = calloc(n, sizeof *g.loops);
	for (unsigned i = 0; g.loops && i < n; i++)
		if (!(g.loops[i] = calloc(1, sizeof **g.loops)))
			rc = -ENOMEM;
	if (!ms || !g.loops || rc != 0) {
		rc = -ENOMEM;
		goto out;
	}
	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.cond, NULL);
	for (; started < n; started++) {
		ms[started] = (member){ .g = &g, .index = started };
		if (pthread_create(&ms[started].th, NULL, member_main, &ms[started]) != 0)
			break;
	}
	pthread_mutex_lock(&g.lock);
	while (g.inited < started)
		pthread_cond_wait(&g.cond, &g.lock);
	/* A missing thread would leave its loop unserved: run nothing at all then. */
	g.go = started == n ? 1 : -1;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	rc = join_members(&g, ms, started);
	if (started < n)
		rc = -EAGAIN;
	pthread_cond_destroy(&g.cond);
	pthread_mutex_destroy(&g.lock);
out:
	for (unsigned i = 0; g.loops && i < n; i++)
		free(g.loops[i]);
	free(g.loops);
	free(ms);
	return rc;
}
