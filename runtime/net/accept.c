/* runtime/net/accept.c: corio_accept served by one multishot accept per listening fd and
 * loop (IORING_OP_ACCEPT + IORING_ACCEPT_MULTISHOT, 5.19), the per-thread registry of those
 * listeners, the back-off when descriptors run out, and corio_listen_close.
 *
 * A listener is armed by the first corio_accept and re-armed by its completion whenever
 * the kernel ends the request (a CQE without F_MORE) while somebody waits. Each accepted
 * fd goes straight to the oldest parked caller, or into the listener's queue when nobody
 * waits; a queue past QUEUE_MAX cancels the request (back-pressure into the backlog). EMFILE/ENFILE/ENOBUFS/ENOMEM end the request with the connection still in the
 * kernel's backlog: instead of re-arming at once (a spin), a 10 ms kernel timer re-arms it.
 *
 * Lifetime: the listener is heap memory owned by the registry until it is forgotten
 * (corio_listen_close, or corio__net_forget from corio_close); then it lives on until its
 * last CQE (accept, timer) arrived. A listener never closed is cancelled by the loop's
 * drain (IORING_ASYNC_CANCEL_ANY) and its memory stays with the registry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/core/ktimer.h"
#include "runtime/net/net_internal.h"

#define BACKOFF_NS CORIO_MS(10)
/* Accepted connections nobody has taken yet, beyond which the multishot request is
 * cancelled: the rest wait in the kernel's backlog (back-pressure, as with accept(2)
 * called by nobody) instead of becoming descriptors without an owner. */
#define QUEUE_MAX 256u

typedef struct listener listener;

typedef struct acc_waiter {
	corio__wait w;
	struct acc_waiter *prev, *next;
	listener *ls;
} acc_waiter;

struct listener {
	corio__completion c;  /* the multishot accept */
	corio__ktimer backoff; /* the back-off timer */
	corio__loop *loop;
	int fd;
	bool armed, timer_armed, forgotten;
	bool pausing;         /* the multishot request is being cancelled: queue full */
	bool single;          /* the kernel has no multishot accept: one accept per arm */
	unsigned fails;       /* transient failures in a row (backs off past a few) */
	int *q;               /* accepted fds nobody took yet: a ring of qcap */
	size_t qhead, qlen, qcap;
	acc_waiter *whead, *wtail;
};

/* fd -> listener of this thread's loop. Freed when its last entry goes (threads of
 * corio_run_threads end, and LeakSanitizer would see what their TLS pointed to). */
static __thread listener **reg;
static __thread size_t reg_cap, reg_live;

static void arm(listener *ls);

static void waiter_remove(listener *ls, acc_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		ls->whead = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		ls->wtail = w->prev;
	w->prev = w->next = NULL;
}

/* A parked caller ends by cancellation or deadline. */
static void waiter_unlink(corio__wait *cw)
{
	acc_waiter *w = cw->data;

	waiter_remove(w->ls, w);
}

static void wake_all(listener *ls, int res)
{
	while (ls->whead) {
		acc_waiter *w = ls->whead;

		waiter_remove(ls, w);
		corio__wait_wake(&w->w, res);
	}
}

static void drop_queue(listener *ls)
{
	for (; ls->qlen; ls->qlen--, ls->qhead = (ls->qhead + 1) % ls->qcap)
		close(ls->q[ls->qhead]);
}

static void listener_free(listener *ls)
{
	drop_queue(ls);
	free(ls->q);
	free(ls);
}

static bool enqueue(listener *ls, int fd)
{
	if (ls->qlen == ls->qcap) {
		size_t cap = ls->qcap ? ls->qcap * 2 : 16;
		int *q = malloc(cap * sizeof *q);

		if (!q)
			return false;
		for (size_t i = 0; i < ls->qlen; i++)
			q[i] = ls->q[(ls->qhead + i) % ls->qcap];
		free(ls->q);
		ls->q = q;
		ls->qcap = cap;
		ls->qhead = 0;
	}
	ls->q[(ls->qhead + ls->qlen) % ls->qcap] = fd;
	ls->qlen++;
	return true;
}

