/* fs/path.c: operations on names and metadata through the ring: statx, unlinkat,
 * renameat, mkdirat, symlinkat, linkat, and the directory fsync that follows a rename. */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_internal.h"

int corio_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *out)
{
	corio__op op;

	if (!path || !out)
		return -EFAULT;
	io_uring_prep_statx(corio__op_sqe(&op), dirfd, path, flags, mask, out);
	return corio__op_await(&op, 0);
}

int corio_stat(const char *path, struct statx *out)
{
	return corio_statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, out);
}

int corio_fstat(int fd, struct statx *out)
{
	if (corio__fs_is_fixed(fd))
		return -EBADF; /* statx resolves dirfd itself: no fixed-file form */
	return corio_statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, out);
}

int corio_unlinkat(int dirfd, const char *path, int flags)
{
	corio__op op;

	if (!path)
		return -EFAULT;
	io_uring_prep_unlinkat(corio__op_sqe(&op), dirfd, path, flags);
	return corio__op_await(&op, 0);
}

int corio__fs_unlink_cleanup(int dirfd, const char *path, int flags)
{
	corio__op op;

	io_uring_prep_unlinkat(corio__op_sqe(&op), dirfd, path, flags);
	return corio__op_await(&op, CORIO__OP_CLEANUP);
}

int corio_unlink(const char *path)
{
	return corio_unlinkat(AT_FDCWD, path, 0);
}

int corio_rmdir(const char *path)
{
	return corio_unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

int corio_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		   unsigned flags)
{
	corio__op op;

	if (!oldpath || !newpath)
		return -EFAULT;
	io_uring_prep_renameat(corio__op_sqe(&op), olddirfd, oldpath, newdirfd, newpath,
			       (int)flags);
	return corio__op_await(&op, 0);
}

int corio_rename(const char *oldpath, const char *newpath)
{
	return corio_renameat(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

int corio_mkdirat(int dirfd, const char *path, mode_t mode)
{
	corio__op op;

	if (!path)
		return -EFAULT;
	io_uring_prep_mkdirat(corio__op_sqe(&op), dirfd, path, mode);
	return corio__op_await(&op, 0);
}

int corio_mkdir(const char *path, mode_t mode)
{
	return corio_mkdirat(AT_FDCWD, path, mode);
}

int corio_symlinkat(const char *target, int newdirfd, const char *linkpath)
{
	corio__op op;

	if (!target || !linkpath)
		return -EFAULT;
	io_uring_prep_symlinkat(corio__op_sqe(&op), target, newdirfd, linkpath);
	return corio__op_await(&op, 0);
}

int corio_symlink(const char *target, const char *linkpath)
{
	return corio_symlinkat(target, AT_FDCWD, linkpath);
}

int corio_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		 int flags)
{
	corio__op op;

	if (!oldpath || !newpath)
		return -EFAULT;
	io_uring_prep_linkat(corio__op_sqe(&op), olddirfd, oldpath, newdirfd, newpath, flags);
	return corio__op_await(&op, 0);
}

int corio_link(const char *oldpath, const char *newpath)
{
	return corio_linkat(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

/* The directory part of path ("." when there is none, "/" for "/x"), malloc'ed. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	char *d;

	if (!slash)
		return strdup(".");
	n = slash == path ? 1 : (size_t)(slash - path);
	if (!(d = malloc(n + 1)))
		return NULL;
	memcpy(d, path, n);
	d[n] = 0;
	return d;
}

/* After a rename the new name must reach the disk too; the directory is synced even in a
 * cancelled task (CLEANUP): the rename already happened, and what remains is to make it
 * durable, not to undo it. */
int corio__fs_fsync_dir_of(const char *path)
{
	char *dir = dir_of(path);
	corio__op op;
	int fd, rc;

	if (!dir)
		return -ENOMEM;
	io_uring_prep_openat(corio__op_sqe(&op), AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			     0);
	fd = corio__op_await(&op, CORIO__OP_CLEANUP);
	free(dir);
	if (fd < 0)
		return fd;
	io_uring_prep_fsync(corio__op_sqe(&op), fd, 0);
	rc = corio__op_await(&op, CORIO__OP_CLEANUP);
	corio_close(fd);
	return rc;
}
