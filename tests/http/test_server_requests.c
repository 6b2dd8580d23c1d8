/* tests/http/test_server_requests.c: the HTTP/1.1 server's request handling (http/server/,
 * http/server/parser.c): GET/HEAD/POST, long request-targets, Content-Length and chunked
 * bodies, 100-continue and answers before the body's end, the 500 for a silent handler,
 * pipelining and keep-alive (HTTP/1.1 and 1.0 rules), hostile requests (target forms, Host
 * syntax, versions, odd numbers); then the same exchanges with reads
 * and writes shortened at random (requests reach the parser in pieces). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <corio/http_server.h>

#include "tests/support/helpers.h"
#include "tests/http/server_helpers.h"

/* ---- basic requests ---------------------------------------------------------------------- */

static void *t_basic(void *arg)
{
	srvctx x;
	cli c;
	resp r;
	char v[128];

	TH_CHECK(srv_start(&x, NULL) == 0);
	TH_CHECK(cli_open(&c, x.port) >= 0);
	/* GET */
	TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0);
	TH_CHECK(r.status == 200);
	TH_CHECK(!strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17));
	TH_CHECK(r.blen == 12 && !strcmp(r.body, "hello world\n"));
	TH_CHECK(hval(&r, "date", v, sizeof v) && strlen(v) == 29 && strstr(v, " GMT"));
	TH_CHECK(hval(&r, "server", v, sizeof v) && !strcmp(v, "corio"));
	TH_CHECK(hval(&r, "content-type", v, sizeof v) && !strcmp(v, "text/plain"));
	TH_CHECK(!has_close(&r));
	resp_free(&r);
	/* HEAD: the same headers, no body; the connection stays in step */
	TH_CHECK(cli_send(&c, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, true) == 0);
	TH_CHECK(r.status == 200 && hval(&r, "content-length", v, sizeof v) && !strcmp(v, "12"));
	resp_free(&r);
	/* request fields, case-insensitive header lookup, query */
	TH_CHECK(cli_send(&c, "GET /info?a=1&b=2 HTTP/1.1\r\nHost: t\r\nX-Test:  some value \r\n"
			      "x-other: y\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0);
	TH_CHECK(r.status == 200);
	TH_CHECK(!strcmp(r.body, "GET|/info?a=1&b=2|a=1&b=2|some value|11|3"));
	resp_free(&r);
	/* absolute-form target (RFC 9112 3.2.2): path and query without scheme and authority */
	TH_CHECK(cli_send(&c, "GET HTTP://t/info?q=2 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0);
	TH_CHECK(r.status == 200);
	TH_CHECK(!strcmp(r.body, "GET|HTTP://t/info?q=2|q=2|(none)|11|1"));
	resp_free(&r);
	/* a value split across two reads is one value, not a fold */
	TH_CHECK(cli_send(&c, "GET /info HTTP/1.1\r\nHost: t\r\nX-Test: some") == 0);
	corio_sleep(CORIO_MS(20));
	TH_CHECK(cli_send(&c, " value\r") == 0);
	corio_sleep(CORIO_MS(20));
	TH_CHECK(cli_send(&c, "\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
	TH_CHECK(!strcmp(r.body, "GET|/info||some value|11|2"));
	resp_free(&r);
	/* 404, 204, streaming (chunked), announced length, the 500 of a silent handler */
	TH_CHECK(cli_send(&c, "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 404);
	resp_free(&r);
	TH_CHECK(cli_send(&c, "GET /nocontent HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 204);
	TH_CHECK(!hval(&r, "content-length", v, sizeof v));
	resp_free(&r);
	TH_CHECK(cli_send(&c, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
	TH_CHECK(hval(&r, "transfer-encoding", v, sizeof v) && !strcmp(v, "chunked"));
	TH_CHECK(!strcmp(r.body, "abbccc"));
	resp_free(&r);
	TH_CHECK(cli_send(&c, "GET /stream-len HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && !strcmp(r.body, "abcdef"));
	resp_free(&r);
	TH_CHECK(cli_send(&c, "GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 500);
	resp_free(&r);
	/* still the same connection */
	TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && has_close(&r));
	resp_free(&r);
	TH_CHECK(cli_sees_eof(&c));
	cli_close(&c);
	/* the handler's Date and Server replace the server's (once each), its Connection:
	 * close closes, Content-Length and Transfer-Encoding stay the server's */
	TH_CHECK(cli_open(&c, x.port) >= 0);
	TH_CHECK(cli_send(&c, "GET /hdrs HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && !strcmp(r.body, "ok"));
	TH_CHECK(hval(&r, "date", v, sizeof v) && !strcmp(v, "Sun, 06 Nov 1994 08:49:37 GMT"));
	TH_CHECK(hval(&r, "server", v, sizeof v) && !strcmp(v, "mine"));
	TH_CHECK(hcount(&r, "date") == 1 && hcount(&r, "server") == 1);
	TH_CHECK(hval(&r, "content-length", v, sizeof v) && !strcmp(v, "2"));
	TH_CHECK(has_close(&r));
	resp_free(&r);
	TH_CHECK(cli_sees_eof(&c));
	cli_close(&c);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(basic)
{
	RUN_OK(t_basic, NULL);
}
END_TEST

static bool answers_and_closes(int port, const char *req, int status);

/* Runs run(port) against a server made with o, and stops the server whatever run found. */
static void *with_server(const corio_http_server_opts *o, void *(*run)(int port))
{
	srvctx x;
	void *res;

	TH_CHECK(srv_start(&x, o) == 0);
	res = run(x.port);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return res;
}

/* ---- long request-targets ------------------------------------------------------------------ */

/* A path of exactly len bytes: "/long/" then "./" pairs (the shape of the report) and a
 * file name. */
static char *long_path(size_t len)
{
	char *p = malloc(len + 1);
	size_t i = 6;

	memcpy(p, "/long/", 6);
	for (; i + 2 <= len - 5; i += 2)
		memcpy(p + i, "./", 2);
	memset(p + i, 'a', len - 5 - i);
	memcpy(p + len - 5, "a.txt", 6);
	return p;
}

/* Sends one request for path (origin- or absolute-form, with or without a query) on c and
 * checks that the handler saw exactly that path and query. */
static bool long_target_ok(cli *c, int port, size_t len, bool absolute, bool query)
{
	char *path = long_path(len), *req = malloc(2 * len + 256), *want = malloc(len + 64);
	const char *q = query ? "x=1&y=./." : "";
	char authority[32] = "";
	resp r = { 0 };
	bool ok;

	if (absolute)
		snprintf(authority, sizeof authority, "http://127.0.0.1:%d", port);
	snprintf(req, 2 * len + 256, "GET %s%s%s%s HTTP/1.1\r\nHost: t\r\n\r\n", authority,
		 path, query ? "?" : "", q);
	snprintf(want, len + 64, "%s|%s", path, q);
	ok = cli_send(c, req) == 0 && cli_read(c, &r, false) == 0 && r.status == 200 &&
	     r.blen == strlen(want) && !strcmp(r.body, want);
	if (!ok)
		fprintf(stderr, "target of %zu bytes (%s%s): status %d, body %.60s\n", len,
			absolute ? "absolute" : "origin", query ? ", query" : "", r.status,
			r.body ? r.body : "(none)");
	resp_free(&r);
	free(path);
	free(req);
	free(want);
	return ok;
}

/* The checks of t_long_targets, apart so that the server is stopped whatever fails. */
static void *long_targets_run(int port)
{
	cli c;
	bool ok = true;

	TH_CHECK(cli_open(&c, port) >= 0);
	ok = long_target_ok(&c, port, 6 + 2 * 300 + 5, false, false); /* the report's */
	for (size_t k = 512; ok && k <= (64 << 10); k *= 2)
		for (size_t len = k - 24; ok && len <= k + 24; len += 6)
			for (int form = 0; ok && form < 4; form++)
				ok = long_target_ok(&c, port, len, form & 1, form & 2);
	cli_close(&c);
	TH_CHECK(ok);
	/* beyond max_header_bytes: refused, never truncated */
	{
		char *path = long_path(100 << 10), *req = malloc((100 << 10) + 64);

		snprintf(req, (100 << 10) + 64, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
		ok = answers_and_closes(port, req, 414);
		free(path);
		free(req);
	}
	TH_CHECK(ok);
	return TH_OK;
}

/* Regression: the path was copied out of the request's arena by a call that grew (moved)
 * that arena first, a use-after-free from ~600 bytes on (400 with allocator bytes in the
 * path, or an ASan abort). Lengths around the arena's first size and its doublings, each
 * origin-form and absolute-form, with and without a query. */
static void *t_long_targets(void *arg)
{
	corio_http_server_opts o;

	corio_http_server_opts_init(&o);
	o.max_header_bytes = 96 << 10;
	return with_server(&o, long_targets_run);
}

START_TEST(long_targets)
{
	RUN_OK(t_long_targets, NULL);
}
END_TEST

/* ---- bodies ------------------------------------------------------------------------------ */

static void *t_bodies(void *arg)
{
	srvctx x;
	cli c;
	resp r;
	char v[64];

	TH_CHECK(srv_start(&x, NULL) == 0);
	TH_CHECK(cli_open(&c, x.port) >= 0);
	TH_CHECK(cli_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n"
			      "hello world") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
	TH_CHECK(!strcmp(r.body, "hello world"));
	TH_CHECK(hval(&r, "x-method", v, sizeof v) && !strcmp(v, "POST"));
	TH_CHECK(hval(&r, "x-cl", v, sizeof v) && !strcmp(v, "11"));
	resp_free(&r);
	/* chunked, with an extension and a trailer, sent in pieces */
	TH_CHECK(cli_send(&c, "PUT /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
			      "5;ext=1\r\nhello\r\n") == 0);
	corio_sleep(CORIO_MS(20));
	TH_CHECK(cli_send(&c, "6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
	TH_CHECK(!strcmp(r.body, "hello world"));
	TH_CHECK(hval(&r, "x-cl", v, sizeof v) && !strcmp(v, "-1"));
	resp_free(&r);
	/* a body the handler never reads is drained: the connection stays usable */
	TH_CHECK(cli_send(&c, "POST /ignore-body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n"
			      "abcde"
			      "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && !strcmp(r.body, "ignored"));
	TH_CHECK(!has_close(&r));
	resp_free(&r);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && r.blen == 12);
	resp_free(&r);
	/* a large body (1 MiB with Content-Length, streamed through the 16 KiB buffer) */
	{
		size_t n = 512 * 1024;
		char *big = malloc(n + 128);
		int h = snprintf(big, 128,
				 "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
				 n);

		for (size_t i = 0; i < n; i++)
			big[h + (int)i] = (char)('a' + i % 26);
		TH_CHECK(corio_send_all(c.fd, big, (size_t)h + n) == (ssize_t)((size_t)h + n));
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && r.blen == n);
		TH_CHECK(memcmp(r.body, big + h, n) == 0);
		resp_free(&r);
		free(big);
	}
	/* Expect: 100-continue: the interim answer comes when the handler reads */
	TH_CHECK(cli_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
			      "Expect: 100-continue\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 100);
	resp_free(&r);
	TH_CHECK(cli_send(&c, "abc") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && !strcmp(r.body, "abc"));
	resp_free(&r);
	/* a handler that answers without reading an expected body: no 100, connection closed */
	TH_CHECK(cli_send(&c, "POST /ignore-body HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
			      "Expect: 100-continue\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && has_close(&r));
	resp_free(&r);
	TH_CHECK(cli_sees_eof(&c));
	cli_close(&c);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(bodies)
{
	RUN_OK(t_bodies, NULL);
}
END_TEST

/* ---- answers before the body's end --------------------------------------------------------- */

/* Sends head plus a few body bytes, never the rest, and reads the answer. The server's body
 * timeout is an hour in these tests: an answer held back until the body's end (or until
 * that timeout) never comes within the read's bound, only a prompt one passes. */
static bool early_answer(cli *c, const char *head, int status, const char *body, bool close)
{
	char req[512];
	resp r = { 0 };
	bool ok;

	/* one send: the body bytes are in the server's buffer behind the head */
	snprintf(req, sizeof req, "%sabc", head);
	ok = cli_send(c, req) == 0 && cli_read(c, &r, false) == 0 && r.status == status &&
	     has_close(&r) == close && (!body || !strcmp(r.body, body));
	if (!ok)
		fprintf(stderr, "early answer: want %d%s, got %d: %.60s\n", status,
			close ? " + close" : "", r.status, head);
	resp_free(&r);
	return ok;
}

/* A POST /cl with Content-Length cl and a few body bytes on a new connection: answered with
 * status (200: the handler's, which echoes the length) while the body is owed, then closed. */
static bool answered_and_closed(int port, const char *cl, int status)
{
	char head[256];
	cli c;
	bool ok;

	snprintf(head, sizeof head,
		 "POST /cl HTTP/1.1\r\nHost: t\r\nContent-Length: %s\r\n\r\n", cl);
	if (cli_open(&c, port) < 0) {
		free(c.buf);
		return false;
	}
	ok = early_answer(&c, head, status, status == 200 ? cl : NULL, true) && cli_sees_eof(&c);
	cli_close(&c);
	return ok;
}

/* Sends s, then a GET, and reads the GET's answer. */
static bool then_get(cli *c, const char *s)
{
	resp r = { 0 };
	bool ok = cli_send(c, s) == 0 && cli_send(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0 &&
		  cli_read(c, &r, false) == 0 && r.status == 200 && r.blen == 12;

	resp_free(&r);
	return ok;
}

/* Bodies short enough to drain (Content-Length, chunked): answered first, drained once the
 * client sends the rest, and the connection goes on. */
static bool drained_after_answer(int port)
{
	char *rest = calloc(1, 100001);
	cli c;
	bool ok;

	if (cli_open(&c, port) < 0 || !rest) {
		free(c.buf);
		free(rest);
		return false;
	}
	memset(rest, 'x', 100000);
	ok = early_answer(&c, "POST /cl HTTP/1.1\r\nHost: t\r\nContent-Length: 100003\r\n\r\n",
			  200, "100003", false) &&
	     then_get(&c, rest) &&
	     early_answer(&c, "POST /cl HTTP/1.1\r\nHost: t\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n10\r\n",
			  200, "-1", false) &&
	     then_get(&c, "0123456789abc\r\n0\r\n\r\n");
	free(rest);
	cli_close(&c);
	return ok;
}

/* Regression: a Content-Length above INT64_MAX was stored negative, passed the 413 check and
 * read as chunked; the answer behind it was corked until the body's end (the body timeout).
 * Every answer to a request whose body is still coming now goes out at once. */
/* A claimed length buys no memory up front: 1 TiB claimed, 3 bytes sent, the sender gone.
 * The handler's whole-body read must end as a truncated body (no answer, the connection
 * closed), not as a 1 TiB allocation that fails (500) or, worse, succeeds. */
static bool huge_claim_truncated(int port)
{
	cli c;
	bool ok;

	if (cli_open(&c, port) < 0) {
		free(c.buf);
		return false;
	}
	ok = cli_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1099511627776\r\n"
			  "\r\nabc") == 0 &&
	     corio_shutdown(c.fd, SHUT_WR) == 0 && cli_sees_eof(&c);
	cli_close(&c);
	return ok;
}

static void *early_answers_run(int port)
{
	TH_CHECK(huge_claim_truncated(port));
	/* above INT64_MAX, with max_body_bytes "no limit": 413 and close, at once */
	TH_CHECK(answered_and_closed(port, "9223372036854775808", 413));
	TH_CHECK(answered_and_closed(port, "18446744073709551615", 413));
	TH_CHECK(answered_and_closed(port, "00000000000000000000018446744073709551615", 413));
	/* too long to drain (INT64_MAX is a length like any other): the handler's answer */
	TH_CHECK(answered_and_closed(port, "9223372036854775807", 200));
	TH_CHECK(answered_and_closed(port, "8388608", 200));
	TH_CHECK(drained_after_answer(port));
	return TH_OK;
}

static void *t_early_answers(void *arg)
{
	corio_http_server_opts o;

	corio_http_server_opts_init(&o);
	o.max_body_bytes = UINT64_MAX;
	o.body_timeout_ns = CORIO_SEC(3600);
	return with_server(&o, early_answers_run);
}

START_TEST(early_answers)
{
	RUN_OK(t_early_answers, NULL);
}
END_TEST

/* ---- pipelining and keep-alive ------------------------------------------------------------ */

static void *t_pipeline(void *arg)
{
	srvctx x;
	cli c;
	resp r;

	TH_CHECK(srv_start(&x, NULL) == 0);
	TH_CHECK(cli_open(&c, x.port) >= 0);
	/* three requests in one write, answered in order */
	TH_CHECK(cli_send(&c, "GET /info?n=1 HTTP/1.1\r\nHost: t\r\n\r\n"
			      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecond"
			      "GET /info?n=3 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && strstr(r.body, "|n=1|"));
	resp_free(&r);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && !strcmp(r.body, "second"));
	resp_free(&r);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && strstr(r.body, "|n=3|"));
	resp_free(&r);
	/* a slow one first: the fast one behind it still comes second */
	TH_CHECK(
		cli_send(
			&c,
			"GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n") ==
		0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && !strcmp(r.body, "slow done"));
	resp_free(&r);
	TH_CHECK(cli_read(&c, &r, false) == 0 && !strcmp(r.body, "hello world\n"));
	resp_free(&r);
	/* pipelined after a Connection: close request: not answered */
	TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
			      "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && has_close(&r));
	resp_free(&r);
	TH_CHECK(cli_sees_eof(&c));
	cli_close(&c);

	/* HTTP/1.0: closed by default, kept with Connection: keep-alive */
	{
		bool closed;

		TH_CHECK(once(x.port, "GET / HTTP/1.0\r\n\r\n", &r, &closed) == 0);
		TH_CHECK(r.status == 200 && closed && has_close(&r));
		resp_free(&r);
	}
	TH_CHECK(cli_open(&c, x.port) >= 0);
	for (int i = 0; i < 3; i++) {
		char v[64];

		TH_CHECK(cli_send(&c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
		TH_CHECK(hval(&r, "connection", v, sizeof v) && !strcasecmp(v, "keep-alive"));
		resp_free(&r);
	}
	/* HTTP/1.0 streaming: no chunked encoding, the body ends with the connection */
	TH_CHECK(cli_send(&c, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && !strcmp(r.body, "abbccc"));
	TH_CHECK(has_close(&r));
	resp_free(&r);
	cli_close(&c);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(pipeline_keepalive)
{
	RUN_OK(t_pipeline, NULL);
}
END_TEST

/* ---- hostile requests (the probe of issue 14) -------------------------------------------- */

/* One request on a new connection: its status, and its body when want_body is set (NULL:
 * not checked). Prints what differs. */
static bool answers(int port, const char *req, int status, const char *want_body)
{
	resp r;
	int rc = once(port, req, &r, NULL);
	bool ok = rc == 0 && r.status == status && (!want_body || !strcmp(r.body, want_body));

	if (!ok)
		fprintf(stderr, "want %d '%s', got rc %d status %d '%s' for %.60s\n", status,
			want_body ? want_body : "", rc, r.status, r.body ? r.body : "", req);
	resp_free(&r);
	return ok;
}

/* The request-target split (RFC 9112 3.2): the absolute-form's path ends at '?' or the
 * end (empty: "/"), its authority replaces Host and carries no userinfo; "*" is
 * OPTIONS's only; no fragment, no other scheme. */
static void *t_targets(int port)
{
	TH_CHECK(answers(port, "GET http://t?y=/info HTTP/1.1\r\nHost: t\r\n\r\n", 200,
			 "hello world\n"));
	TH_CHECK(answers(port, "GET http://t HTTP/1.1\r\nHost: t\r\n\r\n", 200, "hello world\n"));
	TH_CHECK(answers(port, "GET http://t/info?/x HTTP/1.1\r\nHost: t\r\n\r\n", 200,
			 "GET|http://t/info?/x|/x|(none)|11|1"));
	TH_CHECK(answers(port, "GET http://a.example:81/host HTTP/1.1\r\nHost: t\r\n\r\n", 200,
			 "a.example:81"));
	TH_CHECK(answers(port, "GET https://[::1]/host HTTP/1.0\r\n\r\n", 200, "[::1]"));
	TH_CHECK(answers(port, "GET /host HTTP/1.1\r\nHost: t:8080\r\n\r\n", 200, "t:8080"));
	TH_CHECK(answers(port, "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", 404, NULL));
	return TH_OK;
}

/* Request lines refused, with the status they get and the connection closed. */
static const struct {
	const char *line;
	int status;
} refused_lines[] = {
	/* targets: userinfo, no host, a port of letters, another scheme, "*" but for OPTIONS,
	 * a fragment */
	{ "GET http://user@t/ HTTP/1.1", 400 },
	{ "GET http://u:p@t/ HTTP/1.1", 400 },
	{ "GET http:///info HTTP/1.1", 400 },
	{ "GET http://t:8a/ HTTP/1.1", 400 },
	{ "GET ftp://t/info HTTP/1.1", 400 },
	{ "GET * HTTP/1.1", 400 },
	{ "GET /info#x HTTP/1.1", 400 },
	/* versions: another major is 505, a malformed version 400 */
	{ "GET / HTTP/2.0", 505 },
	{ "GET / HTTP/3.0", 505 },
	{ "GET / HTTP/0.9", 505 },
	{ "GET / HTTP/1.10", 400 },
	{ "GET / HTTP/x.1", 400 },
	{ "GET / HTTP/1", 400 },
	{ "GET / HTTP/1.1.1", 400 },
};

static void *t_refused_lines(int port)
{
	char req[256];

	for (size_t i = 0; i < sizeof refused_lines / sizeof *refused_lines; i++) {
		snprintf(req, sizeof req, "%s\r\nHost: t\r\n\r\n", refused_lines[i].line);
		TH_CHECK(answers_and_closes(port, req, refused_lines[i].status));
	}
	return TH_OK;
}

/* Header fields: no empty name; Host is uri-host [":" port] (RFC 9112 3.2). */
static void *t_fields(int port)
{
	static const char *const bad_hosts[] = { "a/b c", "t:8a", "[::1]x", "[::g]", "a b",
						 "t@u", "t:1:2", "[v1.x" };
	static const char *const good_hosts[] = { "",	      "t:",	 "127.0.0.1:8080",
						  "[::1]:80", "a%41.b-c_d~", "[v1.a:b]" };
	char req[256];

	TH_CHECK(answers_and_closes(port, "GET / HTTP/1.1\r\nHost: t\r\n: b\r\n\r\n", 400));
	TH_CHECK(answers_and_closes(port, "GET / HTTP/1.1\r\n: b\r\nHost: t\r\n\r\n", 400));
	for (size_t i = 0; i < sizeof bad_hosts / sizeof *bad_hosts; i++) {
		snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad_hosts[i]);
		TH_CHECK(answers_and_closes(port, req, 400));
	}
	for (size_t i = 0; i < sizeof good_hosts / sizeof *good_hosts; i++) {
		snprintf(req, sizeof req, "GET /host HTTP/1.1\r\nHost: %s\r\n\r\n", good_hosts[i]);
		TH_CHECK(answers(port, req, 200, good_hosts[i]));
	}
	return TH_OK;
}

/* HTTP/1.x is served as 1.1 (RFC 9110 2.5); other versions are in refused_lines. */
static void *t_versions(int port)
{
	resp r;

	TH_CHECK(once(port, "GET /info HTTP/1.2\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(!strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17));
	TH_CHECK(!strcmp(r.body, "GET|/info||(none)|11|1"));
	resp_free(&r);
	TH_CHECK(answers(port, "GET /info HTTP/1.9\r\nHost: t\r\n\r\n", 200, NULL));
	return TH_OK;
}

/* Integers from the network: Content-Length in its odd forms, chunk sizes. */
static void *t_numbers(int port)
{
	static const char *const bad_cl[] = { "+5", "5,5", "-1", "5 5", "0x5",
					      "99999999999999999999999" };
	char req[256];

	for (size_t i = 0; i < sizeof bad_cl / sizeof *bad_cl; i++) {
		snprintf(req, sizeof req,
			 "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %s\r\n\r\nhello",
			 bad_cl[i]);
		TH_CHECK(answers_and_closes(port, req, 400));
	}
	TH_CHECK(answers_and_closes(port,
				    "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
				    "Content-Length: 5\r\n\r\nhello",
				    400));
	TH_CHECK(answers(port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length:  05 \r\n\r\nhello",
			 200, "hello"));
	TH_CHECK(answers_and_closes(port,
				    "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
				    "\r\n+5\r\nhello\r\n0\r\n\r\n",
				    400));
	TH_CHECK(answers_and_closes(port,
				    "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
				    "\r\nfffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
				    400));
	TH_CHECK(answers(port,
			 "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
			 "\r\n00000000000000000000005\r\nhello\r\n0\r\n\r\n",
			 200, "hello"));
	return TH_OK;
}

static void *t_hostile(void *arg)
{
	(void)arg;
	TH_CHECK(with_server(NULL, t_targets) == TH_OK);
	TH_CHECK(with_server(NULL, t_fields) == TH_OK);
	TH_CHECK(with_server(NULL, t_versions) == TH_OK);
	TH_CHECK(with_server(NULL, t_refused_lines) == TH_OK);
	TH_CHECK(with_server(NULL, t_numbers) == TH_OK);
	return TH_OK;
}

START_TEST(hostile_requests)
{
	RUN_OK(t_hostile, NULL);
}
END_TEST

START_TEST(faults_basic)
{
	g_faults = FAULTS;
	RUN_OK(t_basic, NULL);
}
END_TEST

START_TEST(faults_bodies)
{
	g_faults = FAULTS;
	RUN_OK(t_bodies, NULL);
}
END_TEST

START_TEST(faults_hostile)
{
	g_faults = FAULTS;
	RUN_OK(t_hostile, NULL);
}
END_TEST

START_TEST(faults_pipeline)
{
	g_faults = "11:short@0.7";
	RUN_OK(t_pipeline, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_server");

	TH_TCASE(s, "server", TH_TIMEOUT, basic, long_targets, bodies, early_answers, pipeline_keepalive,
		 hostile_requests);
	TH_TCASE(s, "faults", TH_TIMEOUT, faults_basic, faults_bodies, faults_pipeline,
		 faults_hostile);
	return th_main(s);
}
