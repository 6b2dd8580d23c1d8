/* http/server/writer.c: the response writer (corio_http_out): the status line and headers
 * (Server, Date, framing, Connection), bodies from memory, from a file (read behind the
 * headers for small bodies; read + send, or splice through a per-connection pipe, for large
 * ones) or streamed (chunked, announced length, or close-delimited for HTTP/1.0), corking of
 * pipelined responses, the 500 for handlers that answered nothing, and after the handler
 * the drain of an unread body (through body.c) that decides keep-alive. A gzip compressor
 * armed on the response (compress.c) takes its body calls over. Sends park (through io.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <corio/fs.h>

#include "http/common/date.h"
#include "http/common/token.h"
#include "http/server/server_internal.h"

#define CORK_MAX (64u << 10)      /* corked pipelined responses are sent at this size */
#define INLINE_MAX (64u << 10)    /* bodies up to this size are copied behind the headers */
#define FILE_CHUNK (256u << 10)   /* read/send block, and the pipe size asked for splice */
#define DRAIN_MAX (256u << 10)    /* unread body bytes swallowed to keep a connection */

/* Large file bodies: read + send through a 256 KiB per-connection buffer (the default), or
 * splice file -> pipe -> socket (CORIO_HTTP_FILE=splice). Measured on this project's 2-core
 * VM (kernel 6.18, server and wrk -c8 pinned to different CPUs, page-cached files): read +
 * send 10-12k req/s for 256 KiB files, 2.4-2.6k for 1 MiB, ~105 for 16 MiB; splice 7.5k,
 * 1.4-1.9k, 65-73. The splice into a blocking socket is punted to io-wq threads; the copy
 * it saves costs less than that here. With 64 KiB blocks both were slower still. */
static int file_mode; /* 0 read, 1 splice */
static pthread_once_t file_mode_once = PTHREAD_ONCE_INIT;

static void file_mode_init(void)
{
	const char *e = getenv("CORIO_HTTP_FILE");

	file_mode = e && strcmp(e, "splice") == 0;
}

/* The output buffer's first size: a response head with a small body in one allocation. */
#define OBUF_FIRST 4096

/* Room for more bytes of output; put() then copies them without a check. */
static int reserve(corio__hserver_conn *c, size_t more)
{
	return corio__buf_reserve(&c->obuf, !c->obuf.cap && more < OBUF_FIRST ? OBUF_FIRST : more);
}

static void put(corio__hserver_conn *c, const void *p, size_t n)
{
	if (n == 0)
		return; /* p may be NULL (no user headers) */
	memcpy(c->obuf.p + c->obuf.len, p, n);
	c->obuf.len += n;
}

static void puts_(corio__hserver_conn *c, const char *s)
{
	put(c, s, strlen(s));
}

/* Sends now, or leaves the bytes corked when another pipelined request is already
 * buffered behind this one (its response will join them). Only behind a complete request
 * are the buffered bytes the next request: before, they are this request's body, and an
 * answer corked behind the body's end would wait for a client that may be waiting for the
 * answer before it sends the rest (or sends it slowly): a body timeout of silence. */
static int flush_or_cork(corio__hserver_conn *c)
{
	if (corio__hserver_keeps(c) && c->req.msg_done && c->rpos < c->wpos && c->obuf.len < CORK_MAX)
		return 0;
	return corio__hserver_flush(c);
}

/* The Date header value, formatted once per second per thread. */
static const char *date_now(void)
{
	static __thread time_t last = -1;
	static __thread char buf[32];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	if (ts.tv_sec != last) {
		last = ts.tv_sec;
		corio__http_date(buf, ts.tv_sec);
	}
	return buf;
}

/* ---- starting a response ---------------------------------------------------------------- */

static void put_u64(corio__hserver_conn *c, uint64_t v)
{
	char tmp[24];
	int i = sizeof tmp;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(c, tmp + i, sizeof tmp - (size_t)i);
}

enum { BODY_LEN, BODY_STREAM };

/* Whether the connection can outlive this response, as far as the request is concerned. */
static bool can_keep(corio__hserver_conn *c)
{
	corio_http_in *r = &c->req;

	if (!corio__hserver_keeps(c) || c->resp.user_close || c->hl->stopping || r->body_err)
		return false;
	if (r->msg_done || !r->headers_done)
		return r->msg_done ? r->keep_msg : false;
	/* The body was not read (yet): a client waiting for 100 Continue sends nothing more,
	 * and a large rest is not worth swallowing. */
	if (r->expect_continue && !r->continue_sent)
		return false;
	return !(r->content_length > 0 &&
		 (uint64_t)r->content_length - r->body_read > DRAIN_MAX);
}

