/* http/server/conn.c: one connection's coroutine: reading each request's head under the idle
 * and header deadlines, the limit answers (400, 408, 413, 414, 431, 501, 505), the handler
 * call, keep-alive and pipelining (a request already buffered is parsed only after the
 * previous response was written or corked), and closing (lingering after an error answer so
 * the client reads it). The top of the server's files: it calls the writer, the body reader
 * (through the handler), the parser and io.c, and none of them calls back. Parks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <corio/fs.h>

#include "http/server/server_internal.h"
#include "runtime/core/trim.h" /* runtime/: an idle task's stack pages */

#define LINGER_NS CORIO_SEC(2)   /* after an error answer: read and drop input this long */
#define LINGER_BYTES (1u << 20)
/* A keep-alive connection idle this long gives back what only a request needs (lean). */
#define LEAN_AFTER_NS CORIO_SEC(1)

static uint64_t deadline_after(uint64_t ns)
{
	return corio__deadline_after(ns); /* the loop turn's clock (runtime/time/deadline.h) */
}

/* What a connection holds only for a request: the input buffer, the head's arena and
 * field table, the output buffers, TLS's empty buffers, and the stack pages the handler
 * and parser touched.
 * Nothing of it is live between requests (the head so far is empty, the output flushed). */
static void go_lean(corio__hserver_conn *c)
{
	corio__hserver_buf_put(&c->hl->bufs, c->buf);
	c->buf = NULL;
	corio__buf_free(&c->req.arena);
	free(c->req.hdrs);
	c->req.hdrs = NULL;
	c->req.hcap = 0;
	corio__buf_free(&c->obuf);
	corio__hserver_out_free(c);
	corio__tls_trim(c->tls);
	corio__task_trim_stack();
	c->hl->released++;
}

/* The wait for a keep-alive connection's next request. A client with more to ask usually
 * asks within a second: until then the connection waits as it is, buffer ready. Past that
 * it goes lean and waits for input holding no buffer, so that an idle connection costs its
 * structs and its stack's top page (README "Memory"), and takes a buffer again when the
 * request comes. */
static ssize_t recv_idle(corio__hserver_conn *c, uint64_t idle_deadline)
{
	uint64_t lean_at = deadline_after(LEAN_AFTER_NS);
	ssize_t n;
	int rc;

	if (lean_at >= idle_deadline)
		return corio__hserver_recv(c, c->buf, c->cap, idle_deadline);
	n = corio__hserver_recv(c, c->buf, c->cap, lean_at);
	if (n != -ETIMEDOUT)
		return n;
	go_lean(c);
	c->hl->lean++;
	rc = corio__hserver_wait_input(c, idle_deadline);
	c->hl->lean--;
	if (rc < 0)
		return rc;
	if (!(c->buf = corio__hserver_buf_get(&c->hl->bufs)))
		return -ENOMEM;
	return corio__hserver_recv(c, c->buf, c->cap, idle_deadline);
}

/* The next request's head. 0: ready for the handler; > 0: the status to answer with before
 * closing; -1: close without a word (EOF, idle timeout, shutdown, network error). */
static int read_head(corio__hserver_conn *c)
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
			err = corio__hserver_parser_execute(c);
			if (err == HPE_PAUSED && r->headers_done)
				break;
			if (err != HPE_OK)
				return r->err_status ? r->err_status : 400;
			if (r->hdr_raw > srv->o.max_header_bytes)
				return r->url_len || r->arena.len == 0 ? 431 : 414;
			continue;
		}
		if (corio__hserver_flush(c) != 0)
			return -1;
		idle = r->hdr_raw == 0;
		if (idle && c->hl->stopping)
			return -1;
		c->rpos = c->wpos = 0; /* all parsed: the head so far is in the arena */
		c->phase = idle ? CORIO__HSERVER_IDLE : CORIO__HSERVER_BUSY;
		n = idle ? recv_idle(c, idle_deadline)
			 : corio__hserver_recv(c, c->buf, c->cap, head_deadline);
		c->phase = CORIO__HSERVER_BUSY;
		if (n == -ETIMEDOUT && !idle)
			return 408;
		if (n <= 0)
			return -1;
		c->wpos = (size_t)n;
	}
	if (r->hdr_raw > srv->o.max_header_bytes)
		return 431;
	st = corio__hserver_parser_finish_headers(c);
	/* Without a body the message is complete now, but llhttp only says so when it runs
	 * again (it was paused at the end of the headers). This run reaches on_message_complete
	 * and pauses there before consuming a byte of any pipelined request behind. */
	if (st == 0 && r->content_length == 0 && !r->chunked &&
	    corio__hserver_parser_execute(c) != HPE_PAUSED)
		return 400;
	return st;
}

