/* http/server/body.c: the request body reader (corio_http_in_read, corio_http_in_body):
 * the body parsed from the connection's buffer as the handler asks for it, 100 Continue
 * sent the first time the handler waits for body bytes the client holds back, the body
 * deadline (from the first wait), and what a failed body read means for the connection
 * (an answer still possible, or broken). Reads park. Below the writer, which drains an
 * unread body through it; above io.c and parser.c only. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/server/server_internal.h"

static int send_continue(corio__hserver_conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct iovec iov = { (void *)cont, sizeof cont - 1 };

	c->req.continue_sent = true;
	if (corio__hserver_flush(c) != 0)
		return -EPIPE;
	return corio__hserver_send_iov(c, &iov, 1);
}

static void body_failed(corio__hserver_conn *c, int err)
{
	c->req.body_err = err;
	corio__hserver_set_keep(c, false);
	if (err == -ETIMEDOUT && !c->req.err_status)
		c->req.err_status = 408;
	if (err != -EMSGSIZE && err != -ETIMEDOUT && err != -EBADMSG)
		c->fate = CORIO__HSERVER_BROKEN; /* the connection itself failed: nothing more can be sent */
}

/* One step of body input: parse what is buffered, or receive more. */
static void body_more(corio__hserver_conn *c)
{
	corio_http_in *r = &c->req;
	ssize_t n;

	if (c->rpos < c->wpos) {
		llhttp_errno_t err = corio__hserver_parser_execute(c);

		if (err == HPE_OK || (err == HPE_PAUSED && r->msg_done))
			return;
		if (err == HPE_PAUSED_UPGRADE && r->msg_done)
			return;
		body_failed(c, r->err_status == 413 ? -EMSGSIZE : -EBADMSG);
		return;
	}
	/* 100 Continue only while the client waits for it: not once body bytes came anyway,
	 * and not after the final answer started. */
	if (r->expect_continue && !r->continue_sent && !c->resp.started && r->body_read == 0) {
		int rc = send_continue(c);

		if (rc < 0) {
			body_failed(c, rc == -ETIMEDOUT ? -ECONNRESET : rc);
			return;
		}
	}
	c->rpos = c->wpos = 0;
	if (!r->deadline) /* from the first wait for body bytes */
		r->deadline = corio__deadline_after(c->hl->srv->o.body_timeout_ns);
	n = corio__hserver_recv(c, c->buf, c->cap, r->deadline);
	if (n > 0) {
		c->wpos = (size_t)n;
		return;
	}
	/* EOF before the message's end is a truncated body, never a complete one
	 * (llhttp_finish says HPE_INVALID_EOF_STATE: a request body is never EOF-delimited). */
	if (n == 0 && llhttp_finish(&c->parser) == HPE_OK && r->msg_done)
		return;
	body_failed(c, n == 0 ? -ECONNRESET : (int)n);
}

ssize_t corio_http_in_read(corio_http_in *r, void *buf, size_t len)
{
	corio__hserver_conn *c = r->c;

	if (!buf && len)
		return -EINVAL;
	for (;;) {
		if (r->blen) {
			size_t n = r->blen < len ? r->blen : len;

			memcpy(buf, r->bptr, n);
			r->bptr += n;
			r->blen -= n;
			return (ssize_t)n;
		}
		if (r->msg_done)
			return 0;
		if (r->body_err)
			return r->body_err;
		if (len == 0)
			return 0;
		body_more(c);
	}
}

/* What a claimed Content-Length buys before its bytes arrive: a client may claim up to
 * max_body_bytes (no limit at all when configured so) and send nothing. Beyond this the
 * buffer grows with what arrives, doubling, never past the claimed length. */
#define BODY_FIRST_MAX ((size_t)256 << 10)

static size_t body_next_cap(const corio_http_in *r, size_t cap)
{
	size_t want = r->content_length > 0 ? (size_t)r->content_length + 1 : SIZE_MAX;

	if (cap == 0)
		return want == SIZE_MAX ? 4096 : want < BODY_FIRST_MAX ? want : BODY_FIRST_MAX;
	return cap > want / 2 ? want : cap * 2;
}

/* Grows b to exactly body_next_cap's size (max = the new size: buf.h's doubling never
 * goes past what the rule allows). 0 or -ENOMEM. */
static int body_grow(const corio_http_in *r, corio__buf *b)
{
	size_t ncap = body_next_cap(r, b->cap);

	return corio__buf_reserve_max(b, ncap - b->len, ncap) == 0 ? 0 : -ENOMEM;
}

int corio_http_in_body(corio_http_in *r, const char **body, size_t *len)
{
	corio__buf b = CORIO__BUF_INIT;

	if (r->whole) {
		*body = r->whole;
		*len = r->whole_len;
		return 0;
	}
	if (body_grow(r, &b) != 0)
		return -ENOMEM;
	for (;;) {
		ssize_t k;

		/* Full (one byte kept for the NUL): grow while the rule allows more. */
		if (b.len + 1 == b.cap && body_next_cap(r, b.cap) > b.cap && body_grow(r, &b) != 0) {
			corio__buf_free(&b);
			return -ENOMEM;
		}
		k = corio_http_in_read(r, b.p + b.len, b.cap - 1 - b.len);
		if (k < 0) {
			corio__buf_free(&b);
			return (int)k;
		}
		if (k == 0)
			break;
		b.len += (size_t)k;
	}
	b.p[b.len] = '\0';
	r->whole = b.p; /* owned by the request from here (freed by parser_next) */
	r->whole_len = b.len;
	*body = b.p;
	*len = b.len;
	return 0;
}

