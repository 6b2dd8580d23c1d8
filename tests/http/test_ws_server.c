/* tests/http/test_ws_server.c: the WebSocket server (corio_ws_accept) against a raw client
 * that sends hand-built frames: echo of text and binary, frames right behind the
 * handshake, a ping between fragments, a sender of one byte at a time, every protocol
 * violation with the close code it earns and what the handler's receive returned, a
 * client that never answers the close, bad handshakes and their HTTP answers, and a
 * graceful server shutdown with a WebSocket open. */
#define _GNU_SOURCE
#include <corio/http_server.h>
#include <corio/ws.h>

#include "tests/support/helpers.h"
#include "tests/http/ws_helpers.h"

/* Reads one frame and checks it is op with payload p[0..n). */
static bool got(raw *c, int op, const void *p, size_t n)
{
	rframe f;
	bool ok;

	if (raw_read(c, &f) != 0)
		return false;
	ok = f.fin && !f.masked && !f.rsv && f.op == op && f.len == n && !memcmp(f.p, p, n);
	free(f.p);
	return ok;
}

static void *t_echo(void *arg)
{
	wsctx x;
	wssrv s;
	raw c;
	char head[2048];
	static const uint8_t bin[4] = { 0, 0xff, 0x80, 1 };

	(void)arg;
	wsctx_init(&x);
	TH_CHECK(wssrv_start(&s, NULL, &x) == 0);
	TH_CHECK(raw_connect(&c, s.port) == 0);
	TH_CHECK(raw_upgrade(&c, "/echo", NULL, head, sizeof head) == 101);
	TH_CHECK(strstr(head, "\r\nSec-WebSocket-Accept: " WS_ACCEPT "\r\n") != NULL);
	TH_CHECK(strcasestr(head, "\r\nUpgrade: websocket\r\n") != NULL);
	TH_CHECK(strcasestr(head, "\r\nConnection: Upgrade\r\n") != NULL);
	TH_CHECK(!strcasestr(head, "Content-Length") && !strcasestr(head, "Sec-WebSocket-Ext"));
	TH_CHECK(raw_frame(&c, true, 0, 1, true, "hello", 5) == 0);
	TH_CHECK(got(&c, 1, "hello", 5));
	TH_CHECK(raw_frame(&c, true, 0, 2, true, bin, 4) == 0);
	TH_CHECK(got(&c, 2, bin, 4));
	TH_CHECK(raw_frame(&c, true, 0, 1, true, "", 0) == 0);
	TH_CHECK(got(&c, 1, "", 0));
	{
		/* three messages in one packet: each taken in place from the input buffer */
		uint8_t b[64];
		size_t n = raw_build(b, true, 0, 1, true, false, "one", 3);

		n += raw_build(b + n, true, 0, 2, true, false, "two!", 4);
		n += raw_build(b + n, true, 0, 1, true, false, "three", 5);
		TH_CHECK(raw_send(&c, b, n) == 0);
		TH_CHECK(got(&c, 1, "one", 3) && got(&c, 2, "two!", 4) && got(&c, 1, "three", 5));
	}
	/* a ping is answered, a pong dropped */
	TH_CHECK(raw_frame(&c, true, 0, 0xA, true, "x", 1) == 0);
	TH_CHECK(raw_frame(&c, true, 0, 0x9, true, "ping!", 5) == 0);
	TH_CHECK(got(&c, 0xA, "ping!", 5));
	/* the client closes with 3000 and a reason: the server echoes the code and closes */
	TH_CHECK(raw_frame(&c, true, 0, 8, true, "\x0b\xb8" "done", 6) == 0);
	TH_CHECK(got(&c, 8, "\x0b\xb8", 2));
	TH_CHECK(raw_eof(&c));
	TH_CHECK(corio_event_wait(&x.done) == 0);
	TH_CHECK(x.echoed == 6 && x.recv_rc == -EPIPE && x.close_rc == 0 && x.close_code == 3000);
	raw_close(&c);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}
TH_TASK_TEST(ws_server_echo, t_echo)

/* The same through the connection's multishot receiver (the server's other receive mode;
 * where the kernel lacks it, plain receives again). */
START_TEST(ws_server_echo_multishot)
{
	setenv("CORIO_HTTP_RECV", "multishot", 1); /* this test's own process (CK_FORK) */
	TH_RUN_EXPECT_OK(NULL, t_echo, NULL);
}
END_TEST

/* Frames sent in the handshake's packet, a ping between the fragments of a message (its
 * pong comes first), a close without a code. */
