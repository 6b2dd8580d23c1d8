/* tests/http/ws_helpers.h: what the WebSocket suites (tests/http/test_ws_*.c) share: a corio
 * HTTP server whose handler upgrades and echoes, or closes, and records what its calls
 * returned (the test waits on an event, never on time); and a raw client that sends
 * hand-built frames (masked or not, any bits, any length form) and reads the server's
 * frames one by one. Everything stays on 127.0.0.1, ports bound by the kernel. */
#ifndef CORIO_TESTS_HTTP_WS_HELPERS_H
#define CORIO_TESTS_HTTP_WS_HELPERS_H

#include <corio/http_server.h>
#include <corio/ws.h>

#include "tests/support/helpers.h"

/* ---- the server under test ------------------------------------------------------------ */

typedef struct wsctx {
	corio_ws_opts o;
	bool close_after;     /* /echo: corio_ws_close(1000, "bye") after the first echo */
	int accept_rc;        /* what the handler's calls returned */
	int recv_rc;          /* the receive that ended the echo loop */
	int close_rc;
	int close_code;       /* corio_ws_close_code after the end */
	unsigned echoed;
	corio_event done;     /* set when the handler is about to return */
	corio_event upgraded; /* set once corio_ws_accept returned 0 */
} wsctx;

static inline void ws_handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	wsctx *x = ud;
	corio_ws *ws = NULL;
	const char *path = corio_http_in_path(req);

	x->accept_rc = corio_ws_accept_opts(req, resp, &x->o, &ws);
	if (x->accept_rc == 0) {
		corio_event_set(&x->upgraded);
		if (!strcmp(path, "/echo")) {
			const void *p;
			int op;
			ssize_t n;

			while ((n = corio_ws_recv_msg(ws, &op, &p)) >= 0) {
				if (corio_ws_send(ws, op, p, (size_t)n) != 0)
					break;
				x->echoed++;
				if (x->close_after)
					break;
			}
			x->recv_rc = n < 0 ? (int)n : 0;
		}
		x->close_rc = corio_ws_close(ws, CORIO_WS_NORMAL, "bye");
		x->close_code = corio_ws_close_code(ws);
		corio_ws_free(ws);
	}
	corio_event_set(&x->done);
}

typedef struct wssrv {
	corio_http_server *srv;
	corio_task *task;
	int port, rc;
} wssrv;

static inline void *wssrv_task(void *arg)
{
	wssrv *s = arg;

	s->rc = corio_http_server_serve(s->srv);
	return NULL;
}

static inline void wsctx_init(wsctx *x)
{
	memset(x, 0, sizeof *x);
	corio_ws_opts_init(&x->o);
	corio_event_init(&x->done);
	corio_event_init(&x->upgraded);
}

static inline int wssrv_start(wssrv *s, const corio_http_server_opts *o, wsctx *x)
{
	int rc;

	memset(s, 0, sizeof *s);
	if (!(s->srv = corio_http_server_new(o, ws_handler, x)))
		return -ENOMEM;
	if ((rc = corio_http_server_listen(s->srv, "127.0.0.1", 0)) < 0)
		return rc;
	s->port = corio_http_server_port(s->srv);
	s->task = corio_spawn(wssrv_task, s);
	return s->task ? 0 : -ENOMEM;
}

static inline int wssrv_stop(wssrv *s, uint64_t grace)
{
	int rc = corio_http_server_shutdown(s->srv, grace);

	if (rc == 0)
		rc = corio_join(s->task, NULL);
	if (rc == 0)
		rc = s->rc;
	corio_http_server_free(s->srv);
	return rc;
}

/* ---- the raw client ----------------------------------------------------------------------- */

#define RAW_CAP (4u << 20)

typedef struct raw {
	int fd;
	uint8_t *buf;
	size_t len;
} raw;

typedef struct rframe {
	bool fin;
	int rsv, op;
	bool masked;
	uint8_t *p; /* malloc'ed payload (unmasked), NUL-terminated */
	size_t len;
} rframe;

static inline int raw_connect(raw *c, int port)
{
	char ps[16];

	snprintf(ps, sizeof ps, "%d", port);
	c->len = 0;
	c->buf = malloc(RAW_CAP);
	c->fd = corio_tcp_connect("127.0.0.1", ps);
	return c->fd >= 0 && c->buf ? 0 : -1;
}