static int dequeue(listener *ls)
{
	int fd = ls->q[ls->qhead];

	ls->qhead = (ls->qhead + 1) % ls->qcap;
	ls->qlen--;
	return fd;
}

/* A new connection: to the oldest waiter, else to the queue. */
static void hand_out(listener *ls, int fd)
{
	if (ls->forgotten || ls->loop->mbox.closed) {
		close(fd); /* nobody can ever take it: the listener or its loop is gone */
	} else if (ls->whead) {
		acc_waiter *w = ls->whead;

		waiter_remove(ls, w);
		corio__wait_wake(&w->w, fd);
	} else if (!enqueue(ls, fd)) {
		close(fd); /* out of memory: the client sees a reset, the server goes on */
	} else if (ls->qlen >= QUEUE_MAX && ls->armed && !ls->single && !ls->pausing) {
		ls->pausing = true;
		corio__submit_cancel(ls->loop, &ls->c);
	}
}

/* Errors that concern one connection only: accept(2) advises to retry. */
static bool transient(int res)
{
	switch (-res) {
	case ECONNABORTED: case EPROTO: case EINTR: case EAGAIN: case ENETDOWN: case ENOPROTOOPT:
	case EHOSTDOWN: case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
	case ECONNRESET: case ETIMEDOUT: case EPERM: case ECANCELED:
		return true;
	}
	return false;
}

static bool out_of_descriptors(int res)
{
	return res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM;
}

static void timer_cqe(corio__completion *c, int32_t res, uint32_t flags);

static void backoff(listener *ls)
{
	if (ls->timer_armed)
		return;
	corio__ktimer_after(ls->loop, &ls->backoff, BACKOFF_NS, timer_cqe);
	ls->timer_armed = true;
}

static bool finished(listener *ls)
{
	if (!ls->forgotten || ls->armed || ls->timer_armed)
		return false;
	listener_free(ls);
	return true;
}

static bool listening(int fd)
{
	int v = 0;
	socklen_t len = sizeof v;

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v;
}

/* One accept result: a connection, or an error and what it calls for. */
static void on_result(listener *ls, int32_t res)
{
	ls->fails = res >= 0 ? 0 : ls->fails + 1;
	if (res >= 0)
		hand_out(ls, res);
	else if (out_of_descriptors(res) && !ls->forgotten)
		backoff(ls);
	else if (res == -EINVAL && !ls->single && listening(ls->fd))
		ls->single = true; /* before 5.19: IORING_ACCEPT_MULTISHOT is refused */
	else if (!transient(res))
		wake_all(ls, res); /* -EINVAL (not listening), -EBADF, -ENOTSOCK, ... */
	else if (ls->fails > 8 && !ls->forgotten)
		backoff(ls); /* a transient error that keeps coming back: no spinning */
}

static void accept_cqe(corio__completion *c, int32_t res, uint32_t flags)
{
	listener *ls = (listener *)c;
	bool paused = false;

	if (!(flags & IORING_CQE_F_MORE))
		ls->armed = false;
	if (!ls->armed && ls->pausing) {
		ls->pausing = false;
		paused = res == -ECANCELED; /* our own pause (queue full): nothing failed */
	}
	if (!paused)
		on_result(ls, res);
	if (finished(ls))
		return;
	/* After a pause too: the queue may have been drained and a caller parked meanwhile. */
	if (!ls->armed && !ls->timer_armed && ls->whead && !ls->forgotten)
		arm(ls);
}

static void timer_cqe(corio__completion *c, int32_t res, uint32_t flags)
{
	listener *ls = CORIO__CONTAINER_OF(c, listener, backoff.c);

	ls->timer_armed = false;
	if (finished(ls))
		return;
	if (!ls->armed && ls->whead && !ls->forgotten)
		arm(ls);
}