/* The status line, Server and Date (unless the handler set them) and the handler's
 * headers. The caller reserved the room. */
static void put_head(corio__hserver_conn *c, corio_http_out *w, const char *server,
		     const char *reason)
{
	char st[4] = { (char)('0' + w->status / 100), (char)('0' + w->status / 10 % 10),
		       (char)('0' + w->status % 10), ' ' };

	put(c, CORIO__LIT("HTTP/1.1 "));
	put(c, st, 4);
	puts_(c, reason);
	put(c, CORIO__LIT("\r\n"));
	if (*server && !w->user_server) {
		put(c, CORIO__LIT("Server: "));
		puts_(c, server);
		put(c, CORIO__LIT("\r\n"));
	}
	if (!w->user_date) {
		put(c, CORIO__LIT("Date: "));
		put(c, date_now(), CORIO__HTTP_DATE_LEN);
		put(c, CORIO__LIT("\r\n"));
	}
	put(c, w->hdr.p, w->hdr.len);
}

/* Content-Length or Transfer-Encoding, Connection, and the blank line. */
static void put_framing(corio__hserver_conn *c, corio_http_out *w, bool keep, int version)
{
	if (w->no_body) {
		/* 1xx, 204 and 304 carry no framing headers */
	} else if (w->has_length) {
		put(c, CORIO__LIT("Content-Length: "));
		put_u64(c, w->length);
		put(c, CORIO__LIT("\r\n"));
	} else if (w->chunked) {
		puts_(c, "Transfer-Encoding: chunked\r\n");
	}
	if (!keep)
		puts_(c, "Connection: close\r\n");
	else if (version < 11)
		puts_(c, "Connection: keep-alive\r\n");
	put(c, CORIO__LIT("\r\n"));
}

/* Queues the response head in c->obuf.p and settles the body's framing and keep-alive. */
static int start(corio_http_out *w, int mode, uint64_t len)
{
	corio__hserver_conn *c = w->c;
	corio_http_in *r = &c->req;
	const char *server = c->hl->srv->o.server_name;
	const char *reason = corio_http_reason(w->status);
	int version = r->version ? r->version : 11;
	bool keep = can_keep(c);

	w->started = true;
	w->head = r->method && strcmp(r->method, "HEAD") == 0;
	w->no_body = w->status < 200 || w->status == 204 || w->status == 304;
	if (mode == BODY_LEN) {
		w->has_length = true;
		w->length = len;
	} else if (!w->has_length && !w->no_body) {
		/* HTTP/1.0 has no chunked coding: the body ends with the connection. */
		if (version >= 11)
			w->chunked = true;
		else
			w->close_delimited = true, keep = false;
	}
	if (reserve(c, 256 + w->hdr.len + strlen(server) + strlen(reason)) != 0)
		return corio__hserver_broke(c, -ENOMEM);
	put_head(c, w, server, reason);
	put_framing(c, w, keep, version);
	corio__hserver_set_keep(c, keep);
	return 0;
}

/* ---- the public writer ------------------------------------------------------------------- */

/* What an armed compressor (compress.c) writes through, with itself unhooked meanwhile. */
static const corio__hserver_out_ops gz_ops = {
	corio_http_out_send, corio_http_out_write, corio_http_out_file, corio_http_out_finish,
	corio_http_out_header,
};

void corio__hserver_out_reset(corio__hserver_conn *c)
{
	corio_http_out *w = &c->resp;

	corio__hserver_gz_free(w);
	/* The header block's memory is kept for the next response. */
	*w = (corio_http_out){ .c = c, .status = 200, .hdr = { w->hdr.p, 0, w->hdr.cap } };
}

void corio__hserver_out_free(corio__hserver_conn *c)
{
	corio__hserver_gz_free(&c->resp);
	corio__buf_free(&c->resp.hdr);
}

int corio_http_out_status(corio_http_out *w, int status)
{
	if (status < 200 || status > 999)
		return -EINVAL; /* interim (1xx) answers are the server's: 100 Continue */
	if (w->started)
		return -EALREADY;
	w->status = status;
	return 0;
}

