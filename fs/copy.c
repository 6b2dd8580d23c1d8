/* fs/copy.c: copying bytes between descriptors inside the kernel: corio_splice
 * (IORING_OP_SPLICE), corio_copy_fd (file -> pipe -> file with splice, or reads and writes
 * where splice is not supported) and corio_copy_file. */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs_internal.h"

#define PIPE_WANT (1u << 20)  /* pipe size asked for: fewer splice round trips */
#define COPY_BUF (1u << 20)   /* block size of the read/write fallback */

ssize_t corio_splice(int fd_in, off_t off_in, int fd_out, off_t off_out, size_t len,
		     unsigned flags)
{
	corio__op op;
	struct io_uring_sqe *sqe = corio__op_sqe(&op);

	if (off_in < -1 || off_out < -1)
		return -EINVAL;
	if (corio__fs_is_fixed(fd_in)) {
		fd_in &= ~CORIO_FD_FIXED_BIT;
		flags |= SPLICE_F_FD_IN_FIXED;
	}
	/* splice_off_in/off_out of -1: "no offset" (a pipe, or the file position). */
	io_uring_prep_splice(sqe, fd_in, off_in, 0, off_out, corio__fs_clamp(len), flags);
	corio__fs_set_fd(sqe, fd_out);
	return corio__op_await(&op, 0);
}

static off_t at(off_t base, size_t done)
{
	return base < 0 ? -1 : base + (off_t)done;
}

/* Empties n bytes from the pipe into out. */
static ssize_t drain(int pr, int out, off_t out_off, size_t n)
{
	size_t moved = 0;

	while (moved < n) {
		ssize_t k = corio_splice(pr, -1, out, at(out_off, moved), n - moved, SPLICE_F_MOVE);

		if (k == -EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? k : -EIO;
		moved += (size_t)k;
	}
	return (ssize_t)moved;
}

/* file -> pipe -> file. -ENOSYS when splice does not work for these descriptors before a
 * byte moved (the caller falls back to reads and writes). */
static ssize_t copy_splice(int in, off_t in_off, int out, off_t out_off, size_t len)
{
	int p[2], psz;
	size_t done = 0;
	ssize_t rc = 0;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	/* A bigger pipe means fewer round trips; the default 64 KiB is kept if refused. */
	psz = fcntl(p[1], F_SETPIPE_SZ, PIPE_WANT);
	if (psz <= 0)
		psz = fcntl(p[1], F_GETPIPE_SZ);
	if (psz <= 0)
		psz = 65536;
	while (done < len) {
		size_t want = len - done < (size_t)psz ? len - done : (size_t)psz;
		ssize_t n = corio_splice(in, at(in_off, done), p[1], -1, want, SPLICE_F_MOVE);

		if (n == -EINTR)
			continue;
		if (n == -EINVAL && done == 0) {
			rc = -ENOSYS;
			break;
		}
		if (n <= 0) {
			rc = n;
			break;
		}
		if ((rc = drain(p[0], out, at(out_off, done), (size_t)n)) < 0)
			break;
		done += (size_t)n;
	}
	corio_close(p[0]);
	corio_close(p[1]);
	return rc < 0 ? rc : (ssize_t)done;
}

ssize_t corio__fs_copy_rw(int in, off_t in_off, int out, off_t out_off, size_t len)
{
	char *buf = malloc(COPY_BUF);
	size_t done = 0;
	ssize_t rc = 0;

	if (!buf)
		return -ENOMEM;
	while (done < len) {
		size_t want = len - done < COPY_BUF ? len - done : COPY_BUF;
		ssize_t n = corio_read(in, buf, want, at(in_off, done));

		if (n == -EINTR)
			continue;
		if (n <= 0) {
			rc = n;
			break;
		}
		if ((rc = corio_write_all(out, buf, (size_t)n, at(out_off, done))) < 0)
			break;
		done += (size_t)n;
	}
	free(buf);
	return rc < 0 ? rc : (ssize_t)done;
}

ssize_t corio_copy_fd(int in, off_t in_off, int out, off_t out_off, size_t len)
{
	ssize_t n;

	if (in_off < -1 || out_off < -1)
		return -EINVAL;
	if (len == 0)
		return 0;
	n = copy_splice(in, in_off, out, out_off, len);
	if (n == -ENOSYS)
		n = corio__fs_copy_rw(in, in_off, out, out_off, len);
	return n;
}

/* Opens dst for writing: created (O_EXCL, *created set) or, unless NOREPLACE, truncated. */
static int open_dst(const char *dst, mode_t mode, int flags, bool *created)
{
	int fd = corio_open(dst, O_WRONLY | O_CREAT | O_EXCL, mode);

	*created = fd >= 0;
	if (fd == -EEXIST && !(flags & CORIO_COPY_NOREPLACE))
		fd = corio_open(dst, O_WRONLY | O_TRUNC, 0);
	return fd;
}

static int check_src(int in, const char *dst, struct statx *st)
{
	struct statx dt;
	int rc = corio_statx(in, "", AT_EMPTY_PATH, STATX_BASIC_STATS, st);

	if (rc < 0)
		return rc;
	if (S_ISDIR(st->stx_mode))
		return -EISDIR;
	/* Truncating dst would destroy src: refuse, as shutil.copyfile does. */
	rc = corio_stat(dst, &dt);
	if (rc == 0 && dt.stx_ino == st->stx_ino && dt.stx_dev_major == st->stx_dev_major &&
	    dt.stx_dev_minor == st->stx_dev_minor)
		return -EINVAL;
	return rc == 0 || rc == -ENOENT ? 0 : rc;
}

ssize_t corio_copy_file(const char *src, const char *dst, int flags)
{
	struct statx st;
	bool created = false;
	ssize_t n;
	int in, out;

	if (!src || !dst)
		return -EFAULT;
	if (flags & ~CORIO_COPY_NOREPLACE)
		return -EINVAL;
	if ((in = corio_open(src, O_RDONLY, 0)) < 0)
		return in;
	n = check_src(in, dst, &st);
	out = n < 0 ? (int)n : open_dst(dst, st.stx_mode & 0777, flags, &created);
	if (out < 0) {
		corio_close(in);
		return out;
	}
	/* At the file positions (-1), which start at 0 for descriptors opened here: that also
	 * works for a FIFO, a /proc file or a character device on either side. */
	n = corio_copy_fd(in, -1, out, -1, SIZE_MAX);
	if (n >= 0) {
		int crc = corio_close(out);

		n = crc < 0 ? crc : n;
	} else {
		corio_close(out);
	}
	corio_close(in);
	if (n < 0 && created) /* a half copy nobody asked for: remove it, even if cancelled */
		corio__fs_unlink_cleanup(AT_FDCWD, dst, 0);
	return n;
}
