/* tests/http/test_http_server.c: the HTTP/1.1 server (http/server*.c, http/server/parser.c,
 * http/common/mime.c). The server runs in a task of the test's loop (or on its own loops with
 * opts.threads); clients are raw sockets in other tasks sending exact bytes and checking
 * exact answers: GET/HEAD/POST with Content-Length and chunked bodies, pipelining, keep-alive
 * (HTTP/1.1 and 1.0 rules), every limit (431, 413, 414, 400 malformed / obs-fold / Host, 501,
 * 408 and the idle close), 100-continue, streaming, the 500 for a silent handler, graceful
 * shutdown (in-flight requests finish, idle connections close, new connections are refused,
 * the deadline cuts the rest), static files (Range, If-Modified-Since, traversal), 10 000
 * requests over 10 connections, several loops, and curl as a client when installed. Every
 * loop run checks that no descriptor leaked (TH_RUN). Everything stays on 127.0.0.1. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <corio/http_server.h>

#include "tests/support/helpers.h"

extern char **environ;

/* Runs fn in a loop, with g_faults (a CORIO_FAULTS spec) when a fault test set it. */
/* Set by the /slow and /forever handlers when they start (when a test points it at an
 * event): a test waits for it instead of sleeping and hoping the request got there. */
static corio_event *handler_started;
static const char *g_faults;
#define RUN_OK(fn, arg)                                                                            \
	do {                                                                                       \
		corio_config cfg_ = th_config();                                                   \
		cfg_.faults = g_faults;                                                            \
		TH_RUN_EXPECT_OK(&cfg_, fn, arg);                                                  \
	} while (0)

#define CBUF (1u << 20)

/* ---- the server under test --------------------------------------------------------------- */

static char file_root[256];
static int cold_flags_after = -1; /* /cold-fd: the fd's flags once the body went out */
static void make_files(void);
static void rm_files(void);

static const char *cold_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", file_root, name);
	return buf;
}

static void handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	const char *path = corio_http_in_path(req);
	char tmp[512];

	(void)ud;
	if (!strcmp(path, "/")) {
		corio_http_out_header(resp, "Content-Type", "text/plain");
		corio_http_out_send(resp, "hello world\n", 12);
	} else if (!strcmp(path, "/echo")) {
		const char *body;
		size_t len;
		int rc = corio_http_in_body(req, &body, &len);

		if (rc < 0)
			return; /* the server answers 413 / 408 / 400 */
		snprintf(tmp, sizeof tmp, "%s", corio_http_in_method(req));
		corio_http_out_header(resp, "X-Method", tmp);
		snprintf(tmp, sizeof tmp, "%lld", (long long)corio_http_in_content_length(req));
		corio_http_out_header(resp, "X-CL", tmp);
		corio_http_out_send(resp, body, len);
	} else if (!strcmp(path, "/info")) {
		const char *v = corio_http_in_header(req, "x-TEST");

		snprintf(tmp, sizeof tmp, "%s|%s|%s|%s|%d|%zu", corio_http_in_method(req),
			 corio_http_in_target(req), corio_http_in_query(req), v ? v : "(none)",
			 corio_http_in_version(req), corio_http_in_header_count(req));
		corio_http_out_send(resp, tmp, strlen(tmp));
	} else if (!strcmp(path, "/slow")) {
		if (handler_started)
			corio_event_set(handler_started);
		if (corio_sleep(CORIO_MS(300)) == 0)
			corio_http_out_send(resp, "slow done", 9);
	} else if (!strcmp(path, "/forever")) {
		if (handler_started)
			corio_event_set(handler_started);
		corio_sleep(CORIO_SEC(30));
	} else if (!strcmp(path, "/stream")) {
		corio_http_out_header(resp, "Content-Type", "text/plain");
		corio_http_out_write(resp, "a", 1);
		corio_http_out_write(resp, "bb", 2);
		corio_http_out_write(resp, "ccc", 3);
		corio_http_out_finish(resp);
	} else if (!strcmp(path, "/stream-len")) {
		corio_http_out_length(resp, 6);
		corio_http_out_write(resp, "abc", 3);
		corio_http_out_write(resp, "def", 3);
	} else if (!strcmp(path, "/hdrs")) {
		/* names the server writes itself: refused, or taken as the user's */
		bool ok = corio_http_out_header(resp, "content-LENGTH", "5") == -EINVAL &&
			  corio_http_out_header(resp, "Transfer-Encoding", "chunked") == -EINVAL &&
			  corio_http_out_header(resp, "DATE", "Sun, 06 Nov 1994 08:49:37 GMT") == 0 &&
			  corio_http_out_header(resp, "server", "mine") == 0 &&
			  corio_http_out_header(resp, "X-Len", "14") == 0 &&
			  corio_http_out_header(resp, "Connection", "close") == 0;

		corio_http_out_send(resp, ok ? "ok" : "no", 2);
	} else if (!strcmp(path, "/nothing")) {
		/* answers nothing: the server sends 500 */
	} else if (!strncmp(path, "/long/", 6)) {
		/* the path and query exactly as the handler sees them */
		size_t pl = strlen(path), ql = strlen(corio_http_in_query(req));
		char *b = malloc(pl + ql + 2);

		if (!b) {
			corio_http_out_error(resp, 500);
			return;
		}
		memcpy(b, path, pl);
		b[pl] = '|';
		memcpy(b + pl + 1, corio_http_in_query(req), ql + 1);
		corio_http_out_send(resp, b, pl + ql + 1);
		free(b);
	} else if (!strcmp(path, "/cl")) {
		/* answers with the announced length, the body unread */
		int n = snprintf(tmp, sizeof tmp, "%lld",
				 (long long)corio_http_in_content_length(req));

		corio_http_out_send(resp, tmp, (size_t)n);
	} else if (!strcmp(path, "/ignore-body")) {
		corio_http_out_send(resp, "ignored", 7);
	} else if (!strcmp(path, "/nocontent")) {
		corio_http_out_status(resp, 204);
		corio_http_out_send(resp, "", 0);
	} else if (!strcmp(path, "/cold-fd")) {
		/* a caller's fd opened O_NONBLOCK, on a file whose pages may not be cached */
		int fd = open(cold_path(tmp, sizeof tmp, "cold48k.bin"), O_RDONLY | O_NONBLOCK);

		if (fd < 0) {
			corio_http_out_error(resp, 500);
			return;
		}
		corio_http_out_file(resp, fd, 0, 48 << 10);
		cold_flags_after = fcntl(fd, F_GETFL);
		close(fd);
	} else if (!strncmp(path, "/files/", 7)) {
		corio_http_serve_file(req, resp, file_root, path + 6);
	} else {
		corio_http_out_error(resp, 404);
	}
}