int corio_http_out_header(corio_http_out *w, const char *name, const char *value)
{
	size_t nl, vl;

	if (!value || !corio__http_framing_safe_name(name) || !corio__http_valid_value(value))
		return -EINVAL;
	if (w->started)
		return -EALREADY;
	nl = strlen(name);
	vl = strlen(value);
	/* The names the server writes itself, told apart by length first (no compare for
	 * the usual Content-Type). */
	if (CORIO__IEQ_LIT(name, nl, "content-length") ||
	    CORIO__IEQ_LIT(name, nl, "transfer-encoding"))
		return -EINVAL;
	if (CORIO__IEQ_LIT(name, nl, "connection")) {
		if (strcasestr(value, "close"))
			w->user_close = true;
		return 0; /* the server writes Connection itself */
	}
	w->user_date |= CORIO__IEQ_LIT(name, nl, "date");
	w->user_server |= CORIO__IEQ_LIT(name, nl, "server");
	/* Reserved in one go: the appends below cannot fail, so no half header is left. */
	if (corio__buf_reserve(&w->hdr, nl + CORIO__SLEN(": ") + vl + CORIO__SLEN("\r\n")) != 0)
		return -ENOMEM;
	(void)corio__buf_append(&w->hdr, name, nl);
	(void)corio__buf_append(&w->hdr, CORIO__LIT(": "));
	(void)corio__buf_append(&w->hdr, value, vl);
	(void)corio__buf_append(&w->hdr, CORIO__LIT("\r\n"));
	return 0;
}

bool corio_http_out_started(const corio_http_out *w)
{
	return w->started;
}

/* sent counts body bytes handed to the socket (the access log's bytes): a send that failed
 * takes its len back. */
static int uncount_failed(corio_http_out *w, int rc, uint64_t len)
{
	if (rc < 0)
		w->sent -= len;
	return rc;
}

int corio_http_out_send(corio_http_out *w, const void *body, size_t len)
{
	corio__hserver_conn *c = w->c;
	int rc;

	if (!body && len)
		return -EINVAL;
	if (w->started)
		return -EALREADY;
	if (w->gz)
		return corio__hserver_gz_send(w, &gz_ops, body, len);
	if ((rc = start(w, BODY_LEN, len)) < 0)
		return rc;
	w->finished = true;
	w->sent = len;
	if (w->head || w->no_body || len == 0)
		return flush_or_cork(c);
	if (len <= INLINE_MAX && reserve(c, len) == 0) {
		put(c, body, len);
		return flush_or_cork(c);
	}
	{
		struct iovec iov[2] = { { c->obuf.p, c->obuf.len }, { (void *)body, len } };

		c->obuf.len = 0;
		return uncount_failed(w, corio__hserver_send_iov(c, iov, 2), len);
	}
}

int corio_http_out_error(corio_http_out *w, int status)
{
	char body[128];
	int n, rc;

	if (w->started)
		return -EALREADY;
	if ((rc = corio_http_out_status(w, status)) < 0)
		return rc;
	n = snprintf(body, sizeof body, "%d %s\n", status, corio_http_reason(status));
	if ((rc = corio_http_out_header(w, "Content-Type", "text/plain; charset=utf-8")) < 0)
		return rc;
	return corio_http_out_send(w, body, (size_t)n);
}

/* ---- file bodies ------------------------------------------------------------------------ */

static int pick_file_mode(void)
{
	pthread_once(&file_mode_once, file_mode_init);
	return file_mode;
}

static int make_pipe(corio__hserver_conn *c)
{
	if (c->pipe[0] >= 0)
		return 0;
	if (pipe2(c->pipe, O_CLOEXEC) != 0) {
		c->pipe[0] = c->pipe[1] = -1;
		return -errno;
	}
	fcntl(c->pipe[1], F_SETPIPE_SZ, FILE_CHUNK); /* the default 64 KiB if refused */
	return 0;
}

static void drop_pipe(corio__hserver_conn *c)
{
	corio_close(c->pipe[0]);
	corio_close(c->pipe[1]);
	c->pipe[0] = c->pipe[1] = -1;
}

/* The write deadline of a spliced body. A splice into a full socket blocks in an io-wq
 * worker, where cancelling it (a timeout scope's linked timeout) does not interrupt it:
 * measured on 6.18, it waited until the client read again. Shutting the socket down does
 * (the send fails with EPIPE), so a watchdog task does that once the deadline passes;
 * each step of the body moves the deadline on. */
typedef struct splice_watch {
	int fd;
	uint64_t deadline;
	bool fired;
} splice_watch;

static void *splice_watchdog(void *arg)
{
	splice_watch *w = arg;

	while (corio_sleep_until(w->deadline) == 0) { /* ends when cancelled */
		if (corio_now() >= w->deadline) {
			w->fired = true;
			shutdown(w->fd, SHUT_RDWR);
			break;
		}
	}
	return NULL;
}

