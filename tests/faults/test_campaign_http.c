/* tests/faults/test_campaign_http.c: the HTTP layers' seeded fault campaign (campaign.h):
 * corio's client fetching from corio's own server on 127.0.0.1, both in the faulted loop:
 * bodies of 0, 1 and 4096 bytes and 1 MiB from memory, a chunked one, a gzip one the client
 * decodes, 1 MiB served from a file descriptor, and a POST echoed back. Each request gives
 * a byte-exact body or a clean error (never wrong bytes, never a hang); then, with
 * injection turned off, the same server must still answer a clean request exactly, and
 * shut down cleanly.
 *
 *   CORIO_CAMPAIGN_SEEDS=1-200 build/debug/test_campaign_http
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <zlib.h>

#include <corio/http.h>
#include <corio/http_server.h>

#include "tests/faults/campaign.h"

#define BIG (1u << 20)
#define POST_LEN (100u << 10)
#define TEXT_LINES 20000
/* The client's total timeout: a request that takes it waited for something that was never
 * coming (a normal one takes milliseconds, seconds on a loaded sanitized build). */
#define REQ_HANG_NS CORIO_SEC(10)

/* What the handler serves for one seed (made before the run, read-only during it). */
typedef struct site {
	unsigned seed;
	uint8_t *body;     /* BIG bytes of the seed's stream */
	char *text;        /* the gzip route's decoded body */
	size_t text_len;
	uint8_t *gz;       /* text, gzip-compressed */
	size_t gz_len;
	int file;          /* a memfd holding body */
} site;

static site g_site;

static void handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	site *s = ud;
	const char *path = corio_http_in_path(req);

	if (!strncmp(path, "/size/", 6)) {
		size_t n = strtoul(path + 6, NULL, 10);

		corio_http_out_send(resp, s->body, n <= BIG ? n : 0);
	} else if (!strncmp(path, "/chunked/", 9)) {
		size_t n = strtoul(path + 9, NULL, 10), off = 0, step = 1;

		/* pieces of 1, 3, 9, ... bytes: no Content-Length, so chunked */
		while (off < n && off < BIG && corio_http_out_write(resp, s->body + off,
				step < n - off ? step : n - off) == 0) {
			off += step < n - off ? step : n - off;
			step = step * 3 % 50000 + 1;
		}
		corio_http_out_finish(resp);
	} else if (!strcmp(path, "/gzip")) {
		corio_http_out_header(resp, "Content-Encoding", "gzip");
		corio_http_out_send(resp, s->gz, s->gz_len);
	} else if (!strcmp(path, "/file")) {
		corio_http_out_file(resp, s->file, 0, BIG);
	} else if (!strcmp(path, "/echo")) {
		const char *body;
		size_t len;

		if (corio_http_in_body(req, &body, &len) == 0)
			corio_http_out_send(resp, body, len);
	} else {
		corio_http_out_error(resp, 404);
	}
}

/* ---- the client side ------------------------------------------------------------------ */

typedef struct fetch {
	const char *method, *path;
	const uint8_t *want; /* the exact body expected */
	size_t want_len;
} fetch;

/* One request: NULL when it gave the exact body or failed cleanly, else a message. A 5xx
 * is the server reporting its own injected failure: clean, except where nothing may fail. */
static const char *do_fetch(cp_ctx *c, corio_http_client *cl, int port, const fetch *f)
{
	char url[96];
	corio_http_req rq = { .method = f->method, .url = url };
	corio_http_response *r = NULL;
	const char *body, *m = NULL;
	size_t len;
	int rc, st;

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, f->path);
	if (!strcmp(f->method, "POST")) {
		rq.body_kind = CORIO_HTTP_BODY_MEM;
		rq.body = g_site.body;
		rq.body_len = POST_LEN;
	}
	uint64_t t0 = corio_now(), ms;

	rc = corio_http_request(cl, &rq, &r);
	ms = (corio_now() - t0) / 1000000;
	if (getenv("CP_VERBOSE") && !strcmp(getenv("CP_VERBOSE"), "2"))
		fprintf(stderr, "  %s %s: %d after %llu ms\n", f->method, f->path, rc,
			(unsigned long long)ms);
	if (ms >= REQ_HANG_NS / 1000000) {
		corio_http_response_free(r);
		return cp_fail(c, "%s %s: %d after %llu ms: waited for the client's total timeout",
			       f->method, f->path, rc, (unsigned long long)ms);
	}
	if (rc != 0)
		return cp_judge(c, f->path, rc);
	st = corio_http_response_status(r);
	if (st >= 500 && !c->must_succeed)
		c->clean_error = true;
	else if (st != 200)
		m = cp_fail(c, "%s %s: status %d", f->method, f->path, st);
	else if ((rc = corio_http_response_text(r, &body, &len)) != 0)
		m = cp_judge(c, f->path, rc);
	else if (len != f->want_len || memcmp(body, f->want, len) != 0)
		m = cp_fail(c, "%s %s: %zu bytes, want %zu%s", f->method, f->path, len, f->want_len,
			    len == f->want_len ? " (wrong bytes)" : "");
	corio_http_response_free(r);
	return m;
}

