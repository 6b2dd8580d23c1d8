/* runtime/net/stream.c: corio_stream, buffered reading and writing over any descriptor or a
 * TLS connection (asyncio's StreamReader/StreamWriter): read_some, read_exact, read_until
 * with a limit, buffered write, flush, close. What moves the bytes is a transport: sockets
 * use recv/send (MSG_NOSIGNAL: no SIGPIPE), other descriptors IORING_OP_READ/WRITE at the
 * current position (offset -1), TLS corio_tls_read/write (corio_stream_new_tls). A stream never loses
 * buffered bytes to an error, a cancellation or a timeout: what was read stays buffered
 * until a call hands it out, what was written stays buffered until the kernel took it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <corio/tls.h>

#include "runtime/net/net_internal.h"
#include "runtime/util/buf.h"

#define RBUF_INIT 16384
#define WBUF_HIGH 65536 /* write() flushes beyond this; larger writes bypass the buffer */

/* How bytes move below the buffers. read/write: one transfer, as recv(2)/send(2) (a short
 * count is allowed, 0 from read is the end). close: frees what the stream owns below its
 * buffers (after they were flushed), never fails to free. */
typedef struct transport {
	ssize_t (*read)(corio_stream *s, void *buf, size_t len);
	ssize_t (*write)(corio_stream *s, const void *buf, size_t len);
	int (*close)(corio_stream *s);
} transport;

struct corio_stream {
	const transport *tp;
	int fd;
	corio_tls *tls;   /* the TLS transport's connection, owned; NULL otherwise */
	bool eof;
	corio__buf rb;    /* unread bytes are rb.p[rpos, rb.len) */
	size_t rpos;
	corio__buf wb;    /* unsent bytes are wb.p[0, wb.len) */
};

/* Bytes read and not handed out yet. */
static size_t unread(const corio_stream *s)
{
	return s->rb.len - s->rpos;
}

static ssize_t sock_read(corio_stream *s, void *buf, size_t len)
{
	return corio_recv(s->fd, buf, len, 0);
}

static ssize_t sock_write(corio_stream *s, const void *buf, size_t len)
{
	return corio_send(s->fd, buf, len, 0);
}

static ssize_t file_read(corio_stream *s, void *buf, size_t len)
{
	corio__op op;

	if (len > INT32_MAX)
		len = INT32_MAX;
	io_uring_prep_read(corio__op_sqe(&op), s->fd, buf, (unsigned)len, (uint64_t)-1);
	return corio__op_await(&op, 0);
}

static ssize_t file_write(corio_stream *s, const void *buf, size_t len)
{
	corio__op op;

	if (len > INT32_MAX)
		len = INT32_MAX;
	io_uring_prep_write(corio__op_sqe(&op), s->fd, buf, (unsigned)len, (uint64_t)-1);
	return corio__op_await(&op, 0);
}

static int fd_close(corio_stream *s)
{
	return corio_close(s->fd);
}

static ssize_t tls_read(corio_stream *s, void *buf, size_t len)
{
	return corio_tls_read(s->tls, buf, len);
}

static ssize_t tls_write(corio_stream *s, const void *buf, size_t len)
{
	return corio_tls_write(s->tls, buf, len);
}

/* close_notify first (so the peer can tell the end from a cut), then the fd, always. */
static int tls_close(corio_stream *s)
{
	int rc = corio_tls_shutdown(s->tls), rc2;

	corio_tls_free(s->tls);
	rc2 = corio_close(s->fd);
	return rc ? rc : rc2;
}

static const transport sock_tp = { sock_read, sock_write, fd_close };
static const transport file_tp = { file_read, file_write, fd_close };
static const transport tls_tp = { tls_read, tls_write, tls_close };

static corio_stream *stream_new(const transport *tp, int fd, corio_tls *tls)
{
	corio_stream *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->tp = tp;
	s->fd = fd;
	s->tls = tls;
	return s;
}

corio_stream *corio_stream_new(int fd)
{
	struct stat st;

	if (fd < 0)
		return NULL;
	return stream_new(fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? &sock_tp : &file_tp, fd,
			  NULL);
}

corio_stream *corio_stream_new_tls(corio_tls *t, int fd)
{
	if (!t || fd < 0)
		return NULL;
	return stream_new(&tls_tp, fd, t);
}

int corio_stream_fd(const corio_stream *s)
{
	return s ? s->fd : -EINVAL;
}

static ssize_t raw_read(corio_stream *s, void *buf, size_t len)
{
	return s->tp->read(s, buf, len);
}

static ssize_t raw_write(corio_stream *s, const void *buf, size_t len)
{
	return s->tp->write(s, buf, len);
}

/* Reads once more into the buffer (making room first). >0 bytes added, 0 at EOF, -errno.
 * On error nothing buffered is touched. */
