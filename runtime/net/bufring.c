/* runtime/net/bufring.c: a provided-buffer ring (io_uring_register_buf_ring, 5.19): the
 * page-aligned ring the kernel picks buffers from, the memory behind it (entries buffers of
 * bufsz bytes, touched only as the kernel fills them), registering it under a buffer group
 * id, and giving a buffer back. What the stream receivers' shared pool (recvring.c) and each
 * UDP receiver (udp_receiver.c) are made of. Loop thread only; nothing here parks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "runtime/net/net_internal.h"

int corio__bufring_init(struct io_uring *ring, corio__bufring *b, unsigned entries,
			size_t bufsz, uint16_t bgid)
{
	struct io_uring_buf_reg reg = { .ring_entries = entries, .bgid = bgid };
	int rc;

	*b = (corio__bufring){ .entries = entries, .bufsz = bufsz, .bgid = bgid };
	b->br_size = entries * sizeof(struct io_uring_buf);
	/* The ring must be page aligned: its own mapping. */
	b->br = mmap(NULL, b->br_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->br == MAP_FAILED)
		return -ENOMEM;
	b->mem = malloc(entries * bufsz);
	reg.ring_addr = (uint64_t)(uintptr_t)b->br;
	rc = b->mem ? io_uring_register_buf_ring(ring, &reg, 0) : -ENOMEM;
	if (rc != 0) {
		free(b->mem);
		munmap(b->br, b->br_size);
		return rc;
	}
	io_uring_buf_ring_init(b->br);
	for (unsigned i = 0; i < entries; i++)
		io_uring_buf_ring_add(b->br, corio__bufring_buf(b, (uint16_t)i), (unsigned)bufsz,
				      (unsigned short)i, io_uring_buf_ring_mask(entries), (int)i);
	io_uring_buf_ring_advance(b->br, (int)entries);
	return 0;
}

void corio__bufring_put(corio__bufring *b, uint16_t bid)
{
	io_uring_buf_ring_add(b->br, corio__bufring_buf(b, bid), (unsigned)b->bufsz, bid,
			      io_uring_buf_ring_mask(b->entries), 0);
	/* advance publishes the entry with a release store (liburing). */
	io_uring_buf_ring_advance(b->br, 1);
}

void corio__bufring_fini(struct io_uring *ring, corio__bufring *b)
{
	io_uring_unregister_buf_ring(ring, b->bgid);
	munmap(b->br, b->br_size);
	free(b->mem);
}