/* HTTPS: close_notify before the socket closes, so the client can tell the end of the
 * stream from a cut (a close-delimited body is only complete with it). Once per
 * connection (corio_tls_shutdown answers 0 at once the second time); never on a broken
 * connection, whose sending side failed. */
static int tls_close_notify(corio__hserver_conn *c)
{
	corio__deadline d;

	if (!c->tls || corio__hserver_broken(c))
		return 0;
	corio__deadline_begin(&d, corio__hserver_write_deadline(c));
	return (int)corio__deadline_end(&d, corio_tls_shutdown(c->tls));
}

/* The TLS handshake of a new HTTPS connection, counted against the header timeout (a slow
 * or silent client is dropped when it runs out). The connection is idle meanwhile: a
 * graceful shutdown cancels it as it would a keep-alive wait. A failure (plain HTTP on
 * the TLS port, an alert, a cut) closes the connection without a word. */
static bool tls_handshake(corio__hserver_conn *c)
{
	corio_http_server *srv = c->hl->srv;
	corio__deadline d;
	int rc;

	c->phase = CORIO__HSERVER_IDLE;
	corio__deadline_begin(&d, deadline_after(srv->o.header_timeout_ns));
	rc = (int)corio__deadline_end(&d, corio_tls_accept(c->fd, srv->o.tls, &c->tls));
	c->phase = CORIO__HSERVER_BUSY;
	return rc == 0 && !c->hl->stopping;
}

/* Half-closes and reads what the client still sends, so that closing does not reset the
 * connection before the client has read our answer (RFC 9112 9.6). */
static void linger(corio__hserver_conn *c)
{
	uint64_t deadline = deadline_after(LINGER_NS);
	size_t total = 0;

	if (tls_close_notify(c) != 0 || corio_shutdown(c->fd, SHUT_WR) != 0)
		return;
	while (total < LINGER_BYTES) {
		ssize_t n = corio__hserver_recv(c, c->buf, c->cap, deadline);

		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

static void serve(corio__hserver_conn *c)
{
	corio_http_server *srv = c->hl->srv;

	corio__hserver_parser_init(c);
	for (;;) {
		int st;

		corio__hserver_parser_next(c);
		corio__hserver_out_reset(c);
		st = read_head(c);
		if (st < 0)
			break;
		if (st > 0) {
			int rc;

			corio__hserver_set_keep(c, false);
			rc = corio__hserver_out_simple(c, st, true);
			corio__hserver_log_request(c);
			if (rc == 0)
				linger(c);
			break;
		}
		c->nreq++;
		corio__hserver_set_keep(c, corio__hserver_parser_keep_alive(c) && !c->req.upgrade &&
					   (!srv->o.max_requests || c->nreq < srv->o.max_requests));
		srv->handler(&c->req, &c->resp, srv->ud);
		corio__hserver_out_complete(c);
		corio__hserver_log_request(c);
		if (corio__hserver_broken(c))
			break;
		if (!corio__hserver_keeps(c)) {
			if (corio__hserver_flush(c) == 0 && (c->req.body_err || c->rpos < c->wpos))
				linger(c);
			break;
		}
	}
	if (corio__hserver_flush(c) == 0)
		tls_close_notify(c);
}

static void conn_free(corio__hserver_conn *c)
{
	corio__hserver_parser_next(c); /* frees the body copy */
	corio__buf_free(&c->req.arena);
	free(c->req.hdrs);
	corio__hserver_out_free(c);
	corio__hserver_buf_put(&c->hl->bufs, c->buf);
	corio__buf_free(&c->obuf);
	for (int i = 0; i < 2; i++)
		if (c->pipe[i] >= 0)
			corio_close(c->pipe[i]);
	free(c);
}

void *corio__hserver_conn_main(void *arg)
{
	corio__hserver_conn *c = arg;
	corio__hserver_loop *hl = c->hl;

	c->phase = CORIO__HSERVER_BUSY;
	c->cap = hl->srv->o.read_buffer;
	if (!hl->stopping && (!hl->srv->o.tls || tls_handshake(c))) {
		corio__hserver_rx_open(c);
		if ((c->buf = corio__hserver_buf_get(&hl->bufs)))
			serve(c);
	}
	corio_receiver_free(c->rx); /* its final CQE may come after the close */
	corio_tls_free(c->tls);
	corio_close(c->fd);
	corio__list_remove(&hl->conns, &c->link);
	conn_free(c);
	hl->released++;
	if (--hl->nconns == 0 && hl->stopping)
		corio_event_set(&hl->drained);
	return NULL;
}
