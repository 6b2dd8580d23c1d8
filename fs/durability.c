/* fs/durability.c: making a file's data durable and shaping its extent on disk: fsync,
 * fdatasync and sync_file_range (what reaches the disk), fallocate and ftruncate (the
 * space the file holds; IORING_OP_FTRUNCATE from 6.9, the thread pool before), and
 * fadvise (the page cache's read-ahead for a range). Every call parks. */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>
#include <unistd.h>

#include "fs/fs_internal.h"

static int fd_op(corio__op *op, int fd)
{
	corio__fs_set_fd(&op->sqe, fd);
	return corio__op_await(op, 0);
}

int corio_fsync(int fd)
{
	corio__op op;

	io_uring_prep_fsync(corio__op_sqe(&op), 0, 0);
	return fd_op(&op, fd);
}

int corio_fdatasync(int fd)
{
	corio__op op;

	io_uring_prep_fsync(corio__op_sqe(&op), 0, IORING_FSYNC_DATASYNC);
	return fd_op(&op, fd);
}

/* The SQE carries 32-bit lengths for sync_file_range and fadvise (fadvise got 64 bits
 * only in later kernels): longer ranges are done in pieces, each a multiple of 4 KiB. */
#define RANGE_STEP (1ull << 30)

/* Prepares one piece of a ranged call: step bytes at off (0: to the end of the file). */
typedef void (*range_prep)(struct io_uring_sqe *sqe, uint64_t off, unsigned step, int arg);

static int by_pieces(int fd, off_t offset, off_t len, range_prep prep, int arg)
{
	if (offset < 0 || len < 0)
		return -EINVAL;
	do {
		/* len 0 means "to the end of the file", for the last piece as for the syscall. */
		uint64_t step = (uint64_t)len > RANGE_STEP ? RANGE_STEP : (uint64_t)len;
		corio__op op;
		int rc;

		prep(corio__op_sqe(&op), (uint64_t)offset, (unsigned)step, arg);
		if ((rc = fd_op(&op, fd)) < 0)
			return rc;
		offset += (off_t)step;
		len -= (off_t)step;
	} while (len > 0);
	return 0;
}

static void prep_sync_range(struct io_uring_sqe *sqe, uint64_t off, unsigned step, int flags)
{
	io_uring_prep_sync_file_range(sqe, 0, step, off, flags);
}

static void prep_fadvise(struct io_uring_sqe *sqe, uint64_t off, unsigned step, int advice)
{
	io_uring_prep_fadvise(sqe, 0, off, (off_t)step, advice);
}

int corio_sync_range(int fd, off_t offset, off_t len, unsigned flags)
{
	return by_pieces(fd, offset, len, prep_sync_range, (int)flags);
}

int corio_fadvise(int fd, off_t offset, off_t len, int advice)
{
	return by_pieces(fd, offset, len, prep_fadvise, advice);
}

int corio_fallocate(int fd, int mode, off_t offset, off_t len)
{
	corio__op op;

	io_uring_prep_fallocate(corio__op_sqe(&op), 0, mode, offset, len);
	return fd_op(&op, fd);
}

/* ---- ftruncate ---- */

typedef struct truncate_job {
	int fd;
	off_t length;
	int rc;
} truncate_job;

static void *truncate_fn(void *arg)
{
	truncate_job *j = arg;

	j->rc = ftruncate(j->fd, j->length) == 0 ? 0 : -errno;
	return NULL;
}

int corio__fs_ftruncate_blocking(int fd, off_t length)
{
	truncate_job j = { .fd = fd, .length = length, .rc = -EIO };
	int rc;

	if (corio__fs_is_fixed(fd))
		return -EBADF; /* a ring slot means nothing to ftruncate(2) */
	rc = corio_blocking(truncate_fn, &j, NULL);
	return rc < 0 ? rc : j.rc;
}

int corio_ftruncate(int fd, off_t length)
{
	corio__loop *l = corio__loop_get();
	corio__op op;

	if (length < 0)
		return -EINVAL;
	if (!l)
		return -EPERM;
	/* 6.9: IORING_OP_FTRUNCATE. The loop probed the opcodes once at setup. */
	if (!corio_caps_has_op(&l->caps, CORIO__IORING_OP_FTRUNCATE))
		return corio__fs_ftruncate_blocking(fd, length);
	io_uring_prep_rw((int)CORIO__IORING_OP_FTRUNCATE, corio__op_sqe(&op), 0, NULL, 0,
			 (uint64_t)length);
	return fd_op(&op, fd);
}
