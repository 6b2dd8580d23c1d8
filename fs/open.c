/* fs/open.c: opening descriptors through the ring: corio_open, corio_openat and corio_open2
 * (openat2 with struct open_how). corio_close is the core's (runtime/core/close.c). */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>

#include "fs/fs_internal.h"

int corio_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	corio__op op;

	if (!path)
		return -EFAULT;
	io_uring_prep_openat(corio__op_sqe(&op), dirfd, path, flags | O_CLOEXEC, mode);
	return corio__op_await(&op, 0);
}

int corio_open(const char *path, int flags, mode_t mode)
{
	return corio_openat(AT_FDCWD, path, flags, mode);
}

int corio_open2(int dirfd, const char *path, const struct open_how *how)
{
	struct open_how h; /* read by the kernel while we are parked: stays on this stack */
	corio__op op;

	if (!path || !how)
		return -EFAULT;
	h = *how;
	h.flags |= O_CLOEXEC;
	io_uring_prep_openat2(corio__op_sqe(&op), dirfd, path, &h);
	return corio__op_await(&op, 0);
}
