/* runtime/util/buf.h: a growable byte buffer (pointer, length, capacity) for the places that
 * gather bytes of no fixed size: stream read/write buffers, header blocks, line buffers, the
 * server's output, whole-file reads. Header-only.
 *
 * The buffer owns p (corio__buf_free releases it). Only reserve and append allocate; on
 * -ENOMEM the buffer is unchanged. Growth at least doubles, so appends are amortised O(1).
 * `max` bounds what a hostile peer can make us hold: reserve fails with -EMSGSIZE beyond it
 * (0: no bound other than memory).
 */
#ifndef CORIO_UTIL_BUF_H
#define CORIO_UTIL_BUF_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct corio__buf {
	char *p;
	size_t len;
	size_t cap;
} corio__buf;

#define CORIO__BUF_INIT ((corio__buf){ NULL, 0, 0 })

/* Makes room for `extra` more bytes after len, without growing past max bytes in all (0: no
 * bound). 0, -ENOMEM or -EMSGSIZE. */
static inline int corio__buf_reserve_max(corio__buf *b, size_t extra, size_t max)
{
	size_t need, ncap;
	char *np;

	/* No object can be larger than PTRDIFF_MAX (and GCC, seeing an inlined call with a
	 * huge extra, would otherwise warn that realloc is asked for more). */
	if (extra > (size_t)PTRDIFF_MAX - b->len)
		return -ENOMEM;
	need = b->len + extra;
	if (max && need > max)
		return -EMSGSIZE;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > (size_t)PTRDIFF_MAX / 2 ? need : ncap * 2;
	if (max && ncap > max)
		ncap = max;
	if (!(np = (char *)realloc(b->p, ncap)))
		return -ENOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

static inline int corio__buf_reserve(corio__buf *b, size_t extra)
{
	return corio__buf_reserve_max(b, extra, 0);
}

/* Appends n bytes. data must not point into b (a reserve may move it). 0 or -ENOMEM. */
static inline int corio__buf_append(corio__buf *b, const void *data, size_t n)
{
	int rc = corio__buf_reserve(b, n);

	if (rc != 0)
		return rc;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

static inline void corio__buf_free(corio__buf *b)
{
	free(b->p);
	*b = CORIO__BUF_INIT;
}

#endif
