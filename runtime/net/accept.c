/* runtime/net/accept.c: corio_accept served by one multishot accept per listening fd and
 * loop (IORING_OP_ACCEPT + IORING_ACCEPT_MULTISHOT, 5.19; one accept per arm before), the
 * per-thread registry of those listeners, the back-off when descriptors run out, and
 * corio_listen_close. Only corio_accept and corio_listen_close (its close) park.
 *
 * A listener is armed by the first corio_accept and re-armed by its completion whenever
 * the kernel ends the request (a CQE without F_MORE) while somebody waits. Parked callers
 * wait on the listener's wait queue (runtime/sync/waitq.h: FIFO, cancellation and
 * deadlines take them off). Each accepted fd goes straight to the oldest parked caller, or
 * into the listener's queue when nobody waits; a queue past QUEUE_MAX cancels the request
 * (back-pressure into the backlog). EMFILE/ENFILE/ENOBUFS/ENOMEM end the request with the
 * connection still in the kernel's backlog: instead of re-arming at once (a spin), a 10 ms
 * kernel timer re-arms it.
 *
 * Lifetime: the listener is heap memory owned by the registry until it is forgotten
 * (corio_listen_close, or corio_close through the before-close hook the registry
 * registers, runtime/core/close.h); then it lives on until its last CQE (accept, timer)
 * arrived. A listener never closed is cancelled by the loop's drain
 * (IORING_ASYNC_CANCEL_ANY) and its memory stays with the registry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/core/close.h"
#include "runtime/core/ktimer.h"
#include "runtime/net/net_internal.h"
#include "runtime/sync/waitq.h"
#include "runtime/util/deque.h"

#define BACKOFF_NS CORIO_MS(10)
/* Accepted connections nobody has taken yet, beyond which the multishot request is
 * cancelled: the rest wait in the kernel's backlog (back-pressure, as with accept(2)
 * called by nobody) instead of becoming descriptors without an owner. */
#define QUEUE_MAX 256u

typedef struct listener listener;

struct listener {
	corio__completion c;  /* the multishot accept */
	corio__ktimer backoff; /* the back-off timer */
	corio__loop *loop;
	int fd;
	bool armed, timer_armed, forgotten;
	bool pausing;         /* the multishot request is being cancelled: queue full */
	bool single;          /* the kernel has no multishot accept: one accept per arm */
	unsigned fails;       /* transient failures in a row (backs off past a few) */
	corio__deque q;       /* accepted fds (int) nobody took yet, oldest first */
	corio__waitq waiters; /* parked corio_accept callers, oldest first */
};

/* fd -> listener of this thread's loop. Freed when its last entry goes (threads of
 * corio_run_threads end, and LeakSanitizer would see what their TLS pointed to). */
static __thread listener **reg;
static __thread size_t reg_cap, reg_live;

static void arm(listener *ls);

static void drop_queue(listener *ls)
{
	int fd;

	while (corio__deque_pop(&ls->q, &fd) == 0)
		close(fd);
}

static void listener_free(listener *ls)
{
	drop_queue(ls);
	corio__deque_free(&ls->q);
	free(ls);
}

/* A new connection: to the oldest waiter, else to the queue. */
static void hand_out(listener *ls, int fd)
{
	if (ls->forgotten || ls->loop->mbox.closed) {
		close(fd); /* nobody can ever take it: the listener or its loop is gone */
	} else if (corio__waitq_wake_one(&ls->waiters, fd)) {
		/* the oldest parked caller has it */
	} else if (corio__deque_push(&ls->q, &fd) != 0) {
		close(fd); /* out of memory: the client sees a reset, the server goes on */
	} else if (ls->q.len >= QUEUE_MAX && ls->armed && !ls->single && !ls->pausing) {
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
		corio__waitq_wake_all(&ls->waiters, res); /* -EINVAL (not listening), -EBADF, ... */
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
	if (!ls->armed && !ls->timer_armed && !ls->forgotten && !corio__waitq_empty(&ls->waiters))
		arm(ls);
}

static void timer_cqe(corio__completion *c, int32_t res, uint32_t flags)
{
	listener *ls = CORIO__CONTAINER_OF(c, listener, backoff.c);

	ls->timer_armed = false;
	if (finished(ls))
		return;
	if (!ls->armed && !corio__waitq_empty(&ls->waiters) && !ls->forgotten)
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
	corio__waitq_wake_all(&ls->waiters, -EBADF);
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

/* corio_close's hook: inside a task a listener is forgotten before its descriptor closes.
 * Outside one corio_close is a plain close(2) and leaves the registry alone. */
static void close_hook(int fd)
{
	if (corio__net_in_task())
		corio__net_forget(fd);
}

static listener *lookup(corio__loop *l, int fd)
{
	listener *ls;

	if ((size_t)fd < reg_cap && reg[fd]) {
		if (reg[fd]->loop == l)
			return reg[fd];
		forget(reg[fd]);
	}
	/* A new registry: corio_close must know of it (a no-op when already registered). */
	if (!reg && corio__close_hook_add(close_hook) != 0)
		return NULL;
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
	corio__deque_init(&ls->q, sizeof(int));
	corio__waitq_init(&ls->waiters);
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
	struct corio__waiter w = { 0 };
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
	if (corio__deque_pop(&ls->q, &nfd) != 0) {
		/* Armed before the caller is queued by the park: no completion is delivered
		 * until this task has parked, so none can miss it. */
		if (!ls->armed && !ls->timer_armed)
			arm(ls);
		nfd = corio__waitq_park_on(&ls->waiters, &w, "accept", ls);
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
	corio__net_forget(fd); /* outside a task too, where corio_close's hook does nothing */
	return corio_close(fd);
}
