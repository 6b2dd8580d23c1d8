/* http/server/conn.c: one connection's coroutine: reading each request's head under the idle
 * and header deadlines, the limit answers (400, 408, 413, 414, 431, 501, 505), the handler
 * call, keep-alive and pipelining (a request already buffered is parsed only after the
 * previous response was written or corked), the streamed body reads with 100-continue and
 * the body deadline, and closing (lingering after an error answer so the client reads it). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <corio/fs.h>

#include "http/server/server_internal.h"

#define LINGER_NS CORIO_SEC(2)   /* after an error answer: read and drop input this long */
#define LINGER_BYTES (1u << 20)

static uint64_t deadline_after(uint64_t ns)
{
	return corio__deadline_after(ns); /* the loop turn's clock (runtime/time/deadline.h) */
}

/* Receiving: through a multishot receiver per connection (corio_receiver, net.h: one
 * request stays armed for the connection's life, so no receive is submitted and no poll
 * armed per request, and a connection holds at most ~64 KiB of the loop's buffer pool),
 * or a plain corio_recv per read with CORIO_HTTP_RECV=plain and where the kernel has no
 * provided-buffer rings (5.19) or multishot receive (6.0). Measured in the README. */
static bool recv_plain;
static pthread_once_t recv_mode_once = PTHREAD_ONCE_INIT;

static void recv_mode_init(void)
{
	const char *e = getenv("CORIO_HTTP_RECV");

	recv_plain = e && strcmp(e, "plain") == 0;
}

/* The deadline is a loop-kept one (runtime/time/deadline.h), not a timeout scope: no linked
 * timeout per receive. It interrupts the receiver's wait as well as a plain receive. */
static ssize_t recv_until(corio__hconn *c, void *buf, size_t len, uint64_t deadline)
{
	corio__deadline d;
	ssize_t n;

	corio__deadline_begin(&d, deadline);
	n = c->rx ? corio_receiver_recv(c->rx, buf, len) : corio_recv(c->fd, buf, len, 0);
	return corio__deadline_end(&d, n);
}

/* The next request's head. 0: ready for the handler; > 0: the status to answer with before
 * closing; -1: close without a word (EOF, idle timeout, shutdown, network error). */
static int read_head(corio__hconn *c)
{
	corio_http_server *srv = c->hl->srv;
	corio_http_in *r = &c->req;
	uint64_t idle_deadline = deadline_after(srv->o.idle_timeout_ns), head_deadline = 0;
	int st;

	for (;;) {
		bool idle;
		ssize_t n;

		if (c->rpos < c->wpos) {
			llhttp_errno_t err;

			if (!head_deadline)
				head_deadline = deadline_after(srv->o.header_timeout_ns);
			err = corio__h1_execute(c);
			if (err == HPE_PAUSED && r->headers_done)
				break;
			if (err != HPE_OK)
				return r->err_status ? r->err_status : 400;
			if (r->hdr_raw > srv->o.max_header_bytes)
				return r->url_len || r->alen == 0 ? 431 : 414;
			continue;
		}
		if (corio__out_flush(c) != 0)
			return -1;
		idle = r->hdr_raw == 0;
		if (idle && c->hl->stopping)
			return -1;
		c->rpos = c->wpos = 0; /* all parsed: the head so far is in the arena */
		c->idle = idle;
		n = recv_until(c, c->buf, c->cap, idle ? idle_deadline : head_deadline);
		c->idle = false;
		if (n == -ETIMEDOUT && !idle)
			return 408;
		if (n <= 0)
			return -1;
		c->wpos = (size_t)n;
	}
	if (r->hdr_raw > srv->o.max_header_bytes)
		return 431;
	st = corio__h1_finish_headers(c);
	/* Without a body the message is complete now, but llhttp only says so when it runs
	 * again (it was paused at the end of the headers). This run reaches on_message_complete
	 * and pauses there before consuming a byte of any pipelined request behind. */
	if (st == 0 && r->content_length == 0 && !r->chunked && corio__h1_execute(c) != HPE_PAUSED)
		return 400;
	return st;
}

static int send_continue(corio__hconn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	corio_timeout t;
	ssize_t n;

	c->req.continue_sent = true;
	if (corio__out_flush(c) != 0)
		return -EPIPE;
	corio_timeout_enter_at(&t, deadline_after(c->hl->srv->o.write_timeout_ns));
	n = corio_send_all(c->fd, cont, sizeof cont - 1);
	corio_timeout_exit(&t);
	return n < 0 ? (int)n : 0;
}

