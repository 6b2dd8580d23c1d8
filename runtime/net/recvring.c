/* runtime/net/recvring.c: corio_receiver, the multishot receive path: one
 * IORING_OP_RECV with IORING_RECV_MULTISHOT (6.0) per connection stays armed, the kernel
 * picks a buffer from a per-loop provided-buffer ring (io_uring_register_buf_ring, 5.19;
 * made by bufring.c) for each arrival, and corio_receiver_recv copies out of it and gives
 * the buffer back.
 * One SQE serves many receives.
 *
 * The buffer pool belongs to the thread's loop and lives while receivers (including
 * freed ones whose final CQE is still owed) use it; the last one unregisters it. When the
 * pool runs dry the kernel ends a receiver's request with -ENOBUFS: it is re-armed when
 * buffers come back (never in a loop against an empty pool).
 *
 * One connection must not take the pool from the others by sending while its reader is
 * busy: a receiver holding HOLD_MAX unread buffers has its request cancelled (paused) and
 * re-armed when its reader has taken everything. Meanwhile the data waits in the socket,
 * where TCP's window pushes back on the sender. The kernel may still fill a few buffers
 * before the cancel lands (it retries a multishot receive up to 32 times per wakeup), so
 * HOLD_MAX bounds a connection's share, not exactly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "runtime/net/net_internal.h"
#include "runtime/net/receiver_ext.h"
#include "runtime/util/deque.h"
#include "runtime/util/list.h"

#define POOL_BUFS 512u          /* a power of two (ring entries) */
#define POOL_BUFSZ 16384u
#define POOL_BGID 0x4e54        /* buffer group id: "NT" */
#define HOLD_MAX 4u             /* unread buffers that pause a receiver (64 KiB) */

typedef struct bufpool bufpool;

typedef struct seg {
	uint16_t bid;
	uint32_t off, len;
} seg;

struct corio_receiver {
	corio__completion c;
	corio__loop *loop;
	bufpool *pool;
	int fd;
	bool armed, freed, eof, starved, paused;
	int err;
	corio__deque q;           /* received segments (seg) not read yet, oldest first */
	corio__wait *waiter;
	corio__lnode starved_link; /* on the pool's starved list while starved */
};

struct bufpool {
	corio__loop *loop;
	corio__bufring ring;  /* bufring.c */
	unsigned refs;
	corio__list starved;  /* receivers whose request ended for lack of buffers */
};

static __thread bufpool *pool_tls;

static void pool_put(bufpool *p, uint16_t bid);
static void arm(corio_receiver *r);

static bufpool *pool_get(corio__loop *l, int *err)
{
	bufpool *p = pool_tls;

	if (p && p->loop == l) {
		p->refs++;
		return p;
	}
	p = calloc(1, sizeof *p);
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->loop = l;
	*err = corio__bufring_init(&l->ring, &p->ring, POOL_BUFS, POOL_BUFSZ, POOL_BGID);
	if (*err != 0) {
		free(p);
		return NULL;
	}
	p->refs = 1;
	pool_tls = p; /* a pool of an earlier loop on this thread was released with it */
	return p;
}

static void pool_release(bufpool *p)
{
	if (--p->refs)
		return;
	corio__bufring_fini(&p->loop->ring, &p->ring);
	if (pool_tls == p)
		pool_tls = NULL;
	free(p);
}

/* Gives buffer bid back to the kernel and re-arms receivers that starved. */
static void pool_put(bufpool *p, uint16_t bid)
{
	corio__bufring_put(&p->ring, bid);
	for (corio__lnode *n; (n = corio__list_pop_front(&p->starved));) {
		corio_receiver *r = CORIO__CONTAINER_OF(n, corio_receiver, starved_link);

		r->starved = false;
		if (!r->armed && !r->freed && !r->eof && !r->err)
			arm(r);
	}
}

static void wake(corio_receiver *r)
{
	if (r->waiter) {
		corio__wait *w = r->waiter;

		r->waiter = NULL;
		corio__wait_wake(w, 0);
	}
}

static void receiver_destroy(corio_receiver *r)
{
	bufpool *p = r->pool;
	seg s;

	while (corio__deque_pop(&r->q, &s) == 0)
		pool_put(p, s.bid);
	corio__deque_free(&r->q);
	free(r);
	pool_release(p);
}

static void recv_cqe(corio__completion *c, int32_t res, uint32_t flags)
{
	corio_receiver *r = (corio_receiver *)c;

	if (!(flags & IORING_CQE_F_MORE))
		r->armed = false;
	if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
		seg s = { .bid = (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT),
			  .len = (uint32_t)res };

		if (r->freed || corio__deque_push(&r->q, &s) != 0) {
			pool_put(r->pool, s.bid);
			if (!r->freed)
				r->err = -ENOMEM;
		} else if (r->q.len >= HOLD_MAX && r->armed && !r->paused) {
			r->paused = true; /* its final CQE (-ECANCELED) ends the pause's cancel */
			corio__submit_cancel(r->loop, &r->c);
		}
	} else if (res == 0) {
		r->eof = true;
	} else if (res == -ENOBUFS) {
		if (!r->freed && !r->starved) {
			r->starved = true;
			corio__list_push_front(&r->pool->starved, &r->starved_link);
		}
	} else if (res < 0 && res != -EINTR && res != -EAGAIN &&
		   !(res == -ECANCELED && (r->freed || r->paused))) {
		r->err = res;
	}
	if (!r->armed)
		r->paused = false;
	if (r->freed) {
		if (!r->armed)
			receiver_destroy(r);
		return;
	}
	wake(r);
}