static void *t_fragments(void *arg)
{
	wsctx x;
	wssrv s;
	raw c;
	char head[2048], req[1024];
	uint8_t b[512];
	size_t n;

	(void)arg;
	wsctx_init(&x);
	TH_CHECK(wssrv_start(&s, NULL, &x) == 0);
	TH_CHECK(raw_connect(&c, s.port) == 0);
	n = (size_t)snprintf(req, sizeof req,
			     "GET /echo HTTP/1.1\r\nHost: t\r\nUpgrade: WebSocket\r\n"
			     "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: " WS_KEY
			     "\r\nSec-WebSocket-Version: 13\r\n\r\n");
	memcpy(b, req, n);
	n += raw_build(b + n, false, 0, 1, true, false, "Hel", 3);
	n += raw_build(b + n, true, 0, 9, true, false, "p1", 2);
	n += raw_build(b + n, false, 0, 0, true, false, "lo, ", 4);
	n += raw_build(b + n, true, 0, 0, true, false, "w\xc3\xb6rld", 6);
	TH_CHECK(raw_send(&c, b, n) == 0);
	TH_CHECK(raw_head(&c, head, sizeof head) == 101);
	TH_CHECK(got(&c, 0xA, "p1", 2));
	TH_CHECK(got(&c, 1, "Hello, w\xc3\xb6rld", 13));
	TH_CHECK(raw_frame(&c, true, 0, 8, true, "", 0) == 0);
	TH_CHECK(got(&c, 8, "", 0));
	TH_CHECK(raw_eof(&c));
	TH_CHECK(corio_event_wait(&x.done) == 0);
	TH_CHECK(x.recv_rc == -EPIPE && x.close_code == CORIO_WS_NO_STATUS);
	raw_close(&c);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}
TH_TASK_TEST(ws_server_fragments_ping, t_fragments)

/* One byte per send: headers and payloads are assembled across receives. */
static void *t_slow(void *arg)
{
	wsctx x;
	wssrv s;
	raw c;
	char head[2048], msg[300];
	uint8_t b[400];
	size_t n;

	(void)arg;
	wsctx_init(&x);
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (char)('a' + i % 26);
	TH_CHECK(wssrv_start(&s, NULL, &x) == 0);
	TH_CHECK(raw_connect(&c, s.port) == 0);
	TH_CHECK(raw_upgrade(&c, "/echo", NULL, head, sizeof head) == 101);
	n = raw_build(b, true, 0, 1, true, false, msg, sizeof msg);
	for (size_t i = 0; i < n; i++)
		TH_CHECK(raw_send(&c, b + i, 1) == 0);
	TH_CHECK(got(&c, 1, msg, sizeof msg));
	n = raw_build(b, true, 0, 8, true, false, "\x03\xe8", 2);
	for (size_t i = 0; i < n; i++)
		TH_CHECK(raw_send(&c, b + i, 1) == 0);
	TH_CHECK(got(&c, 8, "\x03\xe8", 2));
	TH_CHECK(corio_event_wait(&x.done) == 0);
	TH_CHECK(x.echoed == 1 && x.recv_rc == -EPIPE && x.close_code == 1000);
	raw_close(&c);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}
TH_TASK_TEST(ws_server_slow_sender, t_slow)

/* ---- protocol violations ------------------------------------------------------------------ */

typedef struct badcase {
	const char *name;
	uint8_t bytes[512];
	size_t len;
	int code;   /* the close the server must send */
	int rc;     /* what the handler's receive must return */
} badcase;

/* Sends the bytes after a good handshake; the server must answer with a close of the
 * case's code (possibly after echoing good messages before it) and its receive must fail. */
static const char *bad_run(const badcase *k, size_t max_message)
{
	wsctx x;
	wssrv s;
	raw c;
	char head[2048];
	int code;

	wsctx_init(&x);
	x.o.max_message = max_message;
	TH_CHECK(wssrv_start(&s, NULL, &x) == 0);
	TH_CHECK(raw_connect(&c, s.port) == 0);
	TH_CHECK(raw_upgrade(&c, "/echo", NULL, head, sizeof head) == 101);
	TH_CHECK(raw_send(&c, k->bytes, k->len) == 0);
	code = raw_expect_close(&c);
	if (code != k->code)
		return k->name;
	TH_CHECK(raw_eof(&c)); /* the server shuts its side after its close */
	raw_close(&c);         /* which ends its wait for ours */
	TH_CHECK(corio_event_wait(&x.done) == 0);
	if (x.recv_rc != k->rc || x.close_code != k->code || x.close_rc != 0)
		return k->name;
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}