/* file -> pipe -> socket. A pipe left holding bytes after a failure is dropped. */
static int splice_body(corio__hserver_conn *c, int fd, off_t off, uint64_t len)
{
	splice_watch w = { .fd = c->fd, .deadline = corio__hserver_write_deadline(c) };
	corio_task *wd = NULL;
	uint64_t done = 0;
	int rc = make_pipe(c);

	if (rc == 0 && !(wd = corio_spawn(splice_watchdog, &w)))
		rc = -ENOMEM;
	while (rc == 0 && done < len) {
		size_t want = len - done < FILE_CHUNK ? (size_t)(len - done) : FILE_CHUNK;
		ssize_t n = corio_splice(fd, off + (off_t)done, c->pipe[1], -1, want,
					 SPLICE_F_MOVE);

		if (n <= 0) {
			rc = n < 0 ? (int)n : -EIO;
			break;
		}
		w.deadline = corio__hserver_write_deadline(c);
		for (ssize_t k = 0; k < n;) {
			ssize_t m = corio_splice(c->pipe[0], -1, c->fd, -1, (size_t)(n - k),
						 SPLICE_F_MOVE);

			if (m <= 0) {
				rc = m < 0 ? (int)m : -EPIPE;
				break;
			}
			k += m;
		}
		done += (uint64_t)n;
	}
	if (wd) {
		corio_cancel(wd);
		corio_join(wd, NULL);
		if (w.fired)
			rc = -ETIMEDOUT; /* the socket is shut: nothing more can go out */
	}
	if (rc < 0 && c->pipe[0] >= 0)
		drop_pipe(c);
	return rc;
}

/* Clears O_NONBLOCK on fd, a regular file, where it means nothing but to io_uring: there
 * it asks for -EAGAIN instead of a wait for pages not in the page cache. */
static bool clear_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0;
}

/* corio_read of a file that may be O_NONBLOCK (the static handler opens files so, that a
 * FIFO cannot block the open; a caller's fd may be so too): a cached read costs no extra
 * syscall, and only a read that must wait for the disk clears the flag and goes again. */
static ssize_t file_read(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = corio_read(fd, buf, len, off);

	if (n == -EAGAIN && clear_nonblock(fd))
		n = corio_read(fd, buf, len, off);
	return n;
}

/* corio_read_full with file_read's retry; the retry starts over (the pages read before
 * the -EAGAIN are cached by then). */
static ssize_t file_read_full(int fd, char *buf, size_t len, off_t off)
{
	ssize_t n = corio_read_full(fd, buf, len, off);

	if (n == -EAGAIN && clear_nonblock(fd))
		n = corio_read_full(fd, buf, len, off);
	return n;
}

static int read_send_body(corio__hserver_conn *c, int fd, off_t off, uint64_t len)
{
	uint64_t done = 0;

	if (reserve(c, FILE_CHUNK) != 0)
		return -ENOMEM;
	while (done < len) {
		size_t want = len - done < FILE_CHUNK ? (size_t)(len - done) : FILE_CHUNK;
		ssize_t n = file_read(fd, c->obuf.p, want, off + (off_t)done);
		struct iovec iov;
		int rc;

		if (n <= 0)
			return n < 0 ? (int)n : -EIO;
		iov = (struct iovec){ c->obuf.p, (size_t)n };
		if ((rc = corio__hserver_send_iov(c, &iov, 1)) < 0)
			return rc;
		done += (uint64_t)n;
	}
	return 0;
}

int corio_http_out_file(corio_http_out *w, int fd, off_t offset, uint64_t len)
{
	corio__hserver_conn *c = w->c;
	size_t mark = c->obuf.len;
	bool splice;
	int rc;

	if (fd < 0 || offset < 0)
		return -EINVAL;
	if (w->started)
		return -EALREADY;
	if (w->gz)
		return corio__hserver_gz_file(w, &gz_ops, fd, offset, len);
	if ((rc = start(w, BODY_LEN, len)) < 0)
		return rc;
	if (w->head || w->no_body || len == 0) {
		w->finished = true;
		return flush_or_cork(c);
	}
	if (len <= INLINE_MAX) {
		ssize_t n = reserve(c, (size_t)len) ? -ENOMEM
			    : file_read_full(fd, c->obuf.p + c->obuf.len, (size_t)len, offset);

		if (n != (ssize_t)len) {
			/* Nothing went out: take the headers back, the caller may still answer. */
			c->obuf.len = mark;
			w->started = false;
			return n < 0 ? (int)n : -EIO;
		}
		c->obuf.len += (size_t)len;
		w->finished = true;
		w->sent = len;
		return flush_or_cork(c);
	}
	if ((rc = corio__hserver_flush(c)) < 0)
		return rc;
	w->finished = true;
	splice = pick_file_mode() && !c->tls; /* TLS encrypts in user space: no splice */
	if (splice)
		clear_nonblock(fd); /* splice has no retry of its own; one fcntl per large file */
	rc = splice ? splice_body(c, fd, offset, len) : read_send_body(c, fd, offset, len);
	if (c->obuf.cap > INLINE_MAX * 2)
		corio__buf_free(&c->obuf); /* idle keep-alive connections keep no file-sized buffer */
	if (rc < 0)
		return corio__hserver_broke(c, rc); /* the body is cut short: the connection must go */
	w->sent = len;
	return 0;
}

