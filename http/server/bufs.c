/* http/server/bufs.c: the connections' input buffers, one pool per server loop. A buffer is
 * taken when a connection starts or wakes from lean (conn.c) and given back when it goes
 * lean or closes. They are carved from mappings of their own rather than the heap: freed
 * to the heap, a 16 KiB buffer left a hole between the structs of live connections that
 * glibc could return only in part (5 KiB of heap per idle connection, README "Memory
 * under load"). Free ones are reused newest first (their pages are resident: no fault);
 * those no connection took for a whole trim period, beyond BUFS_KEEP, give their pages
 * back (corio__hserver_bufs_trim, once a second from server.c). Never parks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http/server/server_internal.h"

#define BUFS_PER_SLAB 64u
#define BUFS_KEEP 16u /* free buffers a trim leaves resident */

struct corio__hserver_slab {
	corio__hserver_slab *next;
	char *base;
	size_t len;
};

/* One more slab of BUFS_PER_SLAB buffers on the free list. 0 or -ENOMEM. */
static int slab_add(corio__hserver_bufs *b)
{
	size_t len = b->size * BUFS_PER_SLAB;
	corio__hserver_slab *s;
	char *base;

	/* a slot for every buffer, so that a put never needs to grow the list */
	if (b->total + BUFS_PER_SLAB > b->cap) {
		unsigned cap = b->cap ? b->cap * 2 : BUFS_PER_SLAB;
		char **f;

		while (cap < b->total + BUFS_PER_SLAB)
			cap *= 2;
		if (!(f = realloc(b->free, cap * sizeof *f)))
			return -ENOMEM;
		b->free = f;
		b->cap = cap;
	}
	if (!(s = malloc(sizeof *s)))
		return -ENOMEM;
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (base == MAP_FAILED) {
		free(s);
		return -ENOMEM;
	}
	*s = (corio__hserver_slab){ .next = b->slabs, .base = base, .len = len };
	b->slabs = s;
	/* New buffers go under the free ones: never touched, they count as trimmed. */
	memmove(b->free + BUFS_PER_SLAB, b->free, b->nfree * sizeof *b->free);
	for (unsigned i = 0; i < BUFS_PER_SLAB; i++)
		b->free[i] = base + (size_t)i * b->size;
	b->nfree += BUFS_PER_SLAB;
	b->ntrimmed += BUFS_PER_SLAB;
	b->total += BUFS_PER_SLAB;
	return 0;
}

void corio__hserver_bufs_init(corio__hserver_bufs *b, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	*b = (corio__hserver_bufs){ .size = (size + page - 1) & ~(page - 1) };
}

char *corio__hserver_buf_get(corio__hserver_bufs *b)
{
	if (!b->nfree && slab_add(b) != 0)
		return NULL;
	if (--b->nfree < b->low)
		b->low = b->nfree;
	if (b->nfree < b->ntrimmed)
		b->ntrimmed = b->nfree;
	return b->free[b->nfree];
}

void corio__hserver_buf_put(corio__hserver_bufs *b, char *p)
{
	if (p)
		b->free[b->nfree++] = p; /* every buffer has its slot (slab_add) */
}

/* The free list is oldest first: [0, ntrimmed) hold no page; of the rest, the ones below
 * the period's low-water mark (never taken since the last trim) beyond BUFS_KEEP give their
 * pages back. */
void corio__hserver_bufs_trim(corio__hserver_bufs *b)
{
	unsigned upto = b->low > BUFS_KEEP ? b->low - BUFS_KEEP : 0;

	for (unsigned i = b->ntrimmed; i < upto; i++)
		madvise(b->free[i], b->size, MADV_DONTNEED);
	if (upto > b->ntrimmed)
		b->ntrimmed = upto;
	b->low = b->nfree;
}

void corio__hserver_bufs_fini(corio__hserver_bufs *b)
{
	while (b->slabs) {
		corio__hserver_slab *s = b->slabs;

		b->slabs = s->next;
		munmap(s->base, s->len);
		free(s);
	}
	free(b->free);
	*b = (corio__hserver_bufs){ 0 };
}