static size_t cat(uint8_t *out, size_t n, bool fin, int rsv, int op, bool mask, const char *p,
		  size_t len)
{
	return n + raw_build(out + n, fin, rsv, op, mask, false, p, len);
}

static void *t_bad(void *arg)
{
	static badcase k[32];
	char big[126];
	size_t nk = 0;

	(void)arg;
	memset(big, 'x', sizeof big);
#define CASE(nm, code_, rc_) (k[nk].name = (nm), k[nk].code = (code_), k[nk].rc = (rc_), &k[nk++])
#define ADD(kp, fin_, rsv_, op_, mask_, p_, n_) \
	((kp)->len = cat((kp)->bytes, (kp)->len, fin_, rsv_, op_, mask_, p_, n_))
	{
		badcase *b;

		b = CASE("unmasked", 1002, -EPROTO); ADD(b, true, 0, 1, false, "hi", 2);
		b = CASE("rsv1", 1002, -EPROTO); ADD(b, true, 4, 1, true, "hi", 2);
		b = CASE("rsv3", 1002, -EPROTO); ADD(b, true, 1, 2, true, "hi", 2);
		b = CASE("opcode 3", 1002, -EPROTO); ADD(b, true, 0, 3, true, "hi", 2);
		b = CASE("opcode 0xB", 1002, -EPROTO); ADD(b, true, 0, 0xB, true, "", 0);
		b = CASE("fragmented ping", 1002, -EPROTO); ADD(b, false, 0, 9, true, "p", 1);
		b = CASE("stray continuation", 1002, -EPROTO); ADD(b, true, 0, 0, true, "a", 1);
		b = CASE("data inside a message", 1002, -EPROTO);
		ADD(b, false, 0, 1, true, "a", 1); ADD(b, true, 0, 2, true, "b", 1);
		b = CASE("bad utf-8", 1007, -EPROTO); ADD(b, true, 0, 1, true, "\xc0\xaf", 2);
		b = CASE("surrogate", 1007, -EPROTO); ADD(b, true, 0, 1, true, "\xed\xa0\x80", 3);
		b = CASE("utf-8 cut at the end", 1007, -EPROTO);
		ADD(b, false, 0, 1, true, "ok\xe2\x82", 4); ADD(b, true, 0, 0, true, "", 0);
		b = CASE("close 1005", 1002, -EPROTO); ADD(b, true, 0, 8, true, "\x03\xed", 2);
		b = CASE("close 999", 1002, -EPROTO); ADD(b, true, 0, 8, true, "\x03\xe7", 2);
		b = CASE("close 2000", 1002, -EPROTO); ADD(b, true, 0, 8, true, "\x07\xd0", 2);
		b = CASE("close 1015", 1002, -EPROTO); ADD(b, true, 0, 8, true, "\x03\xf7", 2);
		b = CASE("close 5000", 1002, -EPROTO); ADD(b, true, 0, 8, true, "\x13\x88", 2);
		b = CASE("close 1 byte", 1002, -EPROTO); ADD(b, true, 0, 8, true, "\x03", 1);
		b = CASE("close reason utf-8", 1007, -EPROTO);
		ADD(b, true, 0, 8, true, "\x03\xe8\xff", 3);
		b = CASE("over max", 1009, -EMSGSIZE); ADD(b, true, 0, 2, true, big, 101);
		b = CASE("over max in fragments", 1009, -EMSGSIZE);
		ADD(b, false, 0, 2, true, big, 60); ADD(b, true, 0, 0, true, big, 60);
	}
	{
		/* a control frame of 126 bytes (its 16-bit length form) */
		badcase *b = CASE("ping 126", 1002, -EPROTO);

		b->len = raw_build(b->bytes, true, 0, 9, true, false, "", 0);
		b->bytes[1] = 0x80 | 126;
		memcpy(b->bytes + 2, "\x00\x7e" "abcd", 6);
		b->len = 8;
		/* 2^63: the top bit of a 64-bit length */
		b = CASE("2^63", 1002, -EPROTO);
		memcpy(b->bytes, "\x82\xff\x80\0\0\0\0\0\0\0" "abcd", 14);
		b->len = 14;
		/* 2^62: valid, far over max_message: refused before any allocation */
		b = CASE("2^62", 1009, -EMSGSIZE);
		memcpy(b->bytes, "\x82\xff\x40\0\0\0\0\0\0\0" "abcd", 14);
		b->len = 14;
	}
	for (size_t i = 0; i < nk; i++) {
		const char *why = bad_run(&k[i], 100);

		if (why)
			return (void *)why;
	}
	return TH_OK;
#undef CASE
#undef ADD
}
TH_TASK_TEST(ws_server_protocol_errors, t_bad)

