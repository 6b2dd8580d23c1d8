/* fs/fixed.c: the opt-in hot path: buffers and files registered with this thread's ring,
 * and IORING_OP_READ_FIXED / WRITE_FIXED on them. The kernel holds the registrations; they
 * go away with the ring when the loop ends. */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>

#include "fs/fs_internal.h"

static struct io_uring *ring(void)
{
	corio__loop *l = corio__loop_get();

	return l ? &l->ring : NULL;
}

int corio_fs_register_buffers(const struct iovec *iov, unsigned n)
{
	struct io_uring *r = ring();

	if (!r)
		return -EPERM;
	if (!iov || n == 0)
		return -EINVAL;
	return io_uring_register_buffers(r, iov, n);
}

int corio_fs_unregister_buffers(void)
{
	struct io_uring *r = ring();

	return r ? io_uring_unregister_buffers(r) : -EPERM;
}

int corio_fs_register_files(const int *fds, unsigned n)
{
	struct io_uring *r = ring();

	if (!r)
		return -EPERM;
	if (!fds || n == 0)
		return -EINVAL;
	return io_uring_register_files(r, fds, n);
}

int corio_fs_update_files(unsigned off, const int *fds, unsigned n)
{
	struct io_uring *r = ring();
	int rc;

	if (!r)
		return -EPERM;
	/* io_uring_register_files_update returns how many slots it updated. */
	rc = io_uring_register_files_update(r, off, fds, n);
	return rc < 0 ? rc : (unsigned)rc == n ? 0 : -EIO;
}

int corio_fs_unregister_files(void)
{
	struct io_uring *r = ring();
	return r ? io_uring_unregister_files(r) : -EPERM;
}

static ssize_t rw_fixed(unsigned opcode, int fd, const void *buf, size_t len, off_t off,
			unsigned buf_index)
{
	corio__op op;
	struct io_uring_sqe *sqe = corio__op_sqe(&op);

	if (off < -1 || buf_index > UINT16_MAX)
		return -EINVAL;
	io_uring_prep_rw((int)opcode, sqe, 0, buf, corio__fs_clamp(len), corio__fs_off(off));
	sqe->buf_index = (__u16)buf_index;
	corio__fs_set_fd(sqe, fd);
	return corio__op_await(&op, 0);
}

ssize_t corio_read_fixed(int fd, void *buf, size_t len, off_t offset, unsigned buf_index)
{
	return rw_fixed(IORING_OP_READ_FIXED, fd, buf, len, offset, buf_index);
}

ssize_t corio_write_fixed(int fd, const void *buf, size_t len, off_t offset,
			  unsigned buf_index)
{
	return rw_fixed(IORING_OP_WRITE_FIXED, fd, buf, len, offset, buf_index);
}
