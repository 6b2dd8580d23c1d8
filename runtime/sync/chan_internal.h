/* runtime/sync/chan_internal.h: the layout of a corio_chan, shared by the files that make
 * one up: chan.c (the calls, the FIFO ring, hand-offs), chan_order.c (the LIFO and
 * priority buffers) and chan_join.c (task_done / join).
 *
 * The buffer's order matters only where an element enters or leaves it; everything else
 * (hand-off to a parked receiver, parked senders, close) is the same for every kind. So
 * the kind is one byte, tested where the buffer is pushed or popped, and the FIFO ring,
 * the benchmarked case, stays inline in chan.c. */
#ifndef CORIO_SYNC_CHAN_INTERNAL_H
#define CORIO_SYNC_CHAN_INTERNAL_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/sync/waitq.h"

enum { CORIO__CHAN_FIFO, CORIO__CHAN_LIFO, CORIO__CHAN_PRIO };

struct corio_chan {
	size_t cap, esz;
	size_t head, len;       /* FIFO: ring buffer, oldest element at head; others: head 0 */
	size_t unfinished;      /* sent and not yet accounted for by corio_chan_task_done */
	bool closed;
	unsigned char kind;     /* CORIO__CHAN_* */
	corio__waitq senders;   /* waiter.buf: the element to send (const) */
	corio__waitq receivers; /* waiter.buf: where to put the element */
	corio__waitq joiners;   /* corio_chan_join, woken when unfinished reaches 0 */
	/* Priority channels only: the order, the sequence number of the next element sent
	 * (it breaks ties, so equal elements leave in the order they came) and the bytes per
	 * buffered element (the element, then its sequence number). */
	int (*cmp)(const void *a, const void *b);
	uint64_t seq;
	size_t stride;
	/* cap elements of esz bytes (FIFO, LIFO) or stride bytes (priority). Aligned like
	 * malloc's memory, so that a priority channel's cmp gets aligned elements. */
	alignas(max_align_t) unsigned char buf[];
};

/* Bytes per buffered element of a priority channel of elem_size elements; 0 on
 * overflow. */
size_t corio__chan_prio_stride(size_t elem_size);

/* The non-FIFO buffers. push copies elem in, pop copies the element that leaves next into
 * out; both are called with ch->len before the caller changes it (push: len < cap, pop:
 * len > 0). */
void corio__chan_order_push(corio_chan *ch, const void *elem);
void corio__chan_order_pop(corio_chan *ch, void *out);

#endif
