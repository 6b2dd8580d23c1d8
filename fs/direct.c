/* fs/direct.c: O_DIRECT support: aligned buffers, the alignment a file asks for (statx
 * STATX_DIOALIGN), and the marks that make requests on O_DIRECT descriptors go to the
 * kernel one at a time instead of in the loop's batch (see fs_internal.h for why). The
 * first mark registers corio_close's hook that clears a descriptor's mark (close.h). */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_internal.h"
#include "runtime/core/close.h"

/* Descriptors are process-wide, so are their marks (atomic bits; higher fds are simply not
 * tracked). Registered slots belong to one thread's ring: a per-thread map. */
#define MARKED_FDS 65536
#define MARKED_SLOTS 1024

static uint64_t marked_fds[MARKED_FDS / 64];
static __thread uint64_t marked_slots[MARKED_SLOTS / 64];

static uint64_t *mark_word(int fd, uint64_t *bit)
{
	unsigned i;

	if (fd < 0)
		return NULL;
	if (corio__fs_is_fixed(fd)) {
		i = (unsigned)(fd & ~CORIO_FD_FIXED_BIT);
		*bit = 1ull << (i % 64);
		return i < MARKED_SLOTS ? &marked_slots[i / 64] : NULL;
	}
	i = (unsigned)fd;
	*bit = 1ull << (i % 64);
	return i < MARKED_FDS ? &marked_fds[i / 64] : NULL;
}

/* corio_close's hook: the number of a closed descriptor will be reused. */
static void close_hook(int fd)
{
	corio__fs_direct_mark(fd, false);
}

static pthread_once_t hook_once = PTHREAD_ONCE_INIT;
static bool hooked; /* written once under hook_once */

static void add_close_hook(void)
{
	hooked = corio__close_hook_add(close_hook) == 0;
}

void corio__fs_direct_mark(int fd, bool direct)
{
	uint64_t bit, *w = mark_word(fd, &bit);

	if (!w)
		return;
	if (!direct) {
		if (__atomic_load_n(w, __ATOMIC_RELAXED) & bit)
			__atomic_fetch_and(w, ~bit, __ATOMIC_RELAXED);
		return;
	}
	pthread_once(&hook_once, add_close_hook);
	/* Without the hook a mark would outlive its descriptor: fd stays unmarked instead (its
	 * requests stay batched, which is only slower for O_DIRECT). */
	if (hooked)
		__atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
}

void corio__fs_direct_clear_slots(void)
{
	memset(marked_slots, 0, sizeof marked_slots);
}

bool corio__fs_direct_marked(int fd)
{
	uint64_t bit, *w = mark_word(fd, &bit);

	return w && (__atomic_load_n(w, __ATOMIC_RELAXED) & bit);
}

void corio__fs_unbatch(void)
{
	corio__loop *l = corio__loop_get();

	/* Only submits: the SQEs were queued through corio__submit (counted, fault-checked,
	 * linked pairs complete) and their tasks park as usual. */
	if (l)
		corio__loop_flush(l);
}

void *corio_aligned_alloc(size_t align, size_t size)
{
	void *p;

	if (align == 0)
		align = 4096;
	if ((align & (align - 1)) != 0 || align < sizeof(void *))
		return NULL;
	if (size == 0)
		size = align;
	if (size > SIZE_MAX - align)
		return NULL;
	size = (size + align - 1) & ~(align - 1);
	if (posix_memalign(&p, align, size) != 0)
		return NULL;
	return p;
}

void corio_aligned_free(void *p)
{
	free(p);
}

int corio_direct_alignment(int fd, unsigned *mem, unsigned *offset)
{
	struct statx st;
	int rc;

	if (!mem || !offset)
		return -EFAULT;
	if (corio__fs_is_fixed(fd))
		return -EBADF;
	rc = corio_statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &st);
	if (rc < 0)
		return rc;
	/* 6.1: STATX_DIOALIGN. Older kernels leave the bit clear: assume a 4 KiB sector, the
	 * strictest common one. A file that says 0 does not support O_DIRECT. */
	if (!(st.stx_mask & STATX_DIOALIGN)) {
		*mem = *offset = 4096;
		return 0;
	}
	if (st.stx_dio_mem_align == 0 || st.stx_dio_offset_align == 0)
		return -EINVAL;
	*mem = st.stx_dio_mem_align;
	*offset = st.stx_dio_offset_align;
	return 0;
}