/* ---- streaming -------------------------------------------------------------------------- */

int corio_http_out_length(corio_http_out *w, uint64_t len)
{
	if (w->started)
		return -EALREADY;
	w->has_length = true;
	w->length = len;
	return 0;
}

int corio_http_out_write(corio_http_out *w, const void *data, size_t len)
{
	corio__hserver_conn *c = w->c;
	char size[24];
	int rc, n;

	if (!data && len)
		return -EINVAL;
	if (w->finished)
		return -EALREADY;
	if (w->gz)
		return corio__hserver_gz_write(w, &gz_ops, data, len);
	if (!w->started && (rc = start(w, BODY_STREAM, 0)) < 0)
		return rc;
	if (w->has_length && len > w->length - w->sent)
		return -EMSGSIZE;
	w->sent += len;
	if (w->head || w->no_body || len == 0)
		return corio__hserver_flush(c);
	if (!w->chunked) {
		struct iovec iov[2] = { { c->obuf.p, c->obuf.len }, { (void *)data, len } };

		c->obuf.len = 0;
		return uncount_failed(w, corio__hserver_send_iov(c, iov, 2), len);
	}
	n = snprintf(size, sizeof size, "%zx\r\n", len);
	if (reserve(c, (size_t)n + 2) != 0)
		return corio__hserver_broke(c, -ENOMEM);
	put(c, size, (size_t)n);
	{
		struct iovec iov[3] = { { c->obuf.p, c->obuf.len },
					{ (void *)data, len },
					{ "\r\n", 2 } };

		c->obuf.len = 0;
		return uncount_failed(w, corio__hserver_send_iov(c, iov, 3), len);
	}
}

int corio_http_out_finish(corio_http_out *w)
{
	corio__hserver_conn *c = w->c;

	if (w->finished)
		return w->err;
	if (w->gz)
		return corio__hserver_gz_finish(w, &gz_ops);
	if (!w->started) {
		if (!w->has_length || w->length == 0)
			return corio_http_out_send(w, "", 0);
		return -EIO; /* a length was announced and nothing written */
	}
	w->finished = true;
	if (w->chunked && !w->head) {
		if (reserve(c, 5) != 0)
			return corio__hserver_broke(c, -ENOMEM);
		put(c, CORIO__LIT("0\r\n\r\n"));
	}
	if (w->has_length && w->sent != w->length && !w->head && !w->no_body)
		return corio__hserver_broke(c, -EIO);
	if (w->close_delimited)
		corio__hserver_set_keep(c, false);
	return flush_or_cork(c);
}

int corio__hserver_out_simple(corio__hserver_conn *c, int status, bool close)
{
	if (close)
		corio__hserver_set_keep(c, false);
	corio__hserver_out_reset(c);
	return corio_http_out_error(&c->resp, status);
}

void corio__hserver_out_complete(corio__hserver_conn *c)
{
	corio_http_out *w = &c->resp;
	corio_http_in *r = &c->req;

	if (!w->started && !corio__hserver_broken(c)) {
		int e = r->body_err;
		int st = e == -EMSGSIZE || r->err_status == 413 ? 413
			 : e == -ETIMEDOUT ? 408 : e == -EBADMSG ? 400 : 500;

		if (e == -ECONNRESET) {
			c->fate = CORIO__HSERVER_BROKEN;
			return;
		}
		if (e)
			corio__hserver_set_keep(c, false);
		corio__hserver_out_reset(c); /* the handler's headers were for another answer */
		corio_http_out_error(w, st);
	} else if (w->started && !w->finished) {
		corio_http_out_finish(w);
	}
	if (w->err)
		c->fate = CORIO__HSERVER_BROKEN;
	if (!corio__hserver_keeps(c))
		return;
	if (!r->msg_done) {
		char scratch[2048];
		size_t total = 0;

		while (total <= DRAIN_MAX) {
			ssize_t n = corio_http_in_read(r, scratch, sizeof scratch);

			if (n <= 0)
				break;
			total += (size_t)n;
		}
	}
	if (!r->msg_done || !r->keep_msg)
		corio__hserver_set_keep(c, false);
}