static void body_failed(corio__hconn *c, int err)
{
	c->req.body_err = err;
	c->keep = false;
	if (err == -ETIMEDOUT && !c->req.err_status)
		c->req.err_status = 408;
	if (err != -EMSGSIZE && err != -ETIMEDOUT && err != -EBADMSG)
		c->broken = true; /* the connection itself failed: nothing more can be sent */
}

/* One step of body input: parse what is buffered, or receive more. */
static void body_more(corio__hconn *c)
{
	corio_http_in *r = &c->req;
	ssize_t n;

	if (c->rpos < c->wpos) {
		llhttp_errno_t err = corio__h1_execute(c);

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
		r->deadline = deadline_after(c->hl->srv->o.body_timeout_ns);
	n = recv_until(c, c->buf, c->cap, r->deadline);
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
	corio__hconn *c = r->c;

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

int corio_http_in_body(corio_http_in *r, const char **body, size_t *len)
{
	size_t cap = body_next_cap(r, 0), n = 0;
	char *b;

	if (r->whole) {
		*body = r->whole;
		*len = r->whole_len;
		return 0;
	}
	if (!(b = malloc(cap)))
		return -ENOMEM;
	for (;;) {
		ssize_t k;

		if (n + 1 == cap && body_next_cap(r, cap) > cap) {
			size_t ncap = body_next_cap(r, cap);
			char *nb = realloc(b, ncap);

			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap = ncap;
		}
		k = corio_http_in_read(r, b + n, cap - 1 - n);
		if (k < 0) {
			free(b);
			return (int)k;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	b[n] = '\0';
	r->whole = b;
	r->whole_len = n;
	*body = b;
	*len = n;
	return 0;
}

/* Half-closes and reads what the client still sends, so that closing does not reset the
 * connection before the client has read our answer (RFC 9112 9.6). */
static void linger(corio__hconn *c)
{
	uint64_t deadline = deadline_after(LINGER_NS);
	size_t total = 0;

	if (corio_shutdown(c->fd, SHUT_WR) != 0)
		return;
	while (total < LINGER_BYTES) {
		ssize_t n = recv_until(c, c->buf, c->cap, deadline);

		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

static void serve(corio__hconn *c)
{
	corio_http_server *srv = c->hl->srv;

	corio__h1_init(c);
	for (;;) {
		int st;

		corio__h1_next(c);
		corio__out_reset(c);
		st = read_head(c);
		if (st < 0)
			break;
		if (st > 0) {
			c->keep = false;
			if (corio__out_simple(c, st, true) == 0)
				linger(c);
			break;
		}
		c->nreq++;
		c->keep = corio__h1_keep_alive(c) && !c->req.upgrade &&
			  (!srv->o.max_requests || c->nreq < srv->o.max_requests);
		srv->handler(&c->req, &c->resp, srv->ud);
		corio__out_complete(c);
		if (c->broken)
			break;
		if (!c->keep) {
			if (corio__out_flush(c) == 0 && (c->req.body_err || c->rpos < c->wpos))
				linger(c);
			break;
		}
	}
	corio__out_flush(c);
}

static void conn_free(corio__hconn *c)
{
	corio__h1_next(c); /* frees the body copy */
	free(c->req.arena);
	free(c->req.hdrs);
	corio__out_free(c);
	free(c->buf);
	free(c->obuf);
	for (int i = 0; i < 2; i++)
		if (c->pipe[i] >= 0)
			corio_close(c->pipe[i]);
	free(c);
}

void *corio__hconn_main(void *arg)
{
	corio__hconn *c = arg;
	corio__hloop *hl = c->hl;

	c->started = true;
	c->cap = hl->srv->o.read_buffer;
	pthread_once(&recv_mode_once, recv_mode_init);
	if (!hl->stopping && (c->buf = malloc(c->cap))) {
		if (!recv_plain)
			c->rx = corio_receiver_new(c->fd); /* NULL: plain receives */
		serve(c);
	}
	corio_receiver_free(c->rx); /* its final CQE may come after the close */
	corio_close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		hl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	conn_free(c);
	if (--hl->nconns == 0 && hl->stopping)
		corio_event_set(&hl->drained);
	return NULL;
}
