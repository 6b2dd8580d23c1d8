/* runtime/sync/chan_order.c: the buffers of the channels that are not FIFO, like
 * asyncio.LifoQueue and asyncio.PriorityQueue: a stack, and a binary min-heap ordered by
 * the channel's cmp and then by a sequence number, so that elements that compare equal
 * leave in the order they were sent (a heap alone is not stable). O(log n) push and pop.
 *
 * Out of line on purpose: chan.c calls in here only for these kinds, so the FIFO path
 * pays one predictable branch for their existence.
 *
 * A heap slot is the element (at the slot's start, so it is as aligned as the slot) and
 * its 8-byte sequence number in the slot's last 8 bytes. Elements move whole slots at a
 * time; the element being inserted or re-seated is compared where it already lies (the
 * sender's buffer, or the heap's last slot, which no move writes to) and copied once. */
#include <string.h>

#include "runtime/sync/chan_internal.h"

size_t corio__chan_prio_stride(size_t elem_size)
{
	/* Slots must keep every element as aligned as its type. Its alignment divides its size
	 * and is at most CORIO__CHAN_ALIGN: that when the size is a multiple of it, else 8 is
	 * enough (and the sequence number wants 8). */
	size_t align = elem_size % CORIO__CHAN_ALIGN == 0 ? CORIO__CHAN_ALIGN : 8;
	size_t s;

	if (__builtin_add_overflow(elem_size, 8 + align - 1, &s))
		return 0;
	return s / align * align;
}

static unsigned char *hslot(corio_chan *ch, size_t i)
{
	uintptr_t base = ((uintptr_t)ch->buf + CORIO__CHAN_ALIGN - 1) & ~(uintptr_t)(CORIO__CHAN_ALIGN - 1);

	return (unsigned char *)base + i * ch->stride;
}

static uint64_t seq_of(const corio_chan *ch, const unsigned char *slot)
{
	uint64_t q;

	memcpy(&q, slot + ch->stride - 8, sizeof q);
	return q;
}

/* Moves one heap slot. The strides of the common element sizes (16 for up to 8 bytes, 32
 * for 16 or 24) are constant-size copies the compiler inlines, as chan.c's elem_copy
 * does; a call into libc's memcpy per level of the heap would cost more than the level. */
static inline void slot_copy(unsigned char *dst, const unsigned char *src, size_t stride)
{
	switch (stride) {
	case 16:
		memcpy(dst, src, 16);
		break;
	case 24:
		memcpy(dst, src, 24);
		break;
	case 32:
		memcpy(dst, src, 32);
		break;
	default:
		memcpy(dst, src, stride);
	}
}

/* Whether element a (sent as number sa) leaves before b (sb). */
static bool before(const corio_chan *ch, const void *a, uint64_t sa, const void *b,
		   uint64_t sb)
{
	int c = ch->cmp(a, b);

	return c < 0 || (c == 0 && sa < sb);
}

static bool slot_before(corio_chan *ch, size_t i, size_t j)
{
	return before(ch, hslot(ch, i), seq_of(ch, hslot(ch, i)), hslot(ch, j),
		      seq_of(ch, hslot(ch, j)));
}

/* Sift up: parents that go after elem move down into the hole until elem fits. */
static void heap_push(corio_chan *ch, const void *elem)
{
	uint64_t seq = ch->seq++;
	size_t i = ch->len;

	while (i > 0) {
		size_t p = (i - 1) / 2;
		unsigned char *ps = hslot(ch, p);

		if (!before(ch, elem, seq, ps, seq_of(ch, ps)))
			break;
		slot_copy(hslot(ch, i), ps, ch->stride);
		i = p;
	}
	memcpy(hslot(ch, i), elem, ch->esz);
	memcpy(hslot(ch, i) + ch->stride - 8, &seq, sizeof seq);
}

/* Takes the root; the last element fills the hole, sifted down from the root. */
static void heap_pop(corio_chan *ch, void *out)
{
	size_t n = ch->len - 1, i = 0, c;

	memcpy(out, hslot(ch, 0), ch->esz);
	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && slot_before(ch, c + 1, c))
			c++;
		if (!slot_before(ch, c, n))
			break;
		slot_copy(hslot(ch, i), hslot(ch, c), ch->stride);
		i = c;
	}
	if (i != n)
		slot_copy(hslot(ch, i), hslot(ch, n), ch->stride);
}

void corio__chan_order_push(corio_chan *ch, const void *elem)
{
	if (ch->kind == CORIO__CHAN_LIFO)
		memcpy(ch->buf + ch->len * ch->esz, elem, ch->esz);
	else
		heap_push(ch, elem);
}

void corio__chan_order_pop(corio_chan *ch, void *out)
{
	if (ch->kind == CORIO__CHAN_LIFO)
		memcpy(out, ch->buf + (ch->len - 1) * ch->esz, ch->esz);
	else
		heap_pop(ch, out);
}