static ssize_t fill(corio_stream *s)
{
	ssize_t n;
	int rc;

	if (s->eof)
		return 0;
	if (unread(s) == 0)
		s->rpos = s->rb.len = 0;
	if (s->rb.len == s->rb.cap && s->rpos > 0) {
		memmove(s->rb.p, s->rb.p + s->rpos, unread(s));
		s->rb.len -= s->rpos;
		s->rpos = 0;
	}
	/* Full: twice the room (RBUF_INIT the first time). */
	if (s->rb.len == s->rb.cap &&
	    (rc = corio__buf_reserve(&s->rb, s->rb.cap ? s->rb.cap : RBUF_INIT)) != 0)
		return rc;
	n = raw_read(s, s->rb.p + s->rb.len, s->rb.cap - s->rb.len);
	if (n == 0)
		s->eof = true;
	if (n > 0)
		s->rb.len += (size_t)n;
	return n;
}

static size_t take(corio_stream *s, void *buf, size_t len)
{
	size_t n = len < unread(s) ? len : unread(s);

	if (n == 0)
		return 0; /* rb.p may still be NULL */
	memcpy(buf, s->rb.p + s->rpos, n);
	s->rpos += n;
	return n;
}

ssize_t corio_stream_read_some(corio_stream *s, void *buf, size_t len)
{
	ssize_t n;

	if (!s || (!buf && len))
		return -EINVAL;
	if (len == 0)
		return 0;
	if (unread(s))
		return (ssize_t)take(s, buf, len);
	if (s->eof)
		return 0;
	if (len >= RBUF_INIT) {
		/* Large reads skip the copy. */
		n = raw_read(s, buf, len);
		if (n == 0)
			s->eof = true;
		return n;
	}
	n = fill(s);
	return n <= 0 ? n : (ssize_t)take(s, buf, len);
}

ssize_t corio_stream_read_exact(corio_stream *s, void *buf, size_t len)
{
	char *p = buf;
	size_t done;

	if (!s || (!buf && len))
		return -EINVAL;
	done = take(s, p, len);
	while (done < len) {
		ssize_t n = corio_stream_read_some(s, p + done, len - done);

		if (n < 0)
			return n;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t corio_stream_read_until(corio_stream *s, const void *delim, size_t dlen, void *buf,
				size_t max)
{
	size_t scanned = 0; /* bytes already searched without a match */

	if (!s || !delim || dlen == 0 || (!buf && max))
		return -EINVAL;
	for (;;) {
		size_t from = scanned >= dlen ? scanned - (dlen - 1) : 0;
		char *base = s->rb.p + s->rpos;
		char *hit = unread(s) > from ? memmem(base + from, unread(s) - from, delim, dlen)
					     : NULL;
		ssize_t n;

		if (hit) {
			size_t end = (size_t)(hit - base) + dlen;

			if (end > max)
				return -EMSGSIZE; /* nothing consumed */
			return (ssize_t)take(s, buf, end);
		}
		if (unread(s) >= max)
			return -EMSGSIZE;
		scanned = unread(s);
		if (s->eof)
			return (ssize_t)take(s, buf, unread(s));
		n = fill(s);
		if (n < 0)
			return n; /* what was buffered stays buffered */
	}
}

/* Writes wb out; on error the unsent tail stays buffered. */
int corio_stream_flush(corio_stream *s)
{
	size_t done = 0;
	int rc = 0;

	if (!s)
		return -EINVAL;
	while (done < s->wb.len) {
		ssize_t n = raw_write(s, s->wb.p + done, s->wb.len - done);

		if (n <= 0) {
			rc = n < 0 ? (int)n : -EPIPE;
			break;
		}
		done += (size_t)n;
	}
	if (done) {
		memmove(s->wb.p, s->wb.p + done, s->wb.len - done);
		s->wb.len -= done;
	}
	return rc;
}

static ssize_t write_direct(corio_stream *s, const char *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = raw_write(s, p + done, len - done);

		if (n <= 0)
			return n < 0 ? n : -EPIPE;
		done += (size_t)n;
	}
	return (ssize_t)len;
}

ssize_t corio_stream_write(corio_stream *s, const void *buf, size_t len)
{
	int rc;

	if (!s || (!buf && len))
		return -EINVAL;
	if (s->wb.len + len > WBUF_HIGH) {
		rc = corio_stream_flush(s);
		if (rc < 0)
			return rc;
		if (len >= WBUF_HIGH)
			return write_direct(s, buf, len);
	}
	/* At most WBUF_HIGH bytes stay buffered: above, what was buffered went out first. */
	rc = corio__buf_append(&s->wb, buf, len);
	return rc < 0 ? rc : (ssize_t)len;
}

int corio_stream_close(corio_stream *s)
{
	int rc, rc2;

	if (!s)
		return -EINVAL;
	rc = s->wb.len ? corio_stream_flush(s) : 0;
	rc2 = s->tp->close(s);
	corio__buf_free(&s->rb);
	corio__buf_free(&s->wb);
	free(s);
	return rc ? rc : rc2;
}
