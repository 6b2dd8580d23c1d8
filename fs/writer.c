/* fs/writer.c: corio_file_writer, the buffered writer: small writes gather in a buffer,
 * full buffers and large writes go out with corio_write_all, flush writes the rest. */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_internal.h"

#define DEFAULT_BUF (64u * 1024)

struct corio_file_writer {
	int fd;
	off_t off;       /* file offset of buf[0], or -1: the file position */
	char *buf;
	size_t cap, len;
	uint64_t accepted;
};

corio_file_writer *corio_file_writer_new(int fd, off_t offset, size_t bufsize)
{
	corio_file_writer *w;

	if (offset < -1)
		return NULL;
	if (!(w = calloc(1, sizeof *w)))
		return NULL;
	w->cap = bufsize ? bufsize : DEFAULT_BUF;
	if (!(w->buf = malloc(w->cap))) {
		free(w);
		return NULL;
	}
	w->fd = fd;
	w->off = offset;
	return w;
}

uint64_t corio_file_writer_tell(const corio_file_writer *w)
{
	return w->accepted;
}

/* Writes data out at the writer's offset and advances it by what went out, even when an
 * error stops it part way (so a retry continues where the file ends). */
static ssize_t put(corio_file_writer *w, const void *data, size_t len, size_t *done)
{
	ssize_t rc = corio__fs_write_all(w->fd, data, len, w->off, done);

	if (w->off >= 0)
		w->off += (off_t)*done;
	return rc;
}

int corio_file_writer_flush(corio_file_writer *w)
{
	size_t done;
	ssize_t rc;

	if (w->len == 0)
		return 0;
	rc = put(w, w->buf, w->len, &done);
	/* What did not go out stays buffered for the next flush. */
	memmove(w->buf, w->buf + done, w->len - done);
	w->len -= done;
	return rc < 0 ? (int)rc : 0;
}

ssize_t corio_file_writer_write(corio_file_writer *w, const void *data, size_t len)
{
	size_t done;
	ssize_t rc;
	int frc;

	if (!data && len)
		return -EFAULT;
	if (len <= w->cap - w->len) {
		memcpy(w->buf + w->len, data, len);
		w->len += len;
		w->accepted += len;
		return (ssize_t)len;
	}
	if ((frc = corio_file_writer_flush(w)) < 0)
		return frc;
	if (len < w->cap) {
		memcpy(w->buf, data, len);
		w->len = len;
		w->accepted += len;
		return (ssize_t)len;
	}
	rc = put(w, data, len, &done); /* large: no copy through the buffer */
	w->accepted += done;
	return rc;
}

ssize_t corio_file_writer_printf(corio_file_writer *w, const char *fmt, ...)
{
	char small[256], *big = NULL;
	va_list ap;
	ssize_t rc;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof small) {
		if (!(big = malloc((size_t)n + 1)))
			return -ENOMEM;
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	rc = corio_file_writer_write(w, big ? big : small, (size_t)n);
	free(big);
	return rc;
}

int corio_file_writer_free(corio_file_writer *w)
{
	int rc;

	if (!w)
		return 0;
	rc = corio_file_writer_flush(w);
	free(w->buf);
	free(w);
	return rc;
}