/* ---- permessage-deflate ------------------------------------------------------------------- */

/* Reads one frame and checks it is a compressed (RSV1) op with payload p[0..n). */
static bool got_zipped(raw *c, int op, const void *p, size_t n)
{
	rframe f;
	bool ok;

	if (raw_read(c, &f) != 0)
		return false;
	ok = f.fin && f.rsv == 4 && f.op == op && f.len == n && !memcmp(f.p, p, n);
	free(f.p);
	return ok;
}

#define Z_HELLO "\xf2\x48\xcd\xc9\xc9\x07\x00" /* "Hello" (RFC 7692 7.2.3.1) */

static void *t_deflate(void *arg)
{
	wsctx x;
	wssrv s;
	raw c;
	char head[2048];
	uint8_t b[64];
	size_t n;
	rframe f;

	(void)arg;
	wsctx_init(&x);
	x.o.deflate = true;
	TH_CHECK(wssrv_start(&s, NULL, &x) == 0);
	TH_CHECK(raw_connect(&c, s.port) == 0);
	TH_CHECK(raw_upgrade(&c, "/echo", "Sec-WebSocket-Extensions: permessage-deflate; "
			     "client_max_window_bits; server_no_context_takeover\r\n",
			     head, sizeof head) == 101);
	TH_CHECK(strstr(head, "\r\nSec-WebSocket-Extensions: permessage-deflate; "
			      "server_no_context_takeover\r\n") != NULL);
	/* compressed "Hello", whole and in two fragments (RSV1 on the first only); without
	 * context takeover the server's answer is the same bytes each time */
	TH_CHECK(raw_frame(&c, true, 4, 1, true, Z_HELLO, 7) == 0);
	TH_CHECK(got_zipped(&c, 1, Z_HELLO, 7));
	n = raw_build(b, false, 4, 1, true, false, Z_HELLO, 3);
	n += raw_build(b + n, true, 0, 0, true, false, Z_HELLO + 3, 4);
	TH_CHECK(raw_send(&c, b, n) == 0);
	TH_CHECK(got_zipped(&c, 1, Z_HELLO, 7));
	/* an uncompressed message on a deflate connection is fine too */
	TH_CHECK(raw_frame(&c, true, 0, 2, true, "raw", 3) == 0);
	TH_CHECK(raw_read(&c, &f) == 0 && f.rsv == 4); /* its echo, compressed */
	free(f.p);
	/* RSV1 on a continuation frame */
	n = raw_build(b, false, 4, 1, true, false, Z_HELLO, 3);
	n += raw_build(b + n, true, 4, 0, true, false, Z_HELLO + 3, 4);
	TH_CHECK(raw_send(&c, b, n) == 0);
	TH_CHECK(raw_expect_close(&c) == 1002);
	raw_close(&c);
	TH_CHECK(corio_event_wait(&x.done) == 0 && x.recv_rc == -EPROTO && x.echoed == 3);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}
TH_TASK_TEST(ws_server_deflate, t_deflate)

/* What a deflate connection refuses: RSV1 on a control frame, data that does not inflate,
 * a message that inflates past max_message, text that inflates to bad UTF-8. */
static void *t_deflate_bad(void *arg)
{
	static const struct {
		const char *p;
		size_t n;
		int op, code, rc;
	} k[] = {
		{ "", 0, 9, 1002, -EPROTO },
		{ "\xff\xff\xff", 3, 1, 1007, -EPROTO },
		/* 200 zero bytes deflated: 6 bytes on the wire, over max 100 once inflated */
		{ "\x62\x60\x18\x1e\x00\x00", 6, 2, 1009, -EMSGSIZE },
		{ "\xfa\x0f\x00", 3, 1, 1007, -EPROTO }, /* "\xff" */
	};

	(void)arg;
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
		wsctx x;
		wssrv s;
		raw c;
		char head[2048];

		wsctx_init(&x);
		x.o.deflate = true;
		x.o.max_message = 100;
		TH_CHECK(wssrv_start(&s, NULL, &x) == 0);
		TH_CHECK(raw_connect(&c, s.port) == 0);
		TH_CHECK(raw_upgrade(&c, "/echo", "Sec-WebSocket-Extensions: permessage-deflate\r\n",
				     head, sizeof head) == 101);
		TH_CHECK(raw_frame(&c, true, 4, k[i].op, true, k[i].p, k[i].n) == 0);
		if (raw_expect_close(&c) != k[i].code)
			return (void *)"close code";
		raw_close(&c);
		TH_CHECK(corio_event_wait(&x.done) == 0);
		if (x.recv_rc != k[i].rc)
			return (void *)"receive's result";
		TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	}
	return TH_OK;
}
TH_TASK_TEST(ws_server_deflate_errors, t_deflate_bad)

