/* fs/open.c: opening and closing descriptors through the ring: corio_open, corio_openat,
 * corio_open2 (openat2 with struct open_how) and corio_close (which always runs, for files
 * and sockets alike, and tells the listener registry first). */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>
#include <unistd.h>

#include "fs/fs_internal.h"
#include "runtime/net/net_internal.h" /* corio__net_forget: the listener registry */

/* A new descriptor: its O_DIRECT mark (fs/direct.c) is set or cleared, since the number
 * may have been used before. */
static int opened(int fd, int flags)
{
	if (fd >= 0)
		corio__fs_direct_mark(fd, (flags & O_DIRECT) != 0);
	return fd;
}

int corio_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	corio__op op;

	if (!path)
		return -EFAULT;
	io_uring_prep_openat(corio__op_sqe(&op), dirfd, path, flags | O_CLOEXEC, mode);
	return opened(corio__op_await(&op, 0), flags);
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
	return opened(corio__op_await(&op, 0), (int)h.flags);
}

int corio_close(int fd)
{
	corio__loop *l = corio__loop_get();
	corio__op op;

	corio__fs_direct_mark(fd, false);
	if (corio__fs_is_fixed(fd)) {
		io_uring_prep_close_direct(corio__op_sqe(&op),
					   (unsigned)(fd & ~CORIO_FD_FIXED_BIT));
	} else {
		/* Outside a task (cleanup after corio_run) a plain close(2) rather than -EPERM
		 * and a leaked descriptor. */
		if (!l || !l->current)
			return close(fd) == 0 ? 0 : -errno;
		/* A listener served by a multishot accept: stop that first (net_accept.c). */
		corio__net_forget(fd);
		io_uring_prep_close(corio__op_sqe(&op), fd);
	}
	/* CLEANUP: runs in a cancelled task and past a deadline, never cancelled itself, so
	 * cleanup code cannot leak the descriptor. */
	return corio__op_await(&op, CORIO__OP_CLEANUP);
}