static inline void raw_close(raw *c)
{
	if (c->fd >= 0)
		corio_close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

static inline int raw_send(raw *c, const void *p, size_t n)
{
	return corio_send_all(c->fd, p, n) == (ssize_t)n ? 0 : -1;
}

/* More bytes (10 s at most: a test that hangs fails). 0, or -1 at EOF / error. */
static inline int raw_more(raw *c)
{
	corio_timeout t;
	ssize_t n;

	if (c->len == RAW_CAP)
		return -1;
	corio_timeout_enter(&t, CORIO_SEC(10));
	n = corio_recv(c->fd, c->buf + c->len, RAW_CAP - c->len, 0);
	corio_timeout_exit(&t);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	return 0;
}

static inline void raw_consume(raw *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Reads an HTTP head into head (NUL-terminated); returns the status, -1 on EOF first. */
static inline int raw_head(raw *c, char *head, size_t cap)
{
	uint8_t *end;
	size_t hl;

	while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
		if (raw_more(c) < 0)
			return -1;
	hl = (size_t)(end - c->buf) + 4;
	snprintf(head, cap, "%.*s", (int)hl, (const char *)c->buf);
	raw_consume(c, hl);
	return atoi(head + 9);
}

#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* RFC 6455 1.3 */

/* The opening handshake on path; extra: more header lines. Returns the status. */
static inline int raw_upgrade(raw *c, const char *path, const char *extra, char *head, size_t cap)
{
	char req[1024];

	snprintf(req, sizeof req,
		 "GET %s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: " WS_KEY "\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
		 path, extra ? extra : "");
	if (raw_send(c, req, strlen(req)) < 0)
		return -1;
	return raw_head(c, head, cap);
}

/* A frame as bytes: any opcode and bits; masked with a fixed key when mask is true; the
 * 64-bit length form when len64 (whatever the length). Returns its size. */
static inline size_t raw_build(uint8_t *out, bool fin, int rsv, int op, bool mask, bool len64,
			       const void *p, size_t len)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t n = 2;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
	out[1] = mask ? 0x80 : 0;
	if (len < 126 && !len64) {
		out[1] |= (uint8_t)len;
	} else if (len <= 0xFFFF && !len64) {
		out[1] |= 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		n = 4;
	} else {
		out[1] |= 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		n = 10;
	}
	if (mask) {
		memcpy(out + n, key, 4);
		n += 4;
	}
	for (size_t i = 0; i < len; i++)
		out[n + i] = ((const uint8_t *)p)[i] ^ (mask ? key[i & 3] : 0);
	return n + len;
}

static inline int raw_frame(raw *c, bool fin, int rsv, int op, bool mask, const void *p, size_t len)
{
	uint8_t *b = malloc(len + 14);
	int rc;

	if (!b)
		return -1;
	rc = raw_send(c, b, raw_build(b, fin, rsv, op, mask, false, p, len));
	free(b);
	return rc;
}

/* Reads one frame. 0, or -1 at EOF first or a header this client cannot take. */
static inline int raw_read(raw *c, rframe *f)
{
	size_t h = 2;
	uint64_t len;

	memset(f, 0, sizeof *f);
	while (c->len < 2)
		if (raw_more(c) < 0)
			return -1;
	len = c->buf[1] & 0x7F;
	h += len == 126 ? 2 : len == 127 ? 8 : 0;
	h += (c->buf[1] & 0x80) ? 4 : 0;
	while (c->len < h)
		if (raw_more(c) < 0)
			return -1;
	if (len == 126)
		len = (uint64_t)c->buf[2] << 8 | c->buf[3];
	else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | c->buf[2 + i];
	}
	if (len > RAW_CAP - 16)
		return -1;
	while (c->len < h + len)
		if (raw_more(c) < 0)
			return -1;
	f->fin = c->buf[0] & 0x80;
	f->rsv = (c->buf[0] >> 4) & 7;
	f->op = c->buf[0] & 0xF;
	f->masked = c->buf[1] & 0x80;
	f->len = (size_t)len;
	f->p = malloc(f->len + 1);
	memcpy(f->p, c->buf + h, f->len);
	if (f->masked)
		for (size_t i = 0; i < f->len; i++)
			f->p[i] ^= c->buf[h - 4 + (i & 3)];
	f->p[f->len] = 0;
	raw_consume(c, h + (size_t)len);
	return 0;
}

/* Reads frames until a close; returns its code (1005 without one), -1 at EOF first. */
static inline int raw_expect_close(raw *c)
{
	rframe f;
	int code = -1;

	while (raw_read(c, &f) == 0) {
		bool done = f.op == 0x8;

		if (done)
			code = f.len >= 2 ? f.p[0] << 8 | f.p[1] : 1005;
		free(f.p);
		if (done)
			break;
	}
	return code;
}

/* EOF from the peer (its side closed) within 10 s, whatever came before it. */
static inline bool raw_eof(raw *c)
{
	corio_timeout t;
	ssize_t n;

	corio_timeout_enter(&t, CORIO_SEC(10));
	do
		n = corio_recv(c->fd, c->buf, RAW_CAP, 0);
	while (n > 0);
	corio_timeout_exit(&t);
	c->len = 0;
	return n == 0;
}

#endif
