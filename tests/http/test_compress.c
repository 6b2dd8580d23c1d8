/* tests/http/test_compress.c: gzip of handlers' bodies (http/server/compress.c through
 * corio_http_compress_middleware and corio_http_out_compress): send() in one go with its
 * Content-Length, large sends and streamed write()s chunked (byte-exact after decoding),
 * a streamed piece reaching the client before the handler goes on, file bodies, the
 * decision by Content-Type, a handler's own Content-Encoding left alone, a handler's ETag
 * made weak, Vary, HEAD, HTTP/1.0, q=0, and keep-alive across compressed responses. Raw
 * sockets: the encoded bytes are checked; and curl --compressed as a client of our own. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <corio/http_server.h>

#include "tests/support/helpers.h"
#include "tests/http/server_helpers.h"
#include "tests/http/gz_helpers.h"

#define TEXT_LEN 10000
#define BIG_LEN (600u << 10) /* past the one-go limit (256 KiB): streamed */

static char *text, *bigtext;
static char tmpfile_path[256];
static corio_event *piece_seen; /* /stream-wait: set by the client after the first piece */
static int api_rc[3];

static void api_checks(corio_http_in *req, corio_http_out *resp)
{
	api_rc[0] = corio_http_out_compress(resp, req, 10);
	api_rc[1] = corio_http_out_compress(resp, req, 9); /* armed twice: fine */
	corio_http_out_header(resp, "Content-Type", "text/plain");
	corio_http_out_write(resp, text, 500);
	api_rc[2] = corio_http_out_compress(resp, req, 1);
	corio_http_out_finish(resp);
}

/* Writes text in pieces of 1..300 bytes. */
static void write_pieces(corio_http_out *resp)
{
	size_t off = 0;

	for (unsigned k = 1; off < TEXT_LEN; k = k * 7 % 301) {
		size_t n = k < TEXT_LEN - off ? k : TEXT_LEN - off;

		if (corio_http_out_write(resp, text + off, n) < 0)
			return;
		off += n;
	}
	corio_http_out_finish(resp);
}

static void send_file_body(corio_http_out *resp)
{
	int fd = open(tmpfile_path, O_RDONLY);

	if (fd < 0) {
		corio_http_out_error(resp, 500);
		return;
	}
	corio_http_out_file(resp, fd, 0, TEXT_LEN);
	close(fd);
}

static void inner(corio_http_in *req, corio_http_out *resp, void *ud)
{
	const char *p = corio_http_in_path(req);

	(void)ud;
	if (!strcmp(p, "/api"))
		return api_checks(req, resp);
	corio_http_out_header(resp, "Content-Type", !strcmp(p, "/png") ? "image/png"
						    : !strcmp(p, "/json") ? "application/json"
									   : "text/plain; charset=utf-8");
	if (!strcmp(p, "/send") || !strcmp(p, "/png") || !strcmp(p, "/json")) {
		corio_http_out_send(resp, text, TEXT_LEN);
	} else if (!strcmp(p, "/small")) {
		corio_http_out_send(resp, "short", 5);
	} else if (!strcmp(p, "/big")) {
		corio_http_out_send(resp, bigtext, BIG_LEN);
	} else if (!strcmp(p, "/write")) {
		write_pieces(resp);
	} else if (!strcmp(p, "/write-len")) {
		corio_http_out_length(resp, TEXT_LEN);
		write_pieces(resp);
	} else if (!strcmp(p, "/stream-wait")) {
		corio_http_out_write(resp, text, 300);
		corio_event_wait(piece_seen);
		corio_http_out_write(resp, text + 300, TEXT_LEN - 300);
	} else if (!strcmp(p, "/own")) {
		corio_http_out_header(resp, "Content-Encoding", "br");
		corio_http_out_send(resp, text, TEXT_LEN);
	} else if (!strcmp(p, "/etag")) {
		corio_http_out_header(resp, "ETag", "\"v1\"");
		corio_http_out_send(resp, text, TEXT_LEN);
	} else if (!strcmp(p, "/vary")) {
		corio_http_out_header(resp, "Vary", "Origin, accept-encoding");
		corio_http_out_send(resp, text, TEXT_LEN);
	} else if (!strcmp(p, "/304")) {
		corio_http_out_status(resp, 304);
		corio_http_out_send(resp, "", 0);
	} else if (!strcmp(p, "/file")) {
		send_file_body(resp);
	} else if (!strcmp(p, "/empty")) {
		corio_http_out_finish(resp);
	} else if (strcmp(p, "/nothing") != 0) {
		corio_http_out_error(resp, 404);
	}
}

