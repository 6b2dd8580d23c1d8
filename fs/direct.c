/* fs/direct.c: O_DIRECT support: aligned buffers and the alignment a file asks for (statx
 * STATX_DIOALIGN). The requests themselves are batched like any other (fs_internal.h). */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_internal.h"

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