static void arm(listener *ls)
{
	struct io_uring_sqe sqe;

	memset(&sqe, 0, sizeof sqe);
	if (ls->single)
		io_uring_prep_accept(&sqe, ls->fd, NULL, NULL, SOCK_CLOEXEC);
	else
		io_uring_prep_multishot_accept(&sqe, ls->fd, NULL, NULL, SOCK_CLOEXEC);
	/* may_fault: an injected error arrives as a final CQE and is handled like a real one. */
	corio__submit(ls->loop, &sqe, &ls->c, NULL, true);
	ls->armed = true;
}

/* ---- registry ---- */

static void reg_clear(int fd)
{
	reg[fd] = NULL;
	if (--reg_live == 0) {
		free(reg);
		reg = NULL;
		reg_cap = 0;
	}
}

static void forget(listener *ls)
{
	corio__loop *l = corio__loop_get();

	reg_clear(ls->fd);
	ls->forgotten = true;
	wake_all(ls, -EBADF);
	drop_queue(ls);
	if (ls->loop != l) {
		/* Left by an earlier loop of this thread: its drain delivered every CQE. */
		listener_free(ls);
		return;
	}
	if (ls->armed)
		corio__submit_cancel(l, &ls->c);
	if (ls->timer_armed)
		corio__ktimer_remove(l, &ls->backoff);
	finished(ls);
}

void corio__net_forget(int fd)
{
	if (fd >= 0 && (size_t)fd < reg_cap && reg[fd])
		forget(reg[fd]);
}

static listener *lookup(corio__loop *l, int fd)
{
	listener *ls;

	if ((size_t)fd < reg_cap && reg[fd]) {
		if (reg[fd]->loop == l)
			return reg[fd];
		forget(reg[fd]);
	}
	if ((size_t)fd >= reg_cap) {
		size_t cap = reg_cap ? reg_cap : 64;
		listener **r;

		while (cap <= (size_t)fd)
			cap *= 2;
		r = realloc(reg, cap * sizeof *r);
		if (!r)
			return NULL;
		memset(r + reg_cap, 0, (cap - reg_cap) * sizeof *r);
		reg = r;
		reg_cap = cap;
	}
	ls = calloc(1, sizeof *ls);
	if (!ls) {
		if (reg_live == 0) {
			free(reg);
			reg = NULL;
			reg_cap = 0;
		}
		return NULL;
	}
	ls->c.fn = accept_cqe;
	ls->loop = l;
	ls->fd = fd;
	reg[fd] = ls;
	reg_live++;
	return ls;
}

static void peer_address(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	if (!addr || !addrlen)
		return;
	/* The multishot request shares one address buffer between all its connections, so
	 * the peer is asked for afterwards. A peer that already reset leaves it empty. */
	if (getpeername(fd, addr, addrlen) != 0)
		*addrlen = 0;
}

int corio_accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	corio__loop *l = corio__loop_get();
	listener *ls;
	acc_waiter w;
	int nfd;

	if (!l || !l->current)
		return -EPERM;
	if (fd < 0)
		return -EBADF;
	if (corio__task_cancel_due(l->current))
		return -ECANCELED;
	ls = lookup(l, fd);
	if (!ls)
		return -ENOMEM;
	if (ls->qlen) {
		nfd = dequeue(ls);
	} else {
		w = (acc_waiter){ .w = { .task = l->current, .unlink = waiter_unlink, .data = &w },
				  .ls = ls, .prev = ls->wtail };
		if (ls->wtail)
			ls->wtail->next = &w;
		else
			ls->whead = &w;
		ls->wtail = &w;
		if (!ls->armed && !ls->timer_armed)
			arm(ls);
		nfd = corio__wait_park(&w.w);
		if (nfd < 0)
			return nfd;
	}
	peer_address(nfd, addr, addrlen);
	return nfd;
}

int corio_listen_close(int fd)
{
	if (fd < 0)
		return -EBADF;
	corio__net_forget(fd);
	return corio__net_close(fd);
}