typedef struct srvctx {
	corio_http_server *srv;
	corio_task *task;
	int port, rc;
} srvctx;

static void *serve_task(void *arg)
{
	srvctx *x = arg;

	x->rc = corio_http_server_serve(x->srv);
	return NULL;
}

static int srv_start(srvctx *x, const corio_http_server_opts *o)
{
	int rc;

	memset(x, 0, sizeof *x);
	if (!(x->srv = corio_http_server_new(o, handler, NULL)))
		return -ENOMEM;
	if ((rc = corio_http_server_listen(x->srv, "127.0.0.1", 0)) < 0)
		return rc;
	x->port = corio_http_server_port(x->srv);
	x->task = corio_spawn(serve_task, x);
	corio_yield(); /* the server parks in accept */
	return x->port > 0 && x->task ? 0 : -EINVAL;
}

static int srv_stop(srvctx *x, uint64_t grace)
{
	int rc = corio_http_server_shutdown(x->srv, grace);

	if (rc == 0)
		rc = corio_join(x->task, NULL);
	if (rc == 0)
		rc = x->rc;
	corio_http_server_free(x->srv);
	return rc;
}

/* ---- raw clients ------------------------------------------------------------------------ */

typedef struct cli {
	int fd;
	char *buf;
	size_t len;
	bool eof;
} cli;

typedef struct resp {
	int status;
	char head[8192];
	char *body;
	size_t blen;
} resp;

static int cli_open(cli *c, int port)
{
	char ps[16];

	snprintf(ps, sizeof ps, "%d", port);
	c->buf = malloc(CBUF);
	c->len = 0;
	c->eof = false;
	c->fd = corio_tcp_connect("127.0.0.1", ps);
	return c->fd;
}

