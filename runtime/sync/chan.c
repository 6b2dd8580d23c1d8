/* runtime/sync/chan.c: corio_chan, the bounded channel of fixed-size elements (capacity 0:
 * rendezvous), with direct hand-off between a sender and a parked receiver: the calls, the
 * FIFO ring, and the hooks of the other orders (chan_order.c) and of task_done / join
 * (chan_join.c). The layout is in chan_internal.h.
 *
 * Invariants (single loop, no task runs between two statements here):
 *   - receivers are parked only while nothing is buffered and no sender is parked;
 *   - senders are parked only while the buffer is full (always, for capacity 0).
 * So a send first serves a parked receiver, a receive first drains the buffer and refills
 * it from the first parked sender, and element order is arrival order (or the channel's
 * order, for LIFO and priority channels). A parked waiter's buf points into its own
 * (parked, hence stable) stack frame until it is popped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/sync/chan_internal.h"

/* A channel of cap slots of stride bytes each, and pad bytes more; NULL with errno. */
static corio_chan *chan_new(size_t capacity, size_t elem_size, size_t stride, size_t pad)
{
	corio_chan *ch;
	size_t bytes;

	if (elem_size == 0 || stride == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (__builtin_mul_overflow(capacity, stride, &bytes) ||
	    __builtin_add_overflow(bytes, sizeof *ch + pad, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	ch = malloc(bytes);
	if (!ch)
		return NULL;
	*ch = (corio_chan){ .cap = capacity, .esz = elem_size, .stride = stride };
	return ch;
}

corio_chan *corio_chan_new(size_t capacity, size_t elem_size)
{
	return chan_new(capacity, elem_size, elem_size, 0);
}

corio_chan *corio_chan_new_lifo(size_t capacity, size_t elem_size)
{
	corio_chan *ch;

	if (capacity == 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((ch = chan_new(capacity, elem_size, elem_size, 0)))
		ch->kind = CORIO__CHAN_LIFO;
	return ch;
}

corio_chan *corio_chan_new_priority(size_t capacity, size_t elem_size,
				    int (*cmp)(const void *a, const void *b))
{
	corio_chan *ch;
	size_t stride = corio__chan_prio_stride(elem_size);

	if (capacity == 0 || elem_size == 0 || !cmp) {
		errno = EINVAL;
		return NULL;
	}
	if (stride == 0) {
		errno = ENOMEM;
		return NULL;
	}
	if ((ch = chan_new(capacity, elem_size, stride, CORIO__CHAN_ALIGN - 1))) {
		ch->kind = CORIO__CHAN_PRIO;
		ch->cmp = cmp;
	}
	return ch;
}

/* Copies one element. The common sizes (a pointer, an int, a pair) are constant-size
 * copies the compiler inlines; a call into libc's memcpy cost a fifth of an item's
 * instructions in the capacity-1 benchmark. */
static inline void elem_copy(void *dst, const void *src, size_t esz)
{
	switch (esz) {
	case 4:
		memcpy(dst, src, 4);
		break;
	case 8:
		memcpy(dst, src, 8);
		break;
	case 16:
		memcpy(dst, src, 16);
		break;
	default:
		memcpy(dst, src, esz);
	}
}

static void *slot(corio_chan *ch, size_t i)
{
	size_t k = ch->head + i;

	if (k >= ch->cap)
		k -= ch->cap;
	return ch->buf + k * ch->esz;
}

/* The buffer's two ends, the only places where the channel's kind matters: the FIFO ring
 * inline (the benchmarked path pays one predictable branch), the other orders out of line
 * (chan_order.c). */
static inline void buf_push(corio_chan *ch, const void *elem)
{
	if (__builtin_expect(ch->kind != CORIO__CHAN_FIFO, 0))
		corio__chan_order_push(ch, elem);
	else
		elem_copy(slot(ch, ch->len), elem, ch->esz);
	ch->len++;
}

static inline void buf_pop(corio_chan *ch, void *out)
{
	if (__builtin_expect(ch->kind != CORIO__CHAN_FIFO, 0)) {
		corio__chan_order_pop(ch, out);
	} else {
		elem_copy(out, slot(ch, 0), ch->esz);
		ch->head = ch->head + 1 == ch->cap ? 0 : ch->head + 1;
	}
	ch->len--;
}

/* Hands elem to the first parked receiver; false when none is parked. */
static bool give_to_receiver(corio_chan *ch, const void *elem)
{
	struct corio__waiter *r = corio__waitq_pop(&ch->receivers);

	if (!r)
		return false;
	elem_copy(r->buf, elem, ch->esz);
	corio__waiter_wake(r, 0);
	return true;
}

/* Takes the next element into out: from the buffer (refilled from the first parked
 * sender, whose send completes then and counts as unfinished) or, when nothing is
 * buffered, straight from a parked sender. False when there is none. */
static bool take(corio_chan *ch, void *out)
{
	struct corio__waiter *s;

	if (ch->len > 0) {
		buf_pop(ch, out);
		if ((s = corio__waitq_pop(&ch->senders))) {
			buf_push(ch, s->buf);
			ch->unfinished++;
			corio__waiter_wake(s, 0);
		}
		return true;
	}
	if ((s = corio__waitq_pop(&ch->senders))) {
		elem_copy(out, s->buf, ch->esz);
		ch->unfinished++;
		corio__waiter_wake(s, 0);
		return true;
	}
	return false;
}

/* A send that needs no parking: 0, -EPIPE, or -EAGAIN. */
static int put(corio_chan *ch, const void *elem)
{
	if (ch->closed)
		return -EPIPE;
	if (!give_to_receiver(ch, elem)) {
		if (ch->len == ch->cap)
			return -EAGAIN;
		buf_push(ch, elem);
	}
	ch->unfinished++; /* sent: buffered or handed over */
	return 0;
}

int corio_chan_try_send(corio_chan *ch, const void *elem)
{
	if (!ch || !elem)
		return -EINVAL;
	return put(ch, elem);
}

/* A receive that needs no parking: 0, -EPIPE (closed and drained), or -EAGAIN. */
static int get(corio_chan *ch, void *elem)
{
	if (take(ch, elem))
		return 0;
	return ch->closed ? -EPIPE : -EAGAIN;
}

int corio_chan_try_recv(corio_chan *ch, void *elem)
{
	if (!ch || !elem)
		return -EINVAL;
	return get(ch, elem);
}

/* The blocking send and receive: try, else park on the side's queue. After
 * corio__waitq_park returns, ch is not touched again: corio_chan_free may have woken us
 * (-EPIPE) and freed it. */
static int transfer(corio_chan *ch, void *elem, bool send)
{
	struct corio__waiter wt;
	int rc;

	if (!ch || !elem)
		return -EINVAL;
	if ((rc = corio__wait_check()) != 0)
		return rc;
	if ((rc = send ? put(ch, elem) : get(ch, elem)) != -EAGAIN)
		return rc;
	wt.buf = elem;
	return corio__waitq_park_on(send ? &ch->senders : &ch->receivers, &wt,
				    send ? "chan send" : "chan recv", ch);
}

int corio_chan_send(corio_chan *ch, const void *elem)
{
	return transfer(ch, (void *)elem, true);
}

int corio_chan_recv(corio_chan *ch, void *elem)
{
	return transfer(ch, elem, false);
}

void corio_chan_close(corio_chan *ch)
{
	if (!ch || ch->closed)
		return;
	ch->closed = true;
	/* Parked senders' elements are not delivered; parked receivers imply an empty buffer,
	 * so they are drained already. */
	corio__waitq_wake_all(&ch->senders, -EPIPE);
	corio__waitq_wake_all(&ch->receivers, -EPIPE);
}

void corio_chan_free(corio_chan *ch)
{
	if (!ch)
		return;
	corio_chan_close(ch);
	/* Joiners are not woken by a close (buffered elements are still unfinished). */
	corio__waitq_wake_all(&ch->joiners, -EPIPE);
	free(ch);
}

size_t corio_chan_len(const corio_chan *ch)
{
	return ch ? ch->len : 0;
}

size_t corio_chan_cap(const corio_chan *ch)
{
	return ch ? ch->cap : 0;
}