static void arm(corio_receiver *r)
{
	struct io_uring_sqe sqe;

	memset(&sqe, 0, sizeof sqe);
	io_uring_prep_recv_multishot(&sqe, r->fd, NULL, 0, 0);
	sqe.flags |= IOSQE_BUFFER_SELECT;
	sqe.buf_group = POOL_BGID;
	corio__submit(r->loop, &sqe, &r->c, NULL, true);
	r->armed = true;
}

corio_receiver *corio_receiver_new(int fd)
{
	corio__loop *l = corio__loop_get();
	corio_receiver *r;
	int err = 0;

	if (!l || fd < 0) {
		errno = l ? EBADF : EPERM;
		return NULL;
	}
	if (!corio_caps_has_op(&l->caps, IORING_OP_RECV)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->pool = pool_get(l, &err);
	if (!r->pool) {
		free(r);
		errno = -err;
		return NULL;
	}
	r->c.fn = recv_cqe;
	corio__deque_init(&r->q, sizeof(seg));
	/* Its queue now rather than at the first arrival: beside the receiver in the heap,
	 * not after whatever the connection allocated meanwhile. */
	if (corio__deque_grow(&r->q) != 0) {
		pool_release(r->pool);
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->loop = l;
	r->fd = fd;
	arm(r); /* receiving starts now: data arriving before the first read is kept */
	return r;
}

/* CORIO_FAULTS "short" rules for recv shorten a read here, where the receiver hands data
 * out: the multishot request itself has no length to shorten. Like every injected fault,
 * nothing is lost (the rest stays queued). */
static size_t fault_len(corio__loop *l, size_t len)
{
	struct io_uring_sqe probe = { .opcode = IORING_OP_RECV };
	bool touched = false;

	if (!l->faults.nrules || len < 2)
		return len;
	probe.len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	probe.fd = -1;
	if (corio__faults_apply(&l->faults, &probe, ++l->op_seq, &touched) != 0)
		return len; /* errno rules act on the multishot request when it is armed */
	l->stats.faults_injected += touched;
	return probe.len;
}

/* Copies from the queued buffers; returns buffers fully consumed to the pool. */
static size_t take(corio_receiver *r, char *buf, size_t len)
{
	size_t done = 0;

	while (done < len && r->q.len) {
		seg *s = corio__deque_at(&r->q, 0);
		size_t n = s->len - s->off < len - done ? s->len - s->off : len - done;

		memcpy(buf + done, corio__bufring_buf(&r->pool->ring, s->bid) + s->off, n);
		s->off += (uint32_t)n;
		done += n;
		if (s->off == s->len) {
			uint16_t bid = s->bid;

			corio__deque_pop(&r->q, NULL);
			pool_put(r->pool, bid);
		}
	}
	return done;
}

/* corio_receiver_recv, or with wait_only corio__receiver_wait: returns 0 as soon as
 * something (bytes, EOF, an error) is there to read, without taking it. */
static ssize_t receive(corio_receiver *r, void *buf, size_t len, bool wait_only)
{
	corio__loop *l = corio__loop_get();
	corio__wait w;
	int rc;

	if (!r || (!buf && len))
		return -EINVAL;
	if (!l || !l->current)
		return -EPERM;
	if (r->loop != l)
		return -EINVAL;
	if (r->waiter)
		return -EBUSY;
	for (;;) {
		if (corio__task_cancel_due(l->current))
			return -ECANCELED;
		if (wait_only && (r->q.len || r->err || r->eof))
			return 0;
		if (r->q.len && len)
			return (ssize_t)take(r, buf, fault_len(l, len));
		if (r->err) {
			rc = r->err;
			r->err = 0; /* reported once; the next call re-arms */
			return rc;
		}
		if (r->eof || (len == 0 && !wait_only))
			return 0;
		if (!r->armed && !r->starved)
			arm(r);
		w = (corio__wait){ .task = l->current, .what = "receiver", .obj = r };
		r->waiter = &w;
		rc = corio__wait_park(&w);
		/* -EBADF: corio_receiver_free woke us and r may be gone (its final CQE can come
		 * before we run); otherwise r lives, since a free wakes its waiter first. */
		if (rc == -EBADF)
			return rc;
		if (r->waiter == &w)
			r->waiter = NULL; /* ended by cancellation or deadline */
		if (rc < 0)
			return rc;
	}
}

ssize_t corio_receiver_recv(corio_receiver *r, void *buf, size_t len)
{
	return receive(r, buf, len, false);
}

int corio__receiver_wait(corio_receiver *r)
{
	return (int)receive(r, NULL, 0, true);
}

void corio_receiver_free(corio_receiver *r)
{
	if (!r)
		return;
	r->freed = true;
	if (r->waiter) {
		corio__wait *w = r->waiter;

		r->waiter = NULL;
		corio__wait_wake(w, -EBADF);
	}
	if (r->starved) {
		corio__list_remove(&r->pool->starved, &r->starved_link);
		r->starved = false;
	}
	if (r->armed && corio__loop_get() == r->loop)
		corio__submit_cancel(r->loop, &r->c);
	else if (!r->armed)
		receiver_destroy(r);
}