typedef struct server {
	corio_http_server *srv;
	int rc;
} server;

static void *serve(void *arg)
{
	server *s = arg;

	s->rc = corio_http_server_serve(s->srv);
	return NULL;
}

/* The requests of a run, each once, in an order from the seed. */
static const char *fetch_all(cp_ctx *c, corio_http_client *cl, int port)
{
	const fetch list[] = {
		{ "GET", "/size/0", g_site.body, 0 },
		{ "GET", "/size/1", g_site.body, 1 },
		{ "GET", "/size/4096", g_site.body, 4096 },
		{ "GET", "/size/1048576", g_site.body, BIG },
		{ "GET", "/chunked/300001", g_site.body, 300001 },
		{ "GET", "/gzip", (const uint8_t *)g_site.text, g_site.text_len },
		{ "GET", "/file", g_site.body, BIG },
		{ "POST", "/echo", g_site.body, POST_LEN },
	};
	size_t n = sizeof list / sizeof list[0];
	uint64_t rng = c->seed * 29ull;
	const char *m = NULL;

	for (size_t i = 0, k = cp_rand(&rng) % n; i < n && !m; i++)
		m = do_fetch(c, cl, port, &list[(k + i) % n]);
	return m;
}

/* Server and client in the faulted loop; then the clean check with injection off. */
static const char *http_workload(cp_ctx *c)
{
	static const fetch clean = { "GET", "/size/1048576", NULL, BIG };
	corio_http_client_opts o = { .total_ns = REQ_HANG_NS };
	server s = { corio_http_server_new(NULL, handler, &g_site), 0 };
	corio_http_client *cl = corio_http_client_new(&o);
	corio_task *t = NULL;
	const char *m = NULL;
	unsigned rules = cp_faults_pause(); /* the listener is set up, not tested */
	int rc = s.srv ? corio_http_server_listen(s.srv, "127.0.0.1", 0) : -ENOMEM, port;
	fetch ok = clean;

	cp_faults_resume(rules);
	if (!s.srv || !cl || rc != 0) {
		m = cp_fail(c, "server or client: %d", rc);
	} else if (!(t = corio_spawn(serve, &s))) {
		m = cp_fail(c, "corio_spawn");
	} else {
		port = corio_http_server_port(s.srv);
		m = fetch_all(c, cl, port);
		cp_faults_off();
		ok.want = g_site.body;
		c->must_succeed = true; /* the clean request must work */
		m = m ? m : do_fetch(c, cl, port, &ok);
		corio_http_server_shutdown(s.srv, CORIO_SEC(5));
		cp_join(t);
		if (!m && s.rc != 0)
			m = cp_fail(c, "corio_http_server_serve returned %d after the clean check", s.rc);
	}
	corio_http_client_free(cl);
	corio_http_server_free(s.srv);
	return m;
}

static const int http_consequences[] = { EPIPE, ECONNRESET, EPROTO, 0 };

/* ---- the site of a seed ------------------------------------------------------------- */