static void cli_close(cli *c)
{
	if (c->fd >= 0)
		corio_close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

static int cli_send(cli *c, const char *s)
{
	return corio_send_all(c->fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

/* Receives more (5 s at most). 0, or -1 at EOF / error / timeout. */
static int cli_more(cli *c)
{
	corio_timeout t;
	ssize_t n;

	if (c->eof || c->len == CBUF)
		return -1;
	corio_timeout_enter(&t, CORIO_SEC(5));
	n = corio_recv(c->fd, c->buf + c->len, CBUF - c->len, 0);
	corio_timeout_exit(&t);
	if (n <= 0) {
		c->eof = true;
		return -1;
	}
	c->len += (size_t)n;
	return 0;
}

/* A response header's value (in r->head), NULL when absent. */
static const char *hval(const resp *r, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2, *end = strstr(line, "\r\n");

		if (!end)
			break;
		if ((size_t)(end - line) > nl && line[nl] == ':' && !strncasecmp(line, name, nl)) {
			const char *v = line + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(out, cap, "%.*s", (int)(end - v), v);
			return out;
		}
	}
	return NULL;
}

/* How many header lines of r are named name (any case). */
static int hcount(const resp *r, const char *name)
{
	size_t nl = strlen(name);
	int n = 0;

	for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
		n += !strncasecmp(p + 2, name, nl) && p[2 + nl] == ':';
	return n;
}

static void consume(cli *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Reads one response. head_req: the request was HEAD (no body). 0, or -1 (EOF first). The
 * body is malloc'ed into r->body (free it with resp_free). */
static int cli_read(cli *c, resp *r, bool head_req)
{
	char v[64];
	char *end;
	size_t hl;

	memset(r, 0, sizeof *r);
	while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
		if (cli_more(c) < 0)
			return -1;
	hl = (size_t)(end - c->buf) + 4;
	if (hl >= sizeof r->head)
		return -1;
	memcpy(r->head, c->buf, hl);
	r->head[hl] = '\0';
	r->status = atoi(r->head + 9);
	consume(c, hl);
	r->body = malloc(CBUF);
	if (head_req || r->status == 204 || r->status == 304 || r->status < 200) {
		r->blen = 0;
	} else if (hval(r, "content-length", v, sizeof v)) {
		size_t n = strtoull(v, NULL, 10);

		while (c->len < n)
			if (cli_more(c) < 0)
				return -1;
		memcpy(r->body, c->buf, n);
		r->blen = n;
		consume(c, n);
	} else if (hval(r, "transfer-encoding", v, sizeof v)) {
		for (;;) {
			char *le;
			size_t n;

			while (!(le = memmem(c->buf, c->len, "\r\n", 2)))
				if (cli_more(c) < 0)
					return -1;
			n = strtoull(c->buf, NULL, 16);
			while (c->len < (size_t)(le - c->buf) + 2 + n + 2)
				if (cli_more(c) < 0)
					return -1;
			memcpy(r->body + r->blen, le + 2, n);
			r->blen += n;
			consume(c, (size_t)(le - c->buf) + 2 + n + 2);
			if (n == 0)
				break;
		}
	} else {
		while (cli_more(c) == 0)
			;
		memcpy(r->body, c->buf, c->len);
		r->blen = c->len;
		c->len = 0;
	}
	r->body[r->blen] = '\0';
	return 0;
}

static void resp_free(resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* True when the server closes the connection (EOF) with nothing more sent. */
static bool cli_sees_eof(cli *c)
{
	while (cli_more(c) == 0)
		;
	return c->eof && c->len == 0;
}

/* One exchange on a new connection: sends req, reads one response. */
static int once(int port, const char *req, resp *r, bool *closed)
{
	cli c;
	int rc;

	memset(r, 0, sizeof *r); /* resp_free works whatever fails */
	if (cli_open(&c, port) < 0) {
		free(c.buf);
		return -1;
	}
	rc = cli_send(&c, req);
	if (rc == 0)
		rc = cli_read(&c, r, !strncmp(req, "HEAD ", 5));
	if (closed)
		*closed = rc == 0 && cli_sees_eof(&c);
	cli_close(&c);
	return rc;
}

static bool has_close(const resp *r)
{
	char v[64];

	return hval(r, "connection", v, sizeof v) && !strcasecmp(v, "close");
}

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

/* ---- limits and malformed requests -------------------------------------------------------- */

/* Sends req on a new connection; checks the status and that the server then closes. */
static bool answers_and_closes(int port, const char *req, int status)
{
	resp r;
	bool closed = false;
	int rc = once(port, req, &r, &closed);
	bool ok = rc == 0 && r.status == status && has_close(&r) && closed;

	if (!ok)
		fprintf(stderr, "want %d + close, got rc %d status %d closed %d for %.40s\n",
			status, rc, r.status, closed, req);
	resp_free(&r);
	return ok;
}

static void *t_limits(void *arg)
{
	corio_http_server_opts o;
	srvctx x;
	char *big;

	corio_http_server_opts_init(&o);
	o.max_header_bytes = 4096;
	o.max_headers = 20;
	o.max_body_bytes = 1000;
	o.max_requests = 2;
	TH_CHECK(srv_start(&x, &o) == 0);
	big = malloc(16384);
	/* 431: header bytes */
	snprintf(big, 16384, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: %05000d\r\n\r\n", 0);
	TH_CHECK(answers_and_closes(x.port, big, 431));
	/* 431: header count */
	strcpy(big, "GET / HTTP/1.1\r\nHost: t\r\n");
	for (int i = 0; i < 30; i++)
		sprintf(big + strlen(big), "X-H%d: v\r\n", i);
	strcat(big, "\r\n");
	TH_CHECK(answers_and_closes(x.port, big, 431));
	/* 414: a request-target longer than the header limit */
	snprintf(big, 16384, "GET /%05000d HTTP/1.1\r\nHost: t\r\n\r\n", 0);
	TH_CHECK(answers_and_closes(x.port, big, 414));
	/* 413: Content-Length above the limit, and a chunked body growing past it */
	TH_CHECK(answers_and_closes(x.port,
				    "POST /echo HTTP/1.1\r\nHost: t\r\n"
				    "Content-Length: 5000\r\n\r\n",
				    413));
	free(big);
	{
		/* 3 chunks of 500 bytes */
		size_t n = 0;
		char *b = malloc(4096);

		n += (size_t)sprintf(
			b, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
		for (int i = 0; i < 3; i++) {
			n += (size_t)sprintf(b + n, "1f4\r\n");
			memset(b + n, 'x', 500);
			n += 500;
			n += (size_t)sprintf(b + n, "\r\n");
		}
		n += (size_t)sprintf(b + n, "0\r\n\r\n");
		TH_CHECK(answers_and_closes(x.port, b, 413));
		free(b);
	}
	/* 400: malformed request line, bad header syntax, obs-fold, bad chunk size */
	TH_CHECK(answers_and_closes(x.port, "GARBAGE\r\n\r\n", 400));
	TH_CHECK(answers_and_closes(x.port, "GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n",
				    400));
	TH_CHECK(answers_and_closes(x.port, "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n",
				    400));
	TH_CHECK(answers_and_closes(x.port,
				    "POST /echo HTTP/1.1\r\nHost: t\r\n"
				    "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
				    400));
	TH_CHECK(answers_and_closes(x.port,
				    "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
				    "Content-Length: 2\r\n\r\nab",
				    400));
	TH_CHECK(answers_and_closes(x.port,
				    "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
				    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
				    400));
	/* obs-fold split across reads, either side of the CRLF */
	for (int i = 0; i < 2; i++) {
		cli c;
		resp r;

		TH_CHECK(cli_open(&c, x.port) >= 0);
		TH_CHECK(cli_send(&c, i ? "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n"
					: "GET / HTTP/1.1\r\nHost: t\r\nX-A: a") == 0);
		corio_sleep(CORIO_MS(20));
		TH_CHECK(cli_send(&c, i ? " b\r\n\r\n" : "\r\n b\r\n\r\n") == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 400 && has_close(&r));
		resp_free(&r);
		cli_close(&c);
	}
	/* a body cut short by the client: no answer, the connection closes */
	{
		cli c;

		TH_CHECK(cli_open(&c, x.port) >= 0);
		TH_CHECK(cli_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: "
				      "10\r\n\r\nabc") == 0);
		TH_CHECK(corio_shutdown(c.fd, SHUT_WR) == 0);
		TH_CHECK(cli_sees_eof(&c));
		cli_close(&c);
	}
	/* max_requests: the second answer on a connection closes it */
	{
		cli c;
		resp r;

		TH_CHECK(cli_open(&c, x.port) >= 0);
		TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && !has_close(&r));
		resp_free(&r);
		TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && has_close(&r));
		resp_free(&r);
		TH_CHECK(cli_sees_eof(&c));
		cli_close(&c);
	}
	/* 400: Host missing (HTTP/1.1) or repeated */
	TH_CHECK(answers_and_closes(x.port, "GET / HTTP/1.1\r\n\r\n", 400));
	TH_CHECK(answers_and_closes(x.port, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400));
	TH_CHECK(answers_and_closes(x.port, "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400));
	/* 501: a transfer coding other than chunked */
	TH_CHECK(answers_and_closes(x.port,
				    "POST /echo HTTP/1.1\r\nHost: t\r\n"
				    "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
				    501));
	/* Transfer-Encoding from an HTTP/1.0 client: faulty framing */
	TH_CHECK(answers_and_closes(x.port,
				    "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
				    "0\r\n\r\n",
				    400));
	/* 417: an expectation other than 100-continue */
	TH_CHECK(answers_and_closes(x.port, "GET / HTTP/1.1\r\nHost: t\r\nExpect: magic\r\n\r\n",
				    417));
	/* 505: another HTTP major version */
	TH_CHECK(answers_and_closes(x.port, "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505));
	/* a valid request right after all that still works */
	{
		resp r;

		TH_CHECK(once(x.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
		TH_CHECK(r.status == 200);
		resp_free(&r);
	}
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(limits)
{
	RUN_OK(t_limits, NULL);
}
END_TEST

static void *t_deadlines(void *arg)
{
	corio_http_server_opts o;
	srvctx x;
	cli c;
	resp r;
	uint64_t t0;

	corio_http_server_opts_init(&o);
	o.header_timeout_ns = CORIO_MS(200);
	o.idle_timeout_ns = CORIO_MS(300);
	o.body_timeout_ns = CORIO_MS(200);
	o.write_timeout_ns = CORIO_MS(200);
	TH_CHECK(srv_start(&x, &o) == 0);
	/* 408: a head that never ends (sent a byte at a time, slowloris) */
	TH_CHECK(cli_open(&c, x.port) >= 0);
	t0 = corio_now();
	TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\n") == 0);
	for (int i = 0; i < 3; i++) {
		corio_sleep(CORIO_MS(50));
		cli_send(&c, "X");
	}
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 408 && has_close(&r));
	/* the timeout counts from the head's start, not from its last byte; the upper bound
	 * only says "not hung" (a busy machine makes it late, never early) */
	TH_CHECK(corio_now() - t0 >= CORIO_MS(190) && corio_now() - t0 < CORIO_SEC(10));
	resp_free(&r);
	TH_CHECK(cli_sees_eof(&c));
	cli_close(&c);
	/* idle: closed without a word */
	TH_CHECK(cli_open(&c, x.port) >= 0);
	t0 = corio_now();
	TH_CHECK(cli_sees_eof(&c));
	TH_CHECK(corio_now() - t0 >= CORIO_MS(290) && corio_now() - t0 < CORIO_SEC(10));
	cli_close(&c);
	/* idle after a keep-alive response: the same */
	TH_CHECK(cli_open(&c, x.port) >= 0);
	TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
	resp_free(&r);
	TH_CHECK(cli_sees_eof(&c));
	cli_close(&c);
	/* a client that stops reading a large answer: cut off after write_timeout */
	TH_CHECK(cli_open(&c, x.port) >= 0);
	TH_CHECK(cli_send(&c, "GET /files/huge.bin HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	corio_sleep(CORIO_SEC(1));
	{
		size_t total = 0;

		while (cli_more(&c) == 0) {
			total += c.len;
			c.len = 0;
		}
		total += c.len;
		TH_CHECK(c.eof && total > 0 && total < (64u << 20));
	}
	cli_close(&c);
	/* 408: a body that stops arriving */
	TH_CHECK(cli_open(&c, x.port) >= 0);
	TH_CHECK(cli_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc") ==
		 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 408 && has_close(&r));
	resp_free(&r);
	TH_CHECK(cli_sees_eof(&c));
	cli_close(&c);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(deadlines)
{
	make_files();
	RUN_OK(t_deadlines, NULL);
	rm_files();
}
END_TEST

/* The same with large bodies spliced: a splice blocked on a client that stopped reading
 * is cut off at the write deadline too. */
START_TEST(deadlines_splice)
{
	setenv("CORIO_HTTP_FILE", "splice", 1);
	make_files();
	RUN_OK(t_deadlines, NULL);
	rm_files();
}
END_TEST

/* ---- graceful shutdown --------------------------------------------------------------------- */

typedef struct slowreq {
	int port;
	int status;
	bool closed;
	char body[32];
} slowreq;

static void *slow_client(void *arg)
{
	slowreq *s = arg;
	resp r;

	if (once(s->port, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n", &r, &s->closed) == 0) {
		s->status = r.status;
		snprintf(s->body, sizeof s->body, "%s", r.body);
	}
	resp_free(&r);
	return NULL;
}

static void *t_shutdown(void *arg)
{
	srvctx x;
	cli idle;
	resp r;
	slowreq s = {0};
	corio_task *t;
	char ps[16];
	corio_event started;
	uint64_t t0;

	TH_CHECK(srv_start(&x, NULL) == 0);
	/* an idle keep-alive connection, and a request in flight */
	TH_CHECK(cli_open(&idle, x.port) >= 0);
	TH_CHECK(cli_send(&idle, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&idle, &r, false) == 0 && r.status == 200);
	resp_free(&r);
	s.port = x.port;
	TH_CHECK(corio_event_init(&started) == 0);
	handler_started = &started;
	t = corio_spawn(slow_client, &s);
	TH_CHECK(corio_event_wait(&started) == 0); /* the slow handler is running */
	handler_started = NULL;
	t0 = corio_now();
	TH_CHECK(corio_http_server_shutdown(x.srv, CORIO_SEC(5)) == 0);
	TH_CHECK(corio_http_server_shutdown(x.srv, CORIO_SEC(5)) == -EALREADY);
	/* the idle connection is closed at once */
	TH_CHECK(cli_sees_eof(&idle));
	TH_CHECK(corio_now() - t0 < CORIO_MS(4500)); /* not after the 5 s grace */
	cli_close(&idle);
	/* new connections are refused */
	snprintf(ps, sizeof ps, "%d", x.port);
	{
		int fd = corio_tcp_connect("127.0.0.1", ps);

		if (fd >= 0)
			corio_close(fd);
		TH_CHECK(fd == -ECONNREFUSED);
	}
	/* the request in flight completes, and its connection closes after it */
	TH_CHECK(corio_join(t, NULL) == 0);
	TH_CHECK(s.status == 200 && !strcmp(s.body, "slow done") && s.closed);
	TH_CHECK(corio_join(x.task, NULL) == 0 && x.rc == 0);
	TH_CHECK(corio_now() - t0 < CORIO_MS(4500)); /* the request's end, not the grace's */
	corio_http_server_free(x.srv);
	return TH_OK;
}

START_TEST(shutdown_graceful)
{
	RUN_OK(t_shutdown, NULL);
}
END_TEST

static void *forever_client(void *arg)
{
	slowreq *s = arg;
	resp r;

	s->status = once(s->port, "GET /forever HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL);
	resp_free(&r);
	return NULL;
}

static void *t_shutdown_deadline(void *arg)
{
	srvctx x;
	slowreq s = {0};
	corio_task *t;
	corio_event started;
	resp r;
	uint64_t t0;

	TH_CHECK(srv_start(&x, NULL) == 0);
	s.port = x.port;
	TH_CHECK(corio_event_init(&started) == 0);
	handler_started = &started;
	t = corio_spawn(forever_client, &s);
	TH_CHECK(corio_event_wait(&started) == 0); /* the request is in its handler */
	handler_started = NULL;
	t0 = corio_now();
	TH_CHECK(corio_http_server_shutdown(x.srv, CORIO_MS(200)) == 0);
	TH_CHECK(corio_join(x.task, NULL) == 0 && x.rc == 0);
	/* the grace, and nowhere near the handler's 30 s */
	TH_CHECK(corio_now() - t0 >= CORIO_MS(190) && corio_now() - t0 < CORIO_SEC(10));
	TH_CHECK(corio_join(t, NULL) == 0);
	TH_CHECK(s.status == -1); /* closed without an answer */
	corio_http_server_free(x.srv);
	/* cancelling the task in serve: a stop without grace */
	{
		cli c;

		TH_CHECK(srv_start(&x, NULL) == 0);
		TH_CHECK(cli_open(&c, x.port) >= 0);
		/* one exchange: the server has surely accepted this connection */
		TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
		resp_free(&r);
		corio_cancel(x.task);
		TH_CHECK(corio_join(x.task, NULL) == -ECANCELED);
		TH_CHECK(cli_sees_eof(&c));
		cli_close(&c);
		TH_CHECK(corio_http_server_shutdown(x.srv, 0) == -EALREADY);
		corio_http_server_free(x.srv);
	}
	/* shutdown before serve: serve returns at once */
	TH_CHECK((x.srv = corio_http_server_new(NULL, handler, NULL)) != NULL);
	TH_CHECK(corio_http_server_serve(x.srv) == -ENOTCONN);
	TH_CHECK(corio_http_server_listen(x.srv, "127.0.0.1", 0) == 0);
	TH_CHECK(corio_http_server_listen(x.srv, "127.0.0.1", 0) == -EALREADY);
	TH_CHECK(corio_http_server_shutdown(x.srv, 0) == 0);
	TH_CHECK(corio_http_server_serve(x.srv) == 0);
	corio_http_server_free(x.srv);
	return TH_OK;
}

/* 300 keep-alive connections, each after one request, all idle at the shutdown. */
static void *t_shutdown_many(void *arg)
{
	enum { N = 300 };
	srvctx x;
	cli *c = calloc(N, sizeof *c);
	uint64_t t0;

	TH_CHECK(srv_start(&x, NULL) == 0);
	for (int i = 0; i < N; i++) {
		resp r;

		TH_CHECK(cli_open(&c[i], x.port) >= 0);
		TH_CHECK(cli_send(&c[i], "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
		TH_CHECK(cli_read(&c[i], &r, false) == 0 && r.status == 200);
		resp_free(&r);
	}
	t0 = corio_now();
	TH_CHECK(corio_http_server_shutdown(x.srv, CORIO_SEC(10)) == 0);
	TH_CHECK(corio_join(x.task, NULL) == 0 && x.rc == 0);
	TH_CHECK(corio_now() - t0 < CORIO_SEC(8)); /* idle: closed at once, not at the 10 s */
	for (int i = 0; i < N; i++) {
		TH_CHECK(cli_sees_eof(&c[i]));
		cli_close(&c[i]);
	}
	free(c);
	corio_http_server_free(x.srv);
	return TH_OK;
}

START_TEST(shutdown_many_idle)
{
	RUN_OK(t_shutdown_many, NULL);
}
END_TEST

START_TEST(shutdown_deadline)
{
	RUN_OK(t_shutdown_deadline, NULL);
}
END_TEST

/* ---- static files ------------------------------------------------------------------------ */

static void make_files(void)
{
	char p[512];
	FILE *f;

	snprintf(file_root, sizeof file_root, "/tmp/corio-http-test-%d", (int)getpid());
	mkdir(file_root, 0755);
	snprintf(p, sizeof p, "%s/sub", file_root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/hello.txt", file_root);
	f = fopen(p, "w");
	fputs("0123456789abcdefghij", f);
	fclose(f);
	snprintf(p, sizeof p, "%s/sub/index.html", file_root);
	f = fopen(p, "w");
	fputs("<p>index</p>", f);
	fclose(f);
	snprintf(p, sizeof p, "%s/big.bin", file_root);
	f = fopen(p, "w");
	for (int i = 0; i < 300000; i++)
		fputc((i * 7) & 0xff, f);
	fclose(f);
	for (int k = 0; k < 2; k++) { /* read cold (evict_cold): 48 KiB inline, 300 KiB in steps */
		snprintf(p, sizeof p, "%s/%s", file_root, k ? "cold300k.bin" : "cold48k.bin");
		f = fopen(p, "w");
		for (int i = 0; i < (k ? 300000 : 48 << 10); i++)
			fputc((i * 13 + k) & 0xff, f);
		fclose(f);
	}
	snprintf(p, sizeof p, "%s/huge.bin", file_root); /* 64 MiB of zeros, sparse */
	if (truncate(p, 0) != 0 && (f = fopen(p, "w")))
		fclose(f);
	if (truncate(p, 64 << 20) != 0)
		perror("truncate");
	snprintf(p, sizeof p, "%s/fifo", file_root);
	if (mkfifo(p, 0644) != 0)
		perror("mkfifo");
	snprintf(p, sizeof p, "%s/escape", file_root);
	if (symlink("/etc", p) != 0)
		perror("symlink");
}

static void rm_files(void)
{
	char cmd[600];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", file_root);
	if (system(cmd) != 0)
		perror("rm");
}

/* Drops name's pages from the page cache; true when none is left resident (false on a
 * filesystem that keeps them, like tmpfs: the reads are then warm). */
static bool evict_cold(const char *name)
{
	char p[512];
	int fd = open(cold_path(p, sizeof p, name), O_RDONLY);
	struct stat st;
	bool cold = false;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && fdatasync(fd) == 0 &&
	    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0) {
		size_t pages = ((size_t)st.st_size + 4095) / 4096;
		unsigned char vec[128];
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);

		if (m != MAP_FAILED && pages <= sizeof vec && mincore(m, (size_t)st.st_size, vec) == 0) {
			cold = true;
			for (size_t i = 0; i < pages; i++)
				cold = cold && !(vec[i] & 1);
		}
		if (m != MAP_FAILED)
			munmap(m, (size_t)st.st_size);
	}
	close(fd);
	return cold;
}

/* The bytes of a cold file as make_files wrote them. */
static bool cold_body_ok(const resp *r, int k, size_t len)
{
	if (r->status != 200 || r->blen != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)r->body[i] != (unsigned char)((i * 13 + (size_t)k) & 0xff))
			return false;
	return true;
}

/* Files whose pages are not cached, opened O_NONBLOCK (the static handler does, so that a
 * FIFO cannot block the open): served whole. Kernels that answer such a read with -EAGAIN
 * (files without FMODE_NOWAIT, older kernels) get the flag cleared and the read again;
 * 6.x on ext4 reads them anyway. t_static_eagain forces the -EAGAIN path. */
static void *t_static_cold(void *arg)
{
	srvctx x;
	resp r;

	TH_CHECK(srv_start(&x, NULL) == 0);
	for (int round = 0; round < 2; round++) {
		evict_cold("cold48k.bin");
		evict_cold("cold300k.bin");
		TH_CHECK(once(x.port, "GET /files/cold48k.bin HTTP/1.1\r\nHost: t\r\n\r\n", &r,
			      NULL) == 0);
		TH_CHECK(cold_body_ok(&r, 0, 48 << 10));
		resp_free(&r);
		TH_CHECK(once(x.port, "GET /files/cold300k.bin HTTP/1.1\r\nHost: t\r\n\r\n", &r,
			      NULL) == 0);
		TH_CHECK(cold_body_ok(&r, 1, 300000));
		resp_free(&r);
	}
	/* A caller's O_NONBLOCK fd on a cold file: served whole. */
	evict_cold("cold48k.bin");
	TH_CHECK(once(x.port, "GET /cold-fd HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(cold_body_ok(&r, 0, 48 << 10));
	resp_free(&r);
	TH_CHECK(cold_flags_after >= 0);
	/* Warm: a read that did not need to wait leaves the flag alone (no fcntl per request). */
	TH_CHECK(once(x.port, "GET /cold-fd HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(cold_body_ok(&r, 0, 48 << 10));
	resp_free(&r);
	TH_CHECK(cold_flags_after >= 0 && (cold_flags_after & O_NONBLOCK));
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* With reads failing -EAGAIN at random (CORIO_FAULTS EAGAIN@0.3/read), as a kernel
 * does for uncached pages of an O_NONBLOCK file: a read that fails so clears the flag and
 * goes again. Each answer is the whole file, or a 500 when the retry failed too. */
static void *t_static_eagain(void *arg)
{
	srvctx x;
	resp r;
	int retried = 0, ok = 0;

	TH_CHECK(srv_start(&x, NULL) == 0);
	for (int i = 0; i < 100; i++) {
		cold_flags_after = -1;
		TH_CHECK(once(x.port, "GET /cold-fd HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
		TH_CHECK(r.status == 500 || cold_body_ok(&r, 0, 48 << 10));
		TH_CHECK(cold_flags_after >= 0);
		ok += r.status == 200;
		retried += r.status == 200 && !(cold_flags_after & O_NONBLOCK);
		resp_free(&r);
	}
	/* P(no retried success in 100) = 0.79^100, below 1e-10 */
	TH_CHECK(retried > 0 && ok > retried);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

static void *t_static(void *arg)
{
	srvctx x;
	resp r;
	char v[128], req[512], lm[64];

	TH_CHECK(srv_start(&x, NULL) == 0);
	TH_CHECK(once(x.port, "GET /files/hello.txt HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(r.status == 200 && !strcmp(r.body, "0123456789abcdefghij"));
	TH_CHECK(hval(&r, "content-type", v, sizeof v) && !strcmp(v, "text/plain; charset=utf-8"));
	TH_CHECK(hval(&r, "accept-ranges", v, sizeof v) && !strcmp(v, "bytes"));
	TH_CHECK(hval(&r, "last-modified", lm, sizeof lm) && strstr(lm, " GMT"));
	resp_free(&r);
	/* a large file (spliced), compared byte for byte */
	TH_CHECK(once(x.port, "GET /files/big.bin HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(r.status == 200 && r.blen == 300000);
	for (int i = 0; i < 300000; i++)
		TH_CHECK((unsigned char)r.body[i] == ((i * 7) & 0xff));
	resp_free(&r);
	/* HEAD: length, no body */
	TH_CHECK(once(x.port, "HEAD /files/big.bin HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(r.status == 200 && hval(&r, "content-length", v, sizeof v) &&
		 !strcmp(v, "300000"));
	resp_free(&r);
	/* ranges */
	TH_CHECK(once(x.port,
		      "GET /files/hello.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=2-5\r\n\r\n", &r,
		      NULL) == 0);
	TH_CHECK(r.status == 206 && !strcmp(r.body, "2345"));
	TH_CHECK(hval(&r, "content-range", v, sizeof v) && !strcmp(v, "bytes 2-5/20"));
	resp_free(&r);
	TH_CHECK(once(x.port, "GET /files/hello.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=-3\r\n\r\n",
		      &r, NULL) == 0);
	TH_CHECK(r.status == 206 && !strcmp(r.body, "hij"));
	resp_free(&r);
	TH_CHECK(once(x.port,
		      "GET /files/hello.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=15-\r\n\r\n", &r,
		      NULL) == 0);
	TH_CHECK(r.status == 206 && !strcmp(r.body, "fghij"));
	resp_free(&r);
	TH_CHECK(
		once(x.port,
		     "GET /files/big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=100000-299999\r\n\r\n",
		     &r, NULL) == 0);
	TH_CHECK(r.status == 206 && r.blen == 200000);
	TH_CHECK((unsigned char)r.body[0] == ((100000 * 7) & 0xff));
	resp_free(&r);
	TH_CHECK(once(x.port,
		      "GET /files/hello.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=20-30\r\n\r\n", &r,
		      NULL) == 0);
	TH_CHECK(r.status == 416);
	TH_CHECK(hval(&r, "content-range", v, sizeof v) && !strcmp(v, "bytes */20"));
	TH_CHECK(strstr(r.head, "Content-Type") && /* one, not the file's and the error's */
		 !strstr(strstr(r.head, "Content-Type") + 1, "Content-Type"));
	resp_free(&r);
	/* several ranges: the whole file */
	TH_CHECK(once(x.port,
		      "GET /files/hello.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=0-1,3-4\r\n\r\n",
		      &r, NULL) == 0);
	TH_CHECK(r.status == 200 && r.blen == 20);
	resp_free(&r);
	/* If-Modified-Since */
	snprintf(req, sizeof req,
		 "GET /files/hello.txt HTTP/1.1\r\nHost: t\r\nIf-Modified-Since: %s\r\n\r\n", lm);
	TH_CHECK(once(x.port, req, &r, NULL) == 0);
	TH_CHECK(r.status == 304 && r.blen == 0 && !hval(&r, "content-length", v, sizeof v));
	resp_free(&r);
	TH_CHECK(once(x.port,
		      "GET /files/hello.txt HTTP/1.1\r\nHost: t\r\n"
		      "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n\r\n",
		      &r, NULL) == 0);
	TH_CHECK(r.status == 200 && r.blen == 20);
	resp_free(&r);
	/* directories */
	TH_CHECK(once(x.port, "GET /files/sub/ HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(r.status == 200 && !strcmp(r.body, "<p>index</p>"));
	TH_CHECK(hval(&r, "content-type", v, sizeof v) && !strncmp(v, "text/html", 9));
	resp_free(&r);
	TH_CHECK(once(x.port, "GET /files/sub?x=1 HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(r.status == 301 && hval(&r, "location", v, sizeof v) &&
		 !strcmp(v, "/files/sub/?x=1"));
	resp_free(&r);
	/* traversal: "..", encoded "..", symlinks out of the root, absolute paths */
	TH_CHECK(once(x.port, "GET /files/../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n", &r,
		      NULL) == 0);
	TH_CHECK(r.status == 403);
	resp_free(&r);
	TH_CHECK(once(x.port, "GET /files/%2e%2e/%2E%2E/etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n", &r,
		      NULL) == 0);
	TH_CHECK(r.status == 403);
	resp_free(&r);
	TH_CHECK(once(x.port, "GET /files/sub/..%2f..%2fetc/passwd HTTP/1.1\r\nHost: t\r\n\r\n", &r,
		      NULL) == 0);
	TH_CHECK(r.status == 403);
	resp_free(&r);
	TH_CHECK(once(x.port, "GET /files/escape/passwd HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) ==
		 0);
	TH_CHECK(r.status == 404);
	resp_free(&r);
	TH_CHECK(once(x.port, "GET /files//etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(r.status == 404);
	resp_free(&r);
	TH_CHECK(once(x.port, "GET /files/hello.txt%00.png HTTP/1.1\r\nHost: t\r\n\r\n", &r,
		      NULL) == 0);
	TH_CHECK(r.status == 400);
	resp_free(&r);
	/* a FIFO is no file to serve (and opening it must not wait for a writer) */
	TH_CHECK(once(x.port, "GET /files/fifo HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(r.status == 404);
	resp_free(&r);
	TH_CHECK(once(x.port, "GET /files/nope.txt HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(r.status == 404);
	resp_free(&r);
	TH_CHECK(once(x.port, "DELETE /files/hello.txt HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) ==
		 0);
	TH_CHECK(r.status == 405 && hval(&r, "allow", v, sizeof v) && !strcmp(v, "GET, HEAD"));
	resp_free(&r);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(static_files)
{
	make_files();
	RUN_OK(t_static, NULL);
	rm_files();
}
END_TEST

START_TEST(static_files_cold)
{
	make_files();
	RUN_OK(t_static_cold, NULL);
	g_faults = "11:EAGAIN@0.3/read";
	RUN_OK(t_static_eagain, NULL);
	rm_files();
}
END_TEST

/* Large bodies spliced (file -> pipe -> socket) instead of read and sent. */
START_TEST(static_files_splice)
{
	setenv("CORIO_HTTP_FILE", "splice", 1);
	make_files();
	RUN_OK(t_static, NULL);
	rm_files();
}
END_TEST

START_TEST(mime_types)
{
	ck_assert_str_eq(corio_http_mime_type("a/b/index.HTML"), "text/html; charset=utf-8");
	ck_assert_str_eq(corio_http_mime_type("x.png"), "image/png");
	ck_assert_str_eq(corio_http_mime_type("x.tar.gz"), "application/gzip");
	ck_assert_str_eq(corio_http_mime_type("x.woff2"), "font/woff2");
	ck_assert_str_eq(corio_http_mime_type("noext"), "application/octet-stream");
	ck_assert_str_eq(corio_http_mime_type("dir.d/file"), "application/octet-stream");
	ck_assert_str_eq(corio_http_mime_type("x."), "application/octet-stream");
	ck_assert_str_eq(corio_http_reason(431), "Request Header Fields Too Large");
}
END_TEST

/* ---- load: 10 000 requests over 10 connections (2 500 under ASan) ------------------------- */

typedef struct loadc {
	int port, id, ok;
} loadc;

/* Requests per client. ASan builds run each request several times slower: a quarter keeps
 * the test's shape (pipelining, ten clients, faults) within its timeout on a busy machine. */
#define LOAD_REQS (TH_ASAN ? 250 : 1000)

static void *load_client(void *arg)
{
	loadc *l = arg;
	cli c;
	char req[512], want[128];

	if (cli_open(&c, l->port) < 0) {
		free(c.buf);
		return NULL;
	}
	/* LOAD_REQS requests: in groups of four, the last two of each group pipelined in one
	 * write */
	for (int i = 0; i < LOAD_REQS;) {
		int k = i % 4 == 2 ? 2 : 1, n = 0;
		bool good = true;

		for (int j = 0; j < k; j++) {
			snprintf(want, sizeof want, "c%d-r%d", l->id, i + j);
			n += snprintf(req + n, sizeof req - (size_t)n,
				      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n%s",
				      strlen(want), want);
		}
		if (corio_send_all(c.fd, req, (size_t)n) != n)
			break;
		for (int j = 0; j < k && good; j++) {
			resp r;

			snprintf(want, sizeof want, "c%d-r%d", l->id, i + j);
			good = cli_read(&c, &r, false) == 0 && r.status == 200 && !strcmp(r.body, want);
			resp_free(&r);
			l->ok += good;
		}
		if (!good)
			break;
		i += k;
	}
	cli_close(&c);
	return NULL;
}

static void *t_load(void *arg)
{
	corio_http_server_opts o;
	srvctx x;
	loadc l[10];
	corio_task *t[10];
	unsigned threads = (unsigned)(uintptr_t)arg;

	corio_http_server_opts_init(&o);
	o.threads = threads;
	TH_CHECK(srv_start(&x, &o) == 0);
	for (int i = 0; i < 10; i++) {
		l[i] = (loadc){.port = x.port, .id = i};
		t[i] = corio_spawn(load_client, &l[i]);
	}
	TH_CHECK(corio_gather(t, 10, NULL) == 0);
	for (int i = 0; i < 10; i++)
		TH_CHECK(l[i].ok == LOAD_REQS);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	if (g_faults) {
		corio_statistics st;

		TH_CHECK(corio_stats(&st) == 0 && st.faults_injected > LOAD_REQS);
	}
	return TH_OK;
}

START_TEST(load_10k)
{
	RUN_OK(t_load, (void *)(uintptr_t)1);
}
END_TEST

START_TEST(load_threads)
{
	RUN_OK(t_load, (void *)(uintptr_t)2);
}
END_TEST

/* ---- curl as a client ------------------------------------------------------------------ */

typedef struct curlrun {
	char *const *argv;
	char out[4096];
	int status;
} curlrun;

/* Runs curl on the thread pool (the loop keeps serving meanwhile); stdout to out. */
static void *run_curl(void *arg)
{
	curlrun *cr = arg;
	char path[] = "/tmp/corio-curl-XXXXXX";
	int fd = mkstemp(path), st = -1;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	ssize_t n;

	if (fd < 0)
		return NULL;
	unlink(path);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	if (posix_spawn(&pid, "/usr/bin/curl", &fa, NULL, cr->argv, environ) == 0 &&
	    waitpid(pid, &st, 0) == pid)
		cr->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	posix_spawn_file_actions_destroy(&fa);
	n = pread(fd, cr->out, sizeof cr->out - 1, 0);
	cr->out[n > 0 ? n : 0] = '\0';
	close(fd);
	return NULL;
}

static void *t_curl(void *arg)
{
	srvctx x;
	char u1[128], u2[128], u3[128];
	curlrun cr = {0};

	TH_CHECK(srv_start(&x, NULL) == 0);
	snprintf(u1, sizeof u1, "http://127.0.0.1:%d/", x.port);
	snprintf(u2, sizeof u2, "http://127.0.0.1:%d/echo", x.port);
	snprintf(u3, sizeof u3, "http://127.0.0.1:%d/files/hello.txt", x.port);
	{
		/* two URLs on one connection (keep-alive), then a POST, then a range */
		char *const argv[] = {"curl", "-sS", "--noproxy", "*", u1, u1, NULL};

		cr.argv = argv;
		TH_CHECK(corio_blocking(run_curl, &cr, NULL) == 0);
		TH_CHECK(cr.status == 0 && !strcmp(cr.out, "hello world\nhello world\n"));
	}
	{
		char *const argv[] = {"curl",
				      "-sS",
				      "--noproxy",
				      "*",
				      "--data-binary",
				      "posted body",
				      "-H",
				      "Expect: 100-continue",
				      u2,
				      NULL};

		cr.argv = argv;
		TH_CHECK(corio_blocking(run_curl, &cr, NULL) == 0);
		TH_CHECK(cr.status == 0 && !strcmp(cr.out, "posted body"));
	}
	{
		char *const argv[] = {"curl",
				      "-sS",
				      "--noproxy",
				      "*",
				      "-H",
				      "Transfer-Encoding: chunked",
				      "--data-binary",
				      "chunked body",
				      u2,
				      NULL};

		cr.argv = argv;
		TH_CHECK(corio_blocking(run_curl, &cr, NULL) == 0);
		TH_CHECK(cr.status == 0 && !strcmp(cr.out, "chunked body"));
	}
	{
		char *const argv[] = {"curl", "-sS", "--noproxy", "*", "-r", "3-6", u3, NULL};

		cr.argv = argv;
		TH_CHECK(corio_blocking(run_curl, &cr, NULL) == 0);
		TH_CHECK(cr.status == 0 && !strcmp(cr.out, "3456"));
	}
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(curl_client)
{
	if (access("/usr/bin/curl", X_OK) != 0) {
		fprintf(stderr, "curl_client: /usr/bin/curl not installed, skipped\n");
		return;
	}
	make_files();
	RUN_OK(t_curl, NULL);
	rm_files();
}
END_TEST

/* The same exchanges with every read, write, recv and send shortened at random (requests
 * then reach the parser in pieces: split request lines, names, values and chunk sizes). */
#define FAULTS "7:short@0.5"

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

START_TEST(faults_pipeline)
{
	g_faults = "11:short@0.7";
	RUN_OK(t_pipeline, NULL);
}
END_TEST

START_TEST(faults_limits)
{
	g_faults = FAULTS;
	RUN_OK(t_limits, NULL);
}
END_TEST

START_TEST(faults_static)
{
	g_faults = FAULTS;
	make_files();
	RUN_OK(t_static, NULL);
	rm_files();
}
END_TEST

START_TEST(faults_load)
{
	g_faults = "3:short@0.3";
	RUN_OK(t_load, (void *)(uintptr_t)1);
}
END_TEST

/* Resets and broken pipes injected on both sides: clients reconnect and go on; the server
 * must neither crash nor leak (TH_RUN counts descriptors) and must still shut down. */
static void *chaos_client(void *arg)
{
	loadc *l = arg;

	for (int i = 0; i < 300; i++) {
		resp r;
		int rc = once(
			l->port,
			i % 3 ? "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
			      : "GET /files/big.bin HTTP/1.1\r\nHost: t\r\n\r\n",
			&r, NULL);

		l->ok += rc == 0 && r.status == 200;
		resp_free(&r);
	}
	return NULL;
}

static void *t_chaos(void *arg)
{
	srvctx x;
	loadc l[4];
	corio_task *t[4];
	int ok = 0;

	TH_CHECK(srv_start(&x, NULL) == 0);
	for (int i = 0; i < 4; i++) {
		l[i] = (loadc){.port = x.port, .id = i};
		t[i] = corio_spawn(chaos_client, &l[i]);
	}
	TH_CHECK(corio_gather(t, 4, NULL) == 0);
	for (int i = 0; i < 4; i++)
		ok += l[i].ok;
	TH_CHECK(ok > 100); /* most get through */
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(faults_errors)
{
	g_faults = "9:short@0.3,ECONNRESET@0.02/recv+send+sendmsg,EPIPE@0.01/send,EIO@0.02/read";
	make_files();
	RUN_OK(t_chaos, NULL);
	rm_files();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("http_server");
	TCase *tc = tcase_create("server");

	tcase_set_timeout(tc, TH_TIMEOUT);
	tcase_add_test(tc, basic);
	tcase_add_test(tc, long_targets);
	tcase_add_test(tc, bodies);
	tcase_add_test(tc, early_answers);
	tcase_add_test(tc, pipeline_keepalive);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, deadlines);
	tcase_add_test(tc, deadlines_splice);
	tcase_add_test(tc, shutdown_graceful);
	tcase_add_test(tc, shutdown_deadline);
	tcase_add_test(tc, shutdown_many_idle);
	tcase_add_test(tc, static_files);
	tcase_add_test(tc, static_files_cold);
	tcase_add_test(tc, static_files_splice);
	tcase_add_test(tc, mime_types);
	tcase_add_test(tc, load_10k);
	tcase_add_test(tc, load_threads);
	tcase_add_test(tc, curl_client);
	suite_add_tcase(s, tc);
	tc = tcase_create("faults");
	tcase_set_timeout(tc, TH_TIMEOUT);
	tcase_add_test(tc, faults_basic);
	tcase_add_test(tc, faults_bodies);
	tcase_add_test(tc, faults_pipeline);
	tcase_add_test(tc, faults_limits);
	tcase_add_test(tc, faults_static);
	tcase_add_test(tc, faults_load);
	tcase_add_test(tc, faults_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return th_main(suite());
}