static void outer(corio_http_in *req, corio_http_out *resp, void *ud)
{
	corio_http_compress_middleware(req, resp, inner, NULL, ud);
}

static bool gz_chunked(const resp *r, const char *want, size_t len)
{
	return r->status == 200 && hdr_is(r, "content-encoding", "gzip") &&
	       hdr_is(r, "vary", "Accept-Encoding") && hdr_is(r, "transfer-encoding", "chunked") &&
	       hdr_is(r, "content-length", NULL) && gz_body_is(r, want, len);
}

/* identity with Vary (vary) or without */
static bool plain(const resp *r, const char *want, size_t len, bool vary)
{
	return r->status == 200 && hdr_is(r, "content-encoding", NULL) &&
	       hdr_is(r, "vary", vary ? "Accept-Encoding" : NULL) && r->blen == len &&
	       !memcmp(r->body, want, len);
}

#define AE "Accept-Encoding: gzip, deflate\r\n"

static void *t_send(void *arg)
{
	srvctx x;
	resp r;
	char v[64];

	TH_CHECK(srv_start_with(&x, NULL, outer, arg) == 0);
	/* one go: a Content-Length of the compressed bytes */
	TH_CHECK(get(x.port, "/send", AE, &r) == 0 && r.status == 200);
	TH_CHECK(hdr_is(&r, "content-encoding", "gzip") && hdr_is(&r, "vary", "Accept-Encoding"));
	TH_CHECK(hval(&r, "content-length", v, sizeof v) && strtoul(v, NULL, 10) == r.blen);
	TH_CHECK(r.blen < TEXT_LEN / 2 && gz_body_is(&r, text, TEXT_LEN));
	resp_free(&r);
	TH_CHECK(req_ex(x.port, "HEAD", "/send", "1.1", AE, &r) == 0);
	TH_CHECK(r.status == 200 && hdr_is(&r, "content-encoding", "gzip") && r.blen == 0);
	TH_CHECK(hdr_is(&r, "content-length", v)); /* the GET's compressed length */
	resp_free(&r);
	TH_CHECK(get(x.port, "/json", AE, &r) == 0 && hdr_is(&r, "content-encoding", "gzip") &&
		 gz_body_is(&r, text, TEXT_LEN));
	resp_free(&r);
	/* over 256 KiB: streamed, chunked */
	TH_CHECK(get(x.port, "/big", AE, &r) == 0 && gz_chunked(&r, bigtext, BIG_LEN));
	resp_free(&r);
	/* not accepted, refused, HTTP/1.0, too small: identity, Vary all the same */
	TH_CHECK(get(x.port, "/send", NULL, &r) == 0 && plain(&r, text, TEXT_LEN, true));
	resp_free(&r);
	TH_CHECK(get(x.port, "/send", "Accept-Encoding: gzip;q=0, *;q=0.5\r\n", &r) == 0 &&
		 plain(&r, text, TEXT_LEN, true));
	resp_free(&r);
	TH_CHECK(req_ex(x.port, "GET", "/send", "1.0", AE, &r) == 0 &&
		 plain(&r, text, TEXT_LEN, true));
	resp_free(&r);
	TH_CHECK(get(x.port, "/small", AE, &r) == 0 && plain(&r, "short", 5, true));
	resp_free(&r);
	/* an incompressible type: untouched, no Vary */
	TH_CHECK(get(x.port, "/png", AE, &r) == 0 && plain(&r, text, TEXT_LEN, false));
	resp_free(&r);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

static void *t_write(void *arg)
{
	srvctx x;
	resp r;

	TH_CHECK(srv_start_with(&x, NULL, outer, arg) == 0);
	TH_CHECK(get(x.port, "/write", AE, &r) == 0 && gz_chunked(&r, text, TEXT_LEN));
	resp_free(&r);
	/* an announced length is the identity body's: dropped */
	TH_CHECK(get(x.port, "/write-len", AE, &r) == 0 && gz_chunked(&r, text, TEXT_LEN));
	resp_free(&r);
	TH_CHECK(get(x.port, "/write-len", NULL, &r) == 0 && plain(&r, text, TEXT_LEN, true) &&
		 hdr_is(&r, "content-length", "10000"));
	resp_free(&r);
	TH_CHECK(get(x.port, "/file", AE, &r) == 0 && gz_chunked(&r, text, TEXT_LEN));
	resp_free(&r);
	TH_CHECK(get(x.port, "/file", NULL, &r) == 0 && plain(&r, text, TEXT_LEN, true));
	resp_free(&r);
	TH_CHECK(req_ex(x.port, "HEAD", "/write", "1.1", AE, &r) == 0);
	TH_CHECK(r.status == 200 && hdr_is(&r, "content-encoding", "gzip") &&
		 hdr_is(&r, "transfer-encoding", "chunked") && hdr_is(&r, "vary", "Accept-Encoding"));
	resp_free(&r);
	/* HTTP/1.0: no chunks, so identity, delimited by the close */
	TH_CHECK(req_ex(x.port, "GET", "/write", "1.0", AE, &r) == 0 &&
		 plain(&r, text, TEXT_LEN, true));
	resp_free(&r);
	TH_CHECK(get(x.port, "/empty", AE, &r) == 0 && plain(&r, "", 0, true));
	resp_free(&r);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* Each write is flushed through zlib: the first piece decodes at the client while the
 * handler waits for the client to say it saw it. */
static void *t_stream_flush(void *arg)
{
	srvctx x;
	cli c;
	corio_event ev;
	z_stream z = {0};
	char out[4096], *hend;
	size_t got = 0;

	TH_CHECK(corio_event_init(&ev) == 0);
	piece_seen = &ev;
	TH_CHECK(srv_start_with(&x, NULL, outer, arg) == 0);
	TH_CHECK(cli_open(&c, x.port) >= 0);
	TH_CHECK(cli_send(&c, "GET /stream-wait HTTP/1.1\r\nHost: t\r\n" AE "\r\n") == 0);
	TH_CHECK(inflateInit2(&z, 16 + 15) == Z_OK);
	while (!(hend = memmem(c.buf, c.len, "\r\n\r\n", 4)))
		TH_CHECK(cli_more(&c) == 0);
	TH_CHECK(memmem(c.buf, (size_t)(hend - c.buf), "Content-Encoding: gzip", 22));
	consume(&c, (size_t)(hend - c.buf) + 4);
	while (got < 300) { /* un-chunk what came and inflate it */
		char *le = memmem(c.buf, c.len, "\r\n", 2);
		size_t n = le ? strtoul(c.buf, NULL, 16) : 0;

		if (!le || c.len < (size_t)(le - c.buf) + 2 + n + 2) {
			TH_CHECK(cli_more(&c) == 0);
			continue;
		}
		z.next_in = (Bytef *)le + 2;
		z.avail_in = (uInt)n;
		z.next_out = (Bytef *)out + got;
		z.avail_out = (uInt)(sizeof out - got);
		TH_CHECK(inflate(&z, Z_SYNC_FLUSH) != Z_STREAM_ERROR && z.avail_in == 0);
		got = sizeof out - z.avail_out;
		consume(&c, (size_t)(le - c.buf) + 2 + n + 2);
	}
	TH_CHECK(got == 300 && !memcmp(out, text, 300));
	inflateEnd(&z);
	corio_event_set(&ev);
	cli_close(&c);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	piece_seen = NULL;
	return TH_OK;
}

static void *t_headers(void *arg)
{
	srvctx x;
	resp r;

	TH_CHECK(srv_start_with(&x, NULL, outer, arg) == 0);
	/* a handler's own coding: untouched, no Vary of ours */
	TH_CHECK(get(x.port, "/own", AE, &r) == 0 && hdr_is(&r, "content-encoding", "br") &&
		 hcount(&r, "content-encoding") == 1 && hdr_is(&r, "vary", NULL) &&
		 r.blen == TEXT_LEN && !memcmp(r.body, text, TEXT_LEN));
	resp_free(&r);
	/* a strong ETag made weak once compressed, kept when not */
	TH_CHECK(get(x.port, "/etag", AE, &r) == 0 && hdr_is(&r, "etag", "W/\"v1\"") &&
		 gz_body_is(&r, text, TEXT_LEN));
	resp_free(&r);
	TH_CHECK(get(x.port, "/etag", NULL, &r) == 0 && hdr_is(&r, "etag", "\"v1\""));
	resp_free(&r);
	/* a handler's own Vary naming Accept-Encoding: not said twice */
	TH_CHECK(get(x.port, "/vary", AE, &r) == 0 && hcount(&r, "vary") == 1 &&
		 gz_body_is(&r, text, TEXT_LEN));
	resp_free(&r);
	TH_CHECK(get(x.port, "/304", AE, &r) == 0 && r.status == 304 &&
		 hdr_is(&r, "vary", "Accept-Encoding") && hdr_is(&r, "content-encoding", NULL));
	resp_free(&r);
	/* a handler that answers nothing still gets its 500 */
	TH_CHECK(get(x.port, "/nothing", AE, &r) == 0 && r.status == 500 &&
		 hdr_is(&r, "content-encoding", NULL));
	resp_free(&r);
	/* the calls' own checks */
	TH_CHECK(get(x.port, "/api", AE, &r) == 0 && gz_chunked(&r, text, 500));
	TH_CHECK(api_rc[0] == -EINVAL && api_rc[1] == 0 && api_rc[2] == -EALREADY);
	resp_free(&r);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* Compressed and identity answers one after another on one connection. */
static void *t_keepalive(void *arg)
{
	static const char *const reqs[] = {
		"GET /write HTTP/1.1\r\nHost: t\r\n" AE "\r\n",
		"GET /send HTTP/1.1\r\nHost: t\r\n\r\n",
		"GET /send HTTP/1.1\r\nHost: t\r\n" AE "\r\n",
		"GET /big HTTP/1.1\r\nHost: t\r\n" AE "\r\n",
		"GET /png HTTP/1.1\r\nHost: t\r\n" AE "\r\n",
	};
	srvctx x;
	cli c;
	resp r;

	TH_CHECK(srv_start_with(&x, NULL, outer, arg) == 0);
	TH_CHECK(cli_open(&c, x.port) >= 0);
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
			TH_CHECK(cli_send(&c, reqs[i]) == 0 && cli_read(&c, &r, false) == 0);
			TH_CHECK(i == 0 ? gz_chunked(&r, text, TEXT_LEN)
				 : i == 1 ? plain(&r, text, TEXT_LEN, true)
				 : i == 2 ? gz_body_is(&r, text, TEXT_LEN)
				 : i == 3 ? gz_chunked(&r, bigtext, BIG_LEN)
					  : plain(&r, text, TEXT_LEN, false));
			resp_free(&r);
		}
	cli_close(&c);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* The middleware in a router's chain (corio_http_router_use): routes' bodies compressed,
 * the router's own 404 a small identity answer. */
static void *t_router(void *arg)
{
	corio_http_router *rt = corio_http_router_new();
	srvctx x;
	resp r;

	(void)arg;
	TH_CHECK(rt && corio_http_router_use(rt, corio_http_compress_middleware, NULL) == 0);
	TH_CHECK(corio_http_route(rt, "GET", "/send", inner, NULL) == 0);
	TH_CHECK(corio_http_route(rt, "GET", "/write", inner, NULL) == 0);
	TH_CHECK(srv_start_with(&x, NULL, corio_http_router_handler, rt) == 0);
	TH_CHECK(get(x.port, "/send", AE, &r) == 0 && hdr_is(&r, "content-encoding", "gzip") &&
		 gz_body_is(&r, text, TEXT_LEN));
	resp_free(&r);
	TH_CHECK(get(x.port, "/write", AE, &r) == 0 && gz_chunked(&r, text, TEXT_LEN));
	resp_free(&r);
	TH_CHECK(get(x.port, "/write", NULL, &r) == 0 && plain(&r, text, TEXT_LEN, true));
	resp_free(&r);
	TH_CHECK(get(x.port, "/none", AE, &r) == 0 && r.status == 404 &&
		 hdr_is(&r, "content-encoding", NULL));
	resp_free(&r);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	corio_http_router_free(rt);
	return TH_OK;
}

/* Malformed Accept-Encoding on handler bodies: identity, a whole answer. */
static void *t_bad_accept(void *arg)
{
	static const char *const bad[] = { "gzip;q=2", "gzip;q=", ";;,,", "gzip;q=0.0000",
					   "gzip;q=x", "\"gzip\"" };
	srvctx x;
	resp r;
	char h[128];

	TH_CHECK(srv_start_with(&x, NULL, outer, arg) == 0);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(h, sizeof h, "Accept-Encoding: %s\r\n", bad[i]);
		TH_CHECK(get(x.port, "/write", h, &r) == 0 && plain(&r, text, TEXT_LEN, true));
		resp_free(&r);
	}
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

static void setup(void);
static void teardown(void);

/* ---- curl as an independent client ----------------------------------------------------- */

typedef struct curljob {
	char *const *argv;
	int status;
} curljob;

/* Runs curl on the thread pool (the loop keeps serving meanwhile). */
static void *run_curl(void *arg)
{
	curljob *j = arg;
	pid_t pid;
	int st;

	j->status = -1;
	if (posix_spawn(&pid, "/usr/bin/curl", NULL, NULL, j->argv, environ) == 0 &&
	    waitpid(pid, &st, 0) == pid)
		j->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return NULL;
}

/* The whole file at path (malloc'd, NUL-terminated), NULL when unreadable. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *b = malloc(BIG_LEN + 1);

	*len = f && b ? fread(b, 1, BIG_LEN, f) : 0;
	if (f)
		fclose(f);
	if (b)
		b[*len] = '\0';
	return b;
}

/* curl --compressed fetches each path: it saw Content-Encoding: gzip and decoded the bytes. */
static void *t_curl(void *arg)
{
	static const char *const paths[] = { "/send", "/write", "/big", "/file" };
	char url[128], hdr[96], body[96];
	srvctx x;

	(void)arg;
	snprintf(hdr, sizeof hdr, "/tmp/corio-compress-curl-h-%d", (int)getpid());
	snprintf(body, sizeof body, "/tmp/corio-compress-curl-b-%d", (int)getpid());
	TH_CHECK(srv_start_with(&x, NULL, outer, NULL) == 0);
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
		char *const argv[] = { "curl", "-sS", "--noproxy", "*", "--compressed", "-D", hdr,
				       "-o", body, url, NULL };
		curljob j = { argv, -1 };
		size_t hl, bl;
		char *h, *b;
		bool big = !strcmp(paths[i], "/big");

		snprintf(url, sizeof url, "http://127.0.0.1:%d%s", x.port, paths[i]);
		TH_CHECK(corio_blocking(run_curl, &j, NULL) == 0 && j.status == 0);
		h = slurp(hdr, &hl);
		b = slurp(body, &bl);
		TH_CHECK(h && b && strcasestr(h, "content-encoding: gzip"));
		TH_CHECK(bl == (big ? BIG_LEN : TEXT_LEN) && !memcmp(b, big ? bigtext : text, bl));
		free(h);
		free(b);
	}
	unlink(hdr);
	unlink(body);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(curl_compressed)
{
	if (access("/usr/bin/curl", X_OK) != 0) {
		fprintf(stderr, "curl not installed: curl_compressed skipped\n");
		return;
	}
	setup();
	RUN_OK(t_curl, NULL);
	teardown();
}
END_TEST

static void setup(void)
{
	FILE *f;

	text = make_text(TEXT_LEN, 11);
	bigtext = make_text(BIG_LEN, 12);
	snprintf(tmpfile_path, sizeof tmpfile_path, "/tmp/corio-compress-%d.txt", (int)getpid());
	f = fopen(tmpfile_path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, TEXT_LEN, f), TEXT_LEN);
	fclose(f);
}

static void teardown(void)
{
	unlink(tmpfile_path);
	free(text);
	free(bigtext);
}

static int level1 = 1, level9 = 9;

#define COMPRESS_TEST(name, fn)                                                                     \
	START_TEST(name)                                                                           \
	{                                                                                          \
		setup();                                                                           \
		RUN_OK(fn, NULL);                                                                  \
		teardown();                                                                        \
	}                                                                                          \
	END_TEST

COMPRESS_TEST(send_bodies, t_send)
COMPRESS_TEST(written_bodies, t_write)
COMPRESS_TEST(writes_flushed, t_stream_flush)
COMPRESS_TEST(handler_headers, t_headers)
COMPRESS_TEST(keepalive, t_keepalive)
COMPRESS_TEST(bad_accept_encoding, t_bad_accept)
COMPRESS_TEST(router_middleware, t_router)

/* The middleware's ud: a level. */
START_TEST(levels)
{
	setup();
	RUN_OK(t_send, &level1);
	RUN_OK(t_write, &level9);
	teardown();
}
END_TEST

/* With every read, write, recv and send shortened at random: still byte-exact. */
START_TEST(faults)
{
	g_faults = FAULTS;
	setup();
	RUN_OK(t_send, NULL);
	RUN_OK(t_write, NULL);
	RUN_OK(t_keepalive, NULL);
	teardown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compress");

	TH_TCASE(s, "compress", TH_TIMEOUT, send_bodies, written_bodies, writes_flushed,
		 handler_headers, keepalive, bad_accept_encoding, levels, curl_compressed,
		 router_middleware);
	TH_TCASE(s, "faults", TH_TIMEOUT, faults);
	return th_main(s);
}