static int gzip_text(site *s)
{
	z_stream z = { 0 };
	int rc;

	s->gz_len = compressBound(s->text_len) + 64;
	if (!(s->gz = malloc(s->gz_len)) ||
	    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (Bytef *)s->text;
	z.avail_in = (uInt)s->text_len;
	z.next_out = s->gz;
	z.avail_out = (uInt)s->gz_len;
	rc = deflate(&z, Z_FINISH);
	s->gz_len = z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

/* Builds g_site for seed: the stream, the text and its gzip, the memfd. */
static void site_make(unsigned seed)
{
	site *s = &g_site;
	size_t cap = TEXT_LINES * 48;

	memset(s, 0, sizeof *s);
	s->seed = seed;
	s->body = malloc(BIG);
	s->text = malloc(cap);
	ck_assert(s->body && s->text);
	cp_fill(seed, 0, s->body, BIG);
	for (int i = 0; i < TEXT_LINES; i++)
		s->text_len += (size_t)snprintf(s->text + s->text_len, cap - s->text_len,
						"line %d of seed %u\n", i, seed);
	ck_assert_int_eq(gzip_text(s), 0);
	s->file = memfd_create("campaign", MFD_CLOEXEC);
	ck_assert_int_ge(s->file, 0);
	ck_assert_int_eq(pwrite(s->file, s->body, BIG, 0), BIG);
}

static void site_free(void)
{
	close(g_site.file);
	free(g_site.body);
	free(g_site.text);
	free(g_site.gz);
}

static void http_campaign(unsigned seed, const char *test)
{
	site_make(seed);
	cp_run_classes(seed, CP_NET, http_workload, test, 1u << CP_SHORT, http_consequences,
		       NULL, NULL);
	site_free();
}

/* The server receiving with plain receives (the default), then through its multishot
 * receiver (CORIO_HTTP_RECV=multishot: read once per process, and each seed runs in a
 * fresh child). */
START_TEST(test_http)
{
	http_campaign((unsigned)_i, "test_http");
}
END_TEST

START_TEST(test_http_multishot_recv)
{
	setenv("CORIO_HTTP_RECV", "multishot", 1);
	http_campaign((unsigned)_i, "test_http_multishot_recv");
}
END_TEST

/* ---- regressions ---------------------------------------------------------------------- */

/* Found by seed 4, class reset, with plain receives (before main's merge changed the
 * operation sequence a seed meets): the client's send of a POST body failed with an
 * (injected) ECONNRESET while the connection was still up; the client then waited for an
 * early answer the server could not give, as the server waited for the rest of the body,
 * until the client's total timeout. The client now half-closes before reading an early
 * answer. Replayed here without luck: every send fails from the body's second piece on. */
typedef struct body_src {
	unsigned calls, rules;
} body_src;

static ssize_t body_piece(void *arg, void *buf, size_t len)
{
	body_src *b = arg;

	if (++b->calls == 2)
		cp_faults_resume(b->rules); /* the first piece went out */
	memcpy(buf, g_site.body, len); /* the bytes do not matter: the send fails */
	return (ssize_t)len;
}

static const char *post_reset(cp_ctx *c, corio_http_client *cl, int port, body_src *src)
{
	char url[64];
	corio_http_req rq = { .method = "POST", .url = url, .body_kind = CORIO_HTTP_BODY_STREAM,
			      .body_fn = body_piece, .body_arg = src, .body_length = 3 << 16 };
	corio_http_response *r = NULL;
	uint64_t t0 = corio_now();
	int rc;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/echo", port);
	rc = corio_http_request(cl, &rq, &r);
	cp_faults_off();
	corio_http_response_free(r);
	if (corio_now() - t0 >= REQ_HANG_NS)
		return cp_fail(c, "POST /echo: %d after the client's total timeout", rc);
	if (src->calls < 2 || rc == 0)
		return cp_fail(c, "POST /echo: %d after %u body pieces, want a failed send", rc,
			       src->calls);
	return cp_judge(c, "POST /echo", rc);
}

static const char *post_reset_workload(cp_ctx *c)
{
	static const fetch clean = { "GET", "/size/4096", NULL, 4096 };
	body_src src = { 0, cp_faults_pause() };
	corio_http_client_opts o = { .total_ns = REQ_HANG_NS };
	server s = { corio_http_server_new(NULL, handler, &g_site), 0 };
	corio_http_client *cl = corio_http_client_new(&o);
	int rc = s.srv ? corio_http_server_listen(s.srv, "127.0.0.1", 0) : -ENOMEM;
	corio_task *t = rc == 0 && cl ? corio_spawn(serve, &s) : NULL;
	fetch ok = clean;
	const char *m;

	if (!t) {
		m = cp_fail(c, "server or client: %d", rc);
	} else {
		m = post_reset(c, cl, corio_http_server_port(s.srv), &src);
		ok.want = g_site.body;
		c->must_succeed = true; /* the server still serves */
		m = m ? m : do_fetch(c, cl, corio_http_server_port(s.srv), &ok);
		corio_http_server_shutdown(s.srv, CORIO_SEC(5));
		cp_join(t);
	}
	corio_http_client_free(cl);
	corio_http_server_free(s.srv);
	return m;
}

START_TEST(test_regression_post_send_reset)
{
	cp_ctx c = { .seed = 4, .cls = CP_RESET };

	site_make(c.seed);
	cp_class_setup(&c, CP_NET, 0, http_consequences);
	snprintf(c.spec, sizeof c.spec, "4:ECONNRESET@1/send");
	cp_run(&c, post_reset_workload, "test_regression_post_send_reset");
	site_free();
}
END_TEST

int main(void)
{
	Suite *s = CP_SUITE("campaign_http", 300, test_http, test_http_multishot_recv);

	TH_TCASE(s, "regressions", 300, test_regression_post_send_reset);
	return cp_main(s);
}
