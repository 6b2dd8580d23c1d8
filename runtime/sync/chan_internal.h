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

#include <stddef.h>
#include <stdint.h>

#include "runtime/sync/waitq.h"

enum { CORIO__CHAN_FIFO, CORIO__CHAN_LIFO, CORIO__CHAN_PRIO };

/* The fields every FIFO send and receive touches come first, as they were before the other
 * orders existed (the FIFO channel is the benchmarked one); a capacity-1 channel's slot
 * still shares the second cache line with them. */
struct corio_chan {
	size_t cap, esz;
	size_t head, len;       /* FIFO: ring buffer, oldest element at head; others: head 0 */
	bool closed;
	unsigned char kind;     /* CORIO__CHAN_* */
	corio__waitq senders;   /* waiter.buf: the element to send (const) */
	corio__waitq receivers; /* waiter.buf: where to put the element */
	size_t unfinished;      /* sent and not yet accounted for by corio_chan_task_done */
	corio__waitq joiners;   /* corio_chan_join, woken when unfinished reaches 0 */
	/* Priority channels only: the order, the sequence number of the next element sent
	 * (it breaks ties, so equal elements leave in the order they came) and the bytes per
	 * buffered element (the element, then its sequence number). */
	int (*cmp)(const void *a, const void *b);
	uint64_t seq;
	size_t stride;
	/* cap elements of esz bytes (FIFO, LIFO), or for a priority channel cap slots of
	 * stride bytes from the first CORIO__CHAN_ALIGN-aligned byte (CORIO__CHAN_ALIGN - 1
	 * more are allocated), so that its cmp gets aligned elements. */
	unsigned char buf[];
};

/* malloc's alignment, and the most any element type can need from it. */
#define CORIO__CHAN_ALIGN 16

/* Bytes per buffered element of a priority channel of elem_size elements; 0 on
 * overflow. */
size_t corio__chan_prio_stride(size_t elem_size);

/* The non-FIFO buffers. push copies elem in, pop copies the element that leaves next into
 * out; both are called with ch->len before the caller changes it (push: len < cap, pop:
 * len > 0). */
void corio__chan_order_push(corio_chan *ch, const void *elem);
void corio__chan_order_pop(corio_chan *ch, void *out);

#endif
