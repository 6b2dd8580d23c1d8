/* fs/reader.c: corio_file_reader, the buffered reader: lines of any length (the buffer
 * grows, up to the caller's maximum), reads of chunks, at an offset or the file position. */
#define _GNU_SOURCE /* the Linux extensions: AT_EMPTY_PATH, O_DIRECT, SPLICE_F_*, ... */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_internal.h"
#include "runtime/util/buf.h"

#define DEFAULT_BUF (64u * 1024)

struct corio_file_reader {
	int fd;
	off_t off;        /* next file offset to read, or -1: the file position */
	/* Buffered data is b.p[start, b.len); b.cap is one more than the data it may hold
	 * (room for the NUL after a line). */
	corio__buf b;
	size_t start;
	size_t scanned;   /* b.p[start, scanned) holds no delimiter (resumes the search) */
	size_t held_at;   /* where the NUL after the last line went (0 when none) */
	char held;        /* the byte it replaced */
	uint64_t consumed;
};

corio_file_reader *corio_file_reader_new(int fd, off_t offset, size_t bufsize)
{
	corio_file_reader *r;

	if (offset < -1)
		return NULL;
	if (!(r = calloc(1, sizeof *r)))
		return NULL;
	bufsize = (bufsize ? bufsize : DEFAULT_BUF) + 1;
	if (corio__buf_reserve_max(&r->b, bufsize, bufsize) != 0) { /* exactly bufsize */
		free(r);
		return NULL;
	}
	r->fd = fd;
	r->off = offset;
	return r;
}

void corio_file_reader_free(corio_file_reader *r)
{
	if (!r)
		return;
	corio__buf_free(&r->b);
	free(r);
}

uint64_t corio_file_reader_tell(const corio_file_reader *r)
{
	return r->consumed;
}

/* Puts back the byte the last returned line's NUL replaced. */
static void unhold(corio_file_reader *r)
{
	if (r->held_at) {
		r->b.p[r->held_at] = r->held;
		r->held_at = 0;
	}
}

static void consume(corio_file_reader *r, size_t n)
{
	r->start += n;
	r->consumed += n;
	if (r->scanned < r->start)
		r->scanned = r->start;
	if (r->start == r->b.len)
		r->start = r->b.len = r->scanned = 0;
}

/* Makes room for more data: moves what is buffered to the front, grows the buffer when it
 * is full: it doubles, to at most limit + 1 bytes of data room (-EMSGSIZE once there). */
static int make_room(corio_file_reader *r, size_t limit)
{
	size_t have = r->b.len - r->start;

	if (r->start > 0) {
		memmove(r->b.p, r->b.p + r->start, have);
		r->scanned -= r->start;
		r->start = 0;
		r->b.len = have;
	}
	if (r->b.len + 1 < r->b.cap)
		return 0;
	/* One more byte of data and its NUL, within limit + 1 bytes of data and a NUL. */
	return corio__buf_reserve_max(&r->b, 2, limit == SIZE_MAX ? 0 : limit + 2);
}

/* One read into the free space. 0 at EOF, else the bytes added, or -errno. */
static ssize_t fill(corio_file_reader *r, size_t limit)
{
	ssize_t n;
	int rc;

	if ((rc = make_room(r, limit)) != 0)
		return rc;
	do
		n = corio_read(r->fd, r->b.p + r->b.len, r->b.cap - 1 - r->b.len, r->off);
	while (n == -EINTR);
	if (n < 0)
		return n;
	r->b.len += (size_t)n;
	if (r->off >= 0)
		r->off += n;
	return n;
}

/* Hands out buf[start, start + n) NUL-terminated and consumes it. */
static ssize_t give(corio_file_reader *r, size_t n, char **out)
{
	size_t at = r->start + n;

	*out = r->b.p + r->start;
	r->held = r->b.p[at];
	r->held_at = at;
	r->b.p[at] = 0;
	r->start += n;
	r->consumed += n;
	r->scanned = r->start;
	/* Not reset to 0 when empty: the line stays where *out points until the next call. */
	return (ssize_t)n;
}

ssize_t corio_file_reader_readuntil(corio_file_reader *r, int delim, char **out, size_t max)
{
	size_t limit = max ? max : SIZE_MAX;

	unhold(r);
	if (r->start == r->b.len)
		r->start = r->b.len = r->scanned = 0;
	for (;;) {
		char *hit = memchr(r->b.p + r->scanned, delim, r->b.len - r->scanned);
		size_t have = r->b.len - r->start;
		ssize_t n;

		if (hit) {
			size_t len = (size_t)(hit - (r->b.p + r->start)) + 1;

			return len > limit ? -EMSGSIZE : give(r, len, out);
		}
		r->scanned = r->b.len;
		if (have > limit)
			return -EMSGSIZE; /* no delimiter within limit bytes: nothing consumed */
		if ((n = fill(r, limit)) < 0)
			return n;
		if (n > 0)
			continue;
		/* EOF (not sticky: a file that grows is read further by the next call). The last
		 * line may lack its delimiter. */
		return have == 0 ? 0 : give(r, have, out);
	}
}

ssize_t corio_file_reader_readline(corio_file_reader *r, char **line, size_t max)
{
	return corio_file_reader_readuntil(r, '\n', line, max);
}

ssize_t corio_file_reader_skip_line(corio_file_reader *r)
{
	size_t skipped = 0;

	unhold(r);
	for (;;) {
		char *hit = memchr(r->b.p + r->start, '\n', r->b.len - r->start);
		size_t n = hit ? (size_t)(hit - (r->b.p + r->start)) + 1 : r->b.len - r->start;
		ssize_t got;

		consume(r, n);
		skipped += n;
		if (hit)
			return (ssize_t)skipped;
		if ((got = fill(r, SIZE_MAX)) < 0)
			return got;
		if (got == 0)
			return (ssize_t)skipped;
	}
}

ssize_t corio_file_reader_read(corio_file_reader *r, void *buf, size_t len)
{
	ssize_t n;

	unhold(r);
	if (len == 0)
		return 0;
	if (r->start == r->b.len) {
		if (len >= r->b.cap - 1) { /* large read, nothing buffered: straight into buf */
			do
				n = corio_read(r->fd, buf, len, r->off);
			while (n == -EINTR);
			if (n > 0) {
				r->consumed += (uint64_t)n;
				if (r->off >= 0)
					r->off += n;
			}
			return n;
		}
		if ((n = fill(r, SIZE_MAX)) <= 0)
			return n;
	}
	n = (ssize_t)(r->b.len - r->start < len ? r->b.len - r->start : len);
	memcpy(buf, r->b.p + r->start, (size_t)n);
	consume(r, (size_t)n);
	return n;
}
