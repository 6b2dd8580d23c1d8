/* runtime/threads/xchan.c: corio_xchan, a bounded channel between loops on different threads.
 *
 * A mutex guards the buffer and two FIFO queues of parked tasks. A waker takes a waiter
 * off its queue and hands it its result under the lock (the element is copied straight
 * into or out of the parked task's buffer), then wakes it: directly when the waiter is on
 * the waker's own loop, otherwise by a message to the waiter's loop mailbox (an eventfd
 * read on that ring, no polling). A waiter whose wait ends by cancellation or timeout
 * takes itself off its queue; if a waker got there first, the hand-off stands: the waiter
 * waits (shielded) for the wake-up message, which points into its stack, and returns 0. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <corio/sync.h>

#include "runtime/core/task.h"
#include "runtime/sync/waitq.h"

typedef struct xwaiter xwaiter;

struct corio_xchan {
	pthread_mutex_t lock;
	size_t cap, esize, head, len;
	unsigned char *buf;
	bool closed;
	corio__list senders, receivers; /* xwaiter, in arrival order */
};

struct xwaiter {
	corio__wait w;
	corio__msg msg;     /* the wake-up, when the waker runs on another loop */
	corio__loop *loop;
	corio_xchan *ch;
	corio__list *q;     /* the queue it is on; NULL once off it (under ch->lock) */
	corio__lnode link;  /* on q */
	void *elem;         /* send: the element; receive: where it goes */
	int result;         /* set by the waker: 0 or -EPIPE */
	bool handed;        /* a waker took it off its queue: a wake-up is on its way */
	bool arrived;       /* that wake-up reached the waiter's loop (loop thread only) */
};

static void q_push(corio__list *q, xwaiter *x)
{
	x->q = q;
	corio__list_push_back(q, &x->link);
}

static void q_remove(xwaiter *x)
{
	corio__list_remove(x->q, &x->link);
	x->q = NULL;
}

/* The oldest waiter of q, NULL when there is none. */
static xwaiter *q_first(const corio__list *q)
{
	return q->head ? CORIO__CONTAINER_OF(q->head, xwaiter, link) : NULL;
}

/* Runs on the waiter's loop. */
static void arrive(corio__loop *l, corio__msg *m)
{
	xwaiter *x = (xwaiter *)((char *)m - offsetof(xwaiter, msg));

	x->arrived = true;
	corio__wait_wake(&x->w, 0);
}

static void drop(corio__msg *m)
{
	(void)m; /* a parked waiter keeps its loop running: cannot happen */
}

/* With ch->lock held: takes the first waiter of q and hands it result. */
static xwaiter *hand_first(corio__list *q, int result)
{
	xwaiter *x = q_first(q);

	if (!x)
		return NULL;
	q_remove(x);
	x->result = result;
	x->handed = true;
	if (x->loop == corio__loop_get())
		arrive(x->loop, &x->msg);
	else
		corio__mailbox_post(x->loop, &x->msg);
	return x;
}

/* The core's unlink hook, on cancellation or timeout. */
static void unlink_waiter(corio__wait *w)
{
	xwaiter *x = w->data;

	pthread_mutex_lock(&x->ch->lock);
	if (x->q)
		q_remove(x);
	pthread_mutex_unlock(&x->ch->lock);
}

static void *await_arrival(void *p)
{
	xwaiter *x = p;

	while (!x->arrived) {
		x->w.woken = false;
		corio__wait_park(&x->w);
	}
	return NULL;
}

/* Called with ch->lock held and x filled in; parks on q, returns with the lock released. */
static int park(corio_xchan *ch, corio__list *q, xwaiter *x)
{
	corio__loop *l = corio__loop_get();
	int rc = corio__mailbox_arm(l);
	bool handed;

	if (rc != 0) {
		pthread_mutex_unlock(&ch->lock);
		return rc;
	}
	x->loop = l;
	x->ch = ch;
	x->msg = (corio__msg){ .run = arrive, .drop = drop };
	x->w = (corio__wait){ .task = l->current, .unlink = unlink_waiter, .data = x,
			      .what = "xchan", .obj = ch };
	q_push(q, x);
	pthread_mutex_unlock(&ch->lock);
	l->external++; /* another thread may wake us: not a deadlock while we wait */
	rc = corio__wait_park(&x->w);
	if (rc < 0) {
		pthread_mutex_lock(&ch->lock);
		handed = x->handed;
		pthread_mutex_unlock(&ch->lock);
		if (handed) {
			corio_shield(await_arrival, x);
			rc = 0;
		}
	}
	l->external--;
	return rc < 0 ? rc : x->result;
}