/* ---- closing ------------------------------------------------------------------------------ */

/* The server closes; a client that never answers costs close_timeout_ns, then the
 * connection goes (-ETIMEDOUT). */
static void *t_no_answer(void *arg)
{
	wsctx x;
	wssrv s;
	raw c;
	char head[2048];
	rframe f;

	(void)arg;
	wsctx_init(&x);
	x.o.close_timeout_ns = CORIO_MS(200);
	TH_CHECK(wssrv_start(&s, NULL, &x) == 0);
	TH_CHECK(raw_connect(&c, s.port) == 0);
	TH_CHECK(raw_upgrade(&c, "/close", NULL, head, sizeof head) == 101);
	TH_CHECK(raw_read(&c, &f) == 0);
	TH_CHECK(f.op == 8 && f.len == 5 && !memcmp(f.p, "\x03\xe8" "bye", 5));
	free(f.p);
	TH_CHECK(raw_eof(&c));
	TH_CHECK(corio_event_wait(&x.done) == 0);
	TH_CHECK(x.close_rc == -ETIMEDOUT && x.close_code == CORIO_WS_ABNORMAL);
	raw_close(&c);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}
TH_TASK_TEST(ws_server_close_unanswered, t_no_answer)

/* The server closes and the client answers: close returns 0 with the client's code. */
static void *t_close_answered(void *arg)
{
	wsctx x;
	wssrv s;
	raw c;
	char head[2048];

	(void)arg;
	wsctx_init(&x);
	TH_CHECK(wssrv_start(&s, NULL, &x) == 0);
	TH_CHECK(raw_connect(&c, s.port) == 0);
	TH_CHECK(raw_upgrade(&c, "/close", NULL, head, sizeof head) == 101);
	TH_CHECK(raw_expect_close(&c) == 1000);
	/* a message sent before the client saw the close is dropped */
	TH_CHECK(raw_frame(&c, true, 0, 1, true, "late", 4) == 0);
	TH_CHECK(raw_frame(&c, true, 0, 8, true, "\x0f\xa0", 2) == 0);
	TH_CHECK(raw_eof(&c));
	TH_CHECK(corio_event_wait(&x.done) == 0);
	TH_CHECK(x.close_rc == 0 && x.close_code == 4000);
	raw_close(&c);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}
TH_TASK_TEST(ws_server_close_answered, t_close_answered)

/* ---- handshakes --------------------------------------------------------------------------- */

static const char *bad_handshake(const char *req, int status, const char *must)
{
	wsctx x;
	wssrv s;
	raw c;
	char head[2048];

	wsctx_init(&x);
	TH_CHECK(wssrv_start(&s, NULL, &x) == 0);
	TH_CHECK(raw_connect(&c, s.port) == 0);
	TH_CHECK(raw_send(&c, req, strlen(req)) == 0);
	if (raw_head(&c, head, sizeof head) != status)
		return req;
	if (must && !strcasestr(head, must))
		return must;
	TH_CHECK(corio_event_wait(&x.done) == 0);
	TH_CHECK(x.accept_rc == -EPROTO);
	raw_close(&c);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}

#define HS_UP "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define HS_KEY "Sec-WebSocket-Key: " WS_KEY "\r\n"
#define HS_V13 "Sec-WebSocket-Version: 13\r\n"

