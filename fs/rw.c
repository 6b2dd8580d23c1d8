/* fs/rw.c: moving bytes: corio_read/corio_write (at an offset or the file position),
 * readv/writev, and the loops over short transfers (corio_read_full, corio_write_all). */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>

#include "fs/fs_internal.h"

static ssize_t rw(unsigned opcode, int fd, const void *buf, size_t len, off_t off)
{
	corio__op op;
	struct io_uring_sqe *sqe = corio__op_sqe(&op);

	if (off < -1)
		return -EINVAL;
	io_uring_prep_rw((int)opcode, sqe, 0, buf, corio__fs_clamp(len), corio__fs_off(off));
	corio__fs_set_fd(sqe, fd);
	return corio__op_await(&op, 0);
}

ssize_t corio_read(int fd, void *buf, size_t len, off_t offset)
{
	return rw(IORING_OP_READ, fd, buf, len, offset);
}

ssize_t corio_write(int fd, const void *buf, size_t len, off_t offset)
{
	return rw(IORING_OP_WRITE, fd, buf, len, offset);
}

static ssize_t rwv(unsigned opcode, int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	corio__op op;
	struct io_uring_sqe *sqe = corio__op_sqe(&op);

	if (off < -1 || iovcnt < 0)
		return -EINVAL;
	io_uring_prep_rw((int)opcode, sqe, 0, iov, (unsigned)iovcnt, corio__fs_off(off));
	corio__fs_set_fd(sqe, fd);
	return corio__op_await(&op, 0);
}

ssize_t corio_readv(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
	return rwv(IORING_OP_READV, fd, iov, iovcnt, offset);
}

ssize_t corio_writev(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
	return rwv(IORING_OP_WRITEV, fd, iov, iovcnt, offset);
}

ssize_t corio_read_full(int fd, void *buf, size_t len, off_t offset)
{
	size_t done = 0;

	if (offset < -1)
		return -EINVAL;
	while (done < len) {
		ssize_t n = corio_read(fd, (char *)buf + done, len - done,
				       offset < 0 ? -1 : offset + (off_t)done);

		if (n == -EINTR)
			continue;
		if (n < 0)
			return n;
		if (n == 0)
			break; /* EOF: a short count, not an error */
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t corio__fs_write_all(int fd, const void *buf, size_t len, off_t off, size_t *done)
{
	*done = 0;
	if (off < -1)
		return -EINVAL;
	while (*done < len) {
		ssize_t n = corio_write(fd, (const char *)buf + *done, len - *done,
					off < 0 ? -1 : off + (off_t)*done);

		if (n == -EINTR)
			continue;
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO; /* no progress and no error: do not spin */
		*done += (size_t)n;
	}
	return (ssize_t)len;
}

ssize_t corio_write_all(int fd, const void *buf, size_t len, off_t offset)
{
	size_t done;

	return corio__fs_write_all(fd, buf, len, offset, &done);
}