corio_xchan *corio_xchan_new(size_t capacity, size_t elem_size)
{
	corio_xchan *ch;

	if (capacity == 0 || elem_size == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (capacity > SIZE_MAX / elem_size) {
		errno = ENOMEM;
		return NULL;
	}
	ch = calloc(1, sizeof *ch);
	if (!ch)
		return NULL;
	ch->buf = malloc(capacity * elem_size);
	if (!ch->buf) {
		free(ch);
		return NULL;
	}
	ch->cap = capacity;
	ch->esize = elem_size;
	pthread_mutex_init(&ch->lock, NULL);
	return ch;
}

static void *slot(corio_xchan *ch, size_t i)
{
	return ch->buf + ((ch->head + i) % ch->cap) * ch->esize;
}

/* With the lock held: 0 when elem went to a receiver or the buffer, -EAGAIN when full. */
static int put(corio_xchan *ch, const void *elem)
{
	xwaiter *r;

	if (ch->closed)
		return -EPIPE;
	r = q_first(&ch->receivers);
	if (r) {
		memcpy(r->elem, elem, ch->esize);
		hand_first(&ch->receivers, 0);
		return 0;
	}
	if (ch->len == ch->cap)
		return -EAGAIN;
	memcpy(slot(ch, ch->len), elem, ch->esize);
	ch->len++;
	return 0;
}

/* With the lock held: 0 when an element was taken, -EAGAIN when empty (-EPIPE if closed). */
static int take(corio_xchan *ch, void *elem)
{
	xwaiter *s;

	if (ch->len == 0)
		return ch->closed ? -EPIPE : -EAGAIN;
	memcpy(elem, slot(ch, 0), ch->esize);
	ch->head = (ch->head + 1) % ch->cap;
	ch->len--;
	/* Room again: the first parked sender's element moves in, in arrival order. */
	s = q_first(&ch->senders);
	if (s) {
		memcpy(slot(ch, ch->len), s->elem, ch->esize);
		ch->len++;
		hand_first(&ch->senders, 0);
	}
	return 0;
}

int corio_xchan_try_send(corio_xchan *ch, const void *elem)
{
	int rc;

	if (!ch || !elem)
		return -EINVAL;
	pthread_mutex_lock(&ch->lock);
	rc = put(ch, elem);
	pthread_mutex_unlock(&ch->lock);
	return rc;
}

int corio_xchan_try_recv(corio_xchan *ch, void *elem)
{
	int rc;

	if (!ch || !elem)
		return -EINVAL;
	pthread_mutex_lock(&ch->lock);
	rc = take(ch, elem);
	pthread_mutex_unlock(&ch->lock);
	return rc;
}

/* The blocking send and receive: try under the lock, else park on the side's queue (park
 * releases the lock). elem is read (send) or written (receive) by whoever hands over. */
static int transfer(corio_xchan *ch, void *elem, bool send)
{
	xwaiter x = { .elem = elem };
	int rc;

	if (!ch || !elem)
		return -EINVAL;
	rc = corio__wait_check();
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&ch->lock);
	rc = send ? put(ch, elem) : take(ch, elem);
	if (rc != -EAGAIN) {
		pthread_mutex_unlock(&ch->lock);
		return rc;
	}
	return park(ch, send ? &ch->senders : &ch->receivers, &x);
}

int corio_xchan_send(corio_xchan *ch, const void *elem)
{
	return transfer(ch, (void *)elem, true);
}

int corio_xchan_recv(corio_xchan *ch, void *elem)
{
	return transfer(ch, elem, false);
}

void corio_xchan_close(corio_xchan *ch)
{
	if (!ch)
		return;
	pthread_mutex_lock(&ch->lock);
	ch->closed = true;
	while (hand_first(&ch->senders, -EPIPE))
		;
	while (hand_first(&ch->receivers, -EPIPE))
		;
	pthread_mutex_unlock(&ch->lock);
}

size_t corio_xchan_len(corio_xchan *ch)
{
	size_t n;

	if (!ch)
		return 0;
	pthread_mutex_lock(&ch->lock);
	n = ch->len;
	pthread_mutex_unlock(&ch->lock);
	return n;
}

void corio_xchan_free(corio_xchan *ch)
{
	if (!ch)
		return;
	pthread_mutex_destroy(&ch->lock);
	free(ch->buf);
	free(ch);
}
