/* runtime/util/deque.h: a growable ring of fixed-size elements (a FIFO that can also be read
 * by index), for queues whose length has no fixed bound: accepted descriptors waiting for an
 * accept call, received segments waiting for a read. Header-only.
 *
 * The deque owns its buffer (corio__deque_free releases it); elements are copied in and out
 * by value. Growth doubles the capacity and unwraps the ring, so the order is kept.
 * corio__deque_push is the only call that allocates; it returns -ENOMEM and leaves the deque
 * as it was when that fails.
 */
#ifndef CORIO_UTIL_DEQUE_H
#define CORIO_UTIL_DEQUE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct corio__deque {
	char *buf;
	size_t esize; /* bytes per element, fixed at init */
	size_t head;  /* index of the first element */
	size_t len;   /* elements held */
	size_t cap;   /* elements the buffer holds (0 before the first push) */
} corio__deque;

static inline void corio__deque_init(corio__deque *d, size_t esize)
{
	*d = (corio__deque){ .esize = esize };
}

/* The i-th element from the front (i < len). */
static inline void *corio__deque_at(const corio__deque *d, size_t i)
{
	return d->buf + ((d->head + i) % d->cap) * d->esize;
}

static inline int corio__deque_grow(corio__deque *d)
{
	size_t ncap = d->cap ? d->cap * 2 : 16;
	char *nb = (char *)malloc(ncap * d->esize);

	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i < d->len; i++)
		memcpy(nb + i * d->esize, corio__deque_at(d, i), d->esize);
	free(d->buf);
	d->buf = nb;
	d->cap = ncap;
	d->head = 0;
	return 0;
}

/* Appends a copy of *elem at the back. 0 or -ENOMEM. */
static inline int corio__deque_push(corio__deque *d, const void *elem)
{
	if (d->len == d->cap && corio__deque_grow(d) != 0)
		return -ENOMEM;
	memcpy(d->buf + ((d->head + d->len) % d->cap) * d->esize, elem, d->esize);
	d->len++;
	return 0;
}

/* Copies the front element into *out (when out is not NULL) and drops it. 0, or -ENOENT
 * when empty. */
static inline int corio__deque_pop(corio__deque *d, void *out)
{
	if (!d->len)
		return -ENOENT;
	if (out)
		memcpy(out, corio__deque_at(d, 0), d->esize);
	d->head = (d->head + 1) % d->cap;
	d->len--;
	return 0;
}

static inline void corio__deque_free(corio__deque *d)
{
	free(d->buf);
	corio__deque_init(d, d->esize);
}

#endif