static void *t_handshakes(void *arg)
{
	static const struct {
		const char *req, *must;
		int status;
	} k[] = {
		{ "GET / HTTP/1.1\r\nHost: t\r\n" HS_UP HS_V13 "\r\n", NULL, 400 },
		{ "GET / HTTP/1.1\r\nHost: t\r\n" HS_UP HS_KEY "Sec-WebSocket-Version: 8\r\n\r\n",
		  "\r\nSec-WebSocket-Version: 13\r\n", 426 },
		{ "GET / HTTP/1.1\r\nHost: t\r\n" HS_UP HS_KEY "\r\n", "Sec-WebSocket-Version: 13", 426 },
		{ "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n" HS_UP HS_KEY HS_V13 "\r\n",
		  NULL, 400 },
		{ "GET / HTTP/1.0\r\nHost: t\r\n" HS_UP HS_KEY HS_V13 "\r\n", NULL, 400 },
		{ "GET / HTTP/1.1\r\nHost: t\r\n" HS_UP
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n" HS_V13 "\r\n", NULL, 400 },
		{ "GET / HTTP/1.1\r\nHost: t\r\n" HS_UP
		  "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n" HS_V13 "\r\n", NULL, 400 },
		{ "GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n" HS_KEY HS_V13 "\r\n",
		  NULL, 400 },
		{ "GET / HTTP/1.1\r\nHost: t\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n" HS_KEY HS_V13
		  "\r\n", NULL, 400 },
	};

	(void)arg;
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
		const char *why = bad_handshake(k[i].req, k[i].status, k[i].must);

		if (why)
			return (void *)why;
	}
	return TH_OK;
}
TH_TASK_TEST(ws_server_bad_handshakes, t_handshakes)

/* The server picks the first of its protocols the client offered. */
static void *t_protocols(void *arg)
{
	wsctx x;
	wssrv s;
	raw c;
	char head[2048];

	(void)arg;
	wsctx_init(&x);
	x.o.protocols = "chat.v2, chat";
	TH_CHECK(wssrv_start(&s, NULL, &x) == 0);
	TH_CHECK(raw_connect(&c, s.port) == 0);
	TH_CHECK(raw_upgrade(&c, "/close", "Sec-WebSocket-Protocol: chat, mqtt\r\n"
			     "Sec-WebSocket-Protocol: chat.v2\r\n"
			     "Sec-WebSocket-Extensions: permessage-deflate\r\n",
			     head, sizeof head) == 101);
	TH_CHECK(strstr(head, "\r\nSec-WebSocket-Protocol: chat.v2\r\n") != NULL);
	TH_CHECK(!strcasestr(head, "Sec-WebSocket-Extensions")); /* never accepted */
	TH_CHECK(raw_expect_close(&c) == 1000);
	TH_CHECK(raw_frame(&c, true, 0, 8, true, "\x03\xe8", 2) == 0);
	TH_CHECK(corio_event_wait(&x.done) == 0 && x.close_rc == 0);
	raw_close(&c);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}
TH_TASK_TEST(ws_server_protocols, t_protocols)

/* ---- shutdown ----------------------------------------------------------------------------- */

/* A WebSocket is a busy connection: a graceful shutdown waits for it until the grace runs
 * out, then cancels its handler, whose receive returns -ECANCELED. */
static void *t_shutdown(void *arg)
{
	wsctx x;
	wssrv s;
	raw c;
	char head[2048];

	(void)arg;
	wsctx_init(&x);
	TH_CHECK(wssrv_start(&s, NULL, &x) == 0);
	TH_CHECK(raw_connect(&c, s.port) == 0);
	TH_CHECK(raw_upgrade(&c, "/echo", NULL, head, sizeof head) == 101);
	TH_CHECK(raw_frame(&c, true, 0, 1, true, "a", 1) == 0);
	TH_CHECK(got(&c, 1, "a", 1));
	TH_CHECK(corio_http_server_shutdown(s.srv, CORIO_MS(100)) == 0);
	/* still served during the grace (the echo may or may not come before the cancel,
	 * so only the end is checked) */
	TH_CHECK(corio_join(s.task, NULL) == 0 && s.rc == 0);
	TH_CHECK(corio_event_is_set(&x.done));
	TH_CHECK(x.recv_rc == -ECANCELED);
	TH_CHECK(raw_eof(&c));
	corio_http_server_free(s.srv);
	raw_close(&c);
	return TH_OK;
}
TH_TASK_TEST(ws_server_shutdown, t_shutdown)

int main(void)
{
	return th_main(TH_SUITE_EACH("ws_server", 60, ws_server_echo, ws_server_echo_multishot,
				     ws_server_fragments_ping,
				     ws_server_slow_sender, ws_server_protocol_errors,
				     ws_server_close_unanswered, ws_server_close_answered,
				     ws_server_bad_handshakes, ws_server_protocols,
				     ws_server_shutdown, ws_server_deflate,
				     ws_server_deflate_errors));
}
