/* tests/http/test_static_cache.c: static files' caching and compression (http/server/
 * static.c with compress.c): the strong ETag and its format, the conditional requests in
 * RFC 9110 13.2.2's order (If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since,
 * If-Range), Cache-Control, Vary, gzip on the fly (byte-exact after decoding, over 1 MiB
 * too), Accept-Encoding q-values, HTTP/1.0, HEAD, precompressed .gz siblings, and
 * malformed validators and Accept-Encoding. Raw sockets: the encoded bytes are checked. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>

#include <corio/http_server.h>

#include "tests/support/helpers.h"
#include "tests/http/server_helpers.h"
#include "tests/http/gz_helpers.h"

#define CC "public, max-age=3600"
#define BIG_LEN ((size_t)1536 << 10)

static char root[256];
static char *page, *big, *pre_id, *pre_gz, *old_id, *old_gz, *idx_id, *idx_gz;
static size_t pre_gz_len, old_gz_len, idx_gz_len;
/* /g/: gzip + precompressed + Cache-Control; /q/: precompressed only; /p/: zeroed
 * options; /f/: corio_http_serve_file. */
static corio_http_static *st_gz, *st_pre, *st_plain;

static void cache_handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	const char *p = corio_http_in_path(req);

	(void)ud;
	if (!strncmp(p, "/g/", 3))
		corio_http_static_serve(st_gz, req, resp, p + 2);
	else if (!strncmp(p, "/q/", 3))
		corio_http_static_serve(st_pre, req, resp, p + 2);
	else if (!strncmp(p, "/p/", 3))
		corio_http_static_serve(st_plain, req, resp, p + 2);
	else if (!strncmp(p, "/f/", 3))
		corio_http_serve_file(req, resp, root, p + 2);
	else
		corio_http_out_error(resp, 404);
}

static void put_file(const char *rel, const void *data, size_t len, time_t sec, long nsec)
{
	char p[512];
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", root, rel);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
}

/* The ETag the server must give rel: inode, size, mtime ns in hex. */
static const char *etag_of(const char *rel, const char *suffix, char *out, size_t cap)
{
	char p[512];
	struct stat sb;
	uint64_t ns;

	snprintf(p, sizeof p, "%s/%s", root, rel);
	if (stat(p, &sb) != 0)
		return "";
	ns = (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec;
	snprintf(out, cap, "\"%llx-%llx-%llx%s\"", (unsigned long long)sb.st_ino,
		 (unsigned long long)sb.st_size, (unsigned long long)ns, suffix);
	return out;
}

/* gzip of the seeded text (len, seed). */
static char *gz_text(size_t len, unsigned seed, size_t *out_len)
{
	char *t = make_text(len, seed), *z = gzip_buf(t, len, out_len);

	free(t);
	return z;
}

static void setup(void)
{
	const time_t t0 = 1700000000;
	char p[512];
	corio_http_static_opts o;

	snprintf(root, sizeof root, "/tmp/corio-static-cache-%d", (int)getpid());
	mkdir(root, 0755);
	snprintf(p, sizeof p, "%s/sub", root);
	mkdir(p, 0755);
	page = make_text(4000, 1);
	big = make_text(BIG_LEN, 2);
	pre_id = make_text(3000, 3);
	pre_gz = gz_text(3000, 4, &pre_gz_len); /* other text: tells them apart */
	old_id = make_text(3000, 5);
	old_gz = gz_text(3000, 6, &old_gz_len);
	idx_id = make_text(2000, 7);
	idx_gz = gz_text(2000, 8, &idx_gz_len);
	put_file("page.txt", page, 4000, t0, 0);
	put_file("big.txt", big, BIG_LEN, t0, 0);
	put_file("tiny.txt", "tiny file, not worth a gzip frame\n", 34, t0, 0);
	put_file("photo.png", big, 5000, t0, 0);
	put_file("pre.css", pre_id, 3000, t0, 500);
	put_file("pre.css.gz", pre_gz, pre_gz_len, t0, 500); /* same time: newer-or-equal */
	put_file("old.js", old_id, 3000, t0 + 10, 0);
	put_file("old.js.gz", old_gz, old_gz_len, t0 + 9, 999999999); /* older by 1 ns */
	put_file("sub/index.html", idx_id, 2000, t0, 0);
	put_file("sub/index.html.gz", idx_gz, idx_gz_len, t0 + 1, 0);
	corio_http_static_opts_init(&o);
	o.cache_control = CC;
	o.gzip = o.precompressed = true;
	st_gz = corio_http_static_new_opts(root, &o);
	o.gzip = false;
	o.cache_control = NULL;
	st_pre = corio_http_static_new_opts(root, &o);
	st_plain = corio_http_static_new(root);
	ck_assert(st_gz && st_pre && st_plain);
}

static void teardown(void)
{
	char cmd[600];

	corio_http_static_free(st_gz);
	corio_http_static_free(st_pre);
	corio_http_static_free(st_plain);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		perror("rm");
	free(page), free(big), free(pre_id), free(pre_gz);
	free(old_id), free(old_gz), free(idx_id), free(idx_gz);
}

/* One GET (or HEAD) with extra headers: status st, and (when body) that identity body. */
static bool answers(int port, const char *path, const char *extra, int st, const char *body)
{
	resp r;
	bool ok = get(port, path, extra, &r) == 0 && r.status == st &&
		  (!body || (r.blen == strlen(body) && !memcmp(r.body, body, r.blen)));

	if (!ok)
		fprintf(stderr, "%s [%.100s]: want %d, got %d\n%s", path, extra, st, r.status, r.head);
	resp_free(&r);
	return ok;
}

/* ---- the ETag ------------------------------------------------------------------------------ */

static void *t_etag(void *arg)
{
	srvctx x;
	resp r;
	char e1[128], e2[128], want[128], h[256];

	(void)arg;
	TH_CHECK(srv_start_with(&x, NULL, cache_handler, NULL) == 0);
	TH_CHECK(get(x.port, "/p/page.txt", "Accept-Encoding: gzip\r\n", &r) == 0);
	TH_CHECK(r.status == 200 && r.blen == 4000 && !memcmp(r.body, page, 4000));
	TH_CHECK(hval(&r, "etag", e1, sizeof e1));
	TH_CHECK(!strcmp(e1, etag_of("page.txt", "", want, sizeof want)));
	/* zeroed options: no Cache-Control, no Vary, no gzip */
	TH_CHECK(hdr_is(&r, "cache-control", NULL) && hdr_is(&r, "vary", NULL) &&
		 hdr_is(&r, "content-encoding", NULL));
	resp_free(&r);
	/* stable across requests and across the three ways in */
	TH_CHECK(get(x.port, "/p/page.txt", NULL, &r) == 0 && hdr_is(&r, "etag", e1));
	resp_free(&r);
	TH_CHECK(get(x.port, "/f/page.txt", NULL, &r) == 0 && hdr_is(&r, "etag", e1));
	resp_free(&r);
	TH_CHECK(req_ex(x.port, "HEAD", "/p/page.txt", "1.1", NULL, &r) == 0 &&
		 hdr_is(&r, "etag", e1));
	resp_free(&r);
	/* on 206 and 304 too */
	TH_CHECK(get(x.port, "/p/page.txt", "Range: bytes=0-9\r\n", &r) == 0 && r.status == 206 &&
		 hdr_is(&r, "etag", e1));
	resp_free(&r);
	snprintf(h, sizeof h, "If-None-Match: %s\r\n", e1);
	TH_CHECK(get(x.port, "/p/page.txt", h, &r) == 0 && r.status == 304 &&
		 hdr_is(&r, "etag", e1));
	resp_free(&r);
	/* the same size, another mtime (set explicitly, 1 ns apart): another ETag, and the old
	 * one no longer matches */
	put_file("page.txt", page, 4000, 1700000000, 1);
	TH_CHECK(get(x.port, "/p/page.txt", NULL, &r) == 0 && hval(&r, "etag", e2, sizeof e2));
	TH_CHECK(strcmp(e1, e2) != 0 && !strcmp(e2, etag_of("page.txt", "", want, sizeof want)));
	resp_free(&r);
	TH_CHECK(answers(x.port, "/p/page.txt", h, 200, NULL));
	/* new contents of another size at the original mtime: another ETag again */
	put_file("page.txt", page, 3999, 1700000000, 0);
	TH_CHECK(get(x.port, "/p/page.txt", NULL, &r) == 0 && hval(&r, "etag", e2, sizeof e2));
	TH_CHECK(strcmp(e1, e2) != 0 && r.blen == 3999);
	resp_free(&r);
	put_file("page.txt", page, 4000, 1700000000, 0);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* ---- preconditions ------------------------------------------------------------------------ */

static bool is_304(int port, const char *path, const char *extra, const char *etag)
{
	resp r;
	bool ok = get(port, path, extra, &r) == 0 && r.status == 304 && r.blen == 0 &&
		  hdr_is(&r, "etag", etag) && hdr_is(&r, "cache-control", CC) &&
		  hdr_is(&r, "vary", "Accept-Encoding") && hdr_is(&r, "content-length", NULL) &&
		  hdr_is(&r, "transfer-encoding", NULL);

	if (!ok)
		fprintf(stderr, "%s [%.100s]: want 304\n%s", path, extra, r.head);
	resp_free(&r);
	return ok;
}

static void *t_conditionals(void *arg)
{
	srvctx x;
	resp r;
	char e[128], lm[64], h[512];
	const char *pg = "/g/page.txt";

	(void)arg;
	TH_CHECK(srv_start_with(&x, NULL, cache_handler, NULL) == 0);
	TH_CHECK(get(x.port, pg, NULL, &r) == 0 && r.status == 200);
	TH_CHECK(hval(&r, "etag", e, sizeof e) && hval(&r, "last-modified", lm, sizeof lm));
	TH_CHECK(hdr_is(&r, "cache-control", CC) && hdr_is(&r, "vary", "Accept-Encoding"));
	resp_free(&r);
	/* If-None-Match: hit, miss, list, two fields, *, weak */
	snprintf(h, sizeof h, "If-None-Match: %s\r\n", e);
	TH_CHECK(is_304(x.port, pg, h, e));
	TH_CHECK(answers(x.port, pg, "If-None-Match: \"nope\"\r\n", 200, NULL));
	snprintf(h, sizeof h, "If-None-Match: \"a\" ,W/\"b\",  %s\r\n", e);
	TH_CHECK(is_304(x.port, pg, h, e));
	snprintf(h, sizeof h, "If-None-Match: \"a\"\r\nIf-None-Match: %s\r\n", e);
	TH_CHECK(is_304(x.port, pg, h, e));
	TH_CHECK(is_304(x.port, pg, "If-None-Match: *\r\n", e));
	snprintf(h, sizeof h, "If-None-Match: W/%s\r\n", e);
	TH_CHECK(is_304(x.port, pg, h, e));
	/* If-None-Match before If-Modified-Since: a miss is 200 whatever the date says */
	snprintf(h, sizeof h, "If-None-Match: \"nope\"\r\nIf-Modified-Since: %s\r\n", lm);
	TH_CHECK(answers(x.port, pg, h, 200, NULL));
	snprintf(h, sizeof h, "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n"
			      "If-None-Match: %s\r\n", e);
	TH_CHECK(is_304(x.port, pg, h, e));
	snprintf(h, sizeof h, "If-Modified-Since: %s\r\n", lm);
	TH_CHECK(is_304(x.port, pg, h, e));
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

static void *t_match_range(void *arg)
{
	srvctx x;
	resp r;
	char e[128], lm[64], h[512];
	const char *pg = "/g/page.txt";

	(void)arg;
	TH_CHECK(srv_start_with(&x, NULL, cache_handler, NULL) == 0);
	TH_CHECK(get(x.port, pg, NULL, &r) == 0 && r.status == 200);
	TH_CHECK(hval(&r, "etag", e, sizeof e) && hval(&r, "last-modified", lm, sizeof lm));
	resp_free(&r);
	/* If-Match: strong comparison, 412 when it fails */
	snprintf(h, sizeof h, "If-Match: %s\r\n", e);
	TH_CHECK(answers(x.port, pg, h, 200, NULL));
	snprintf(h, sizeof h, "If-Match: \"x\", %s\r\n", e);
	TH_CHECK(answers(x.port, pg, h, 200, NULL));
	TH_CHECK(answers(x.port, pg, "If-Match: *\r\n", 200, NULL));
	TH_CHECK(answers(x.port, pg, "If-Match: \"nope\"\r\n", 412, NULL));
	snprintf(h, sizeof h, "If-Match: W/%s\r\n", e);
	TH_CHECK(answers(x.port, pg, h, 412, NULL));
	/* If-Match first: a failed one is 412 even when If-None-Match would give 304 */
	snprintf(h, sizeof h, "If-Match: \"nope\"\r\nIf-None-Match: %s\r\n", e);
	TH_CHECK(answers(x.port, pg, h, 412, NULL));
	/* If-Unmodified-Since, only without If-Match */
	TH_CHECK(answers(x.port, pg, "If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n", 412,
			 NULL));
	snprintf(h, sizeof h, "If-Unmodified-Since: %s\r\n", lm);
	TH_CHECK(answers(x.port, pg, h, 200, NULL));
	snprintf(h, sizeof h, "If-Match: %s\r\nIf-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n",
		 e);
	TH_CHECK(answers(x.port, pg, h, 200, NULL));
	TH_CHECK(answers(x.port, pg, "If-Unmodified-Since: not a date\r\n", 200, NULL));
	/* If-Range: an ETag compared strongly, or exactly Last-Modified */
	snprintf(h, sizeof h, "Range: bytes=1-3\r\nIf-Range: %s\r\n", e);
	TH_CHECK(get(x.port, pg, h, &r) == 0 && r.status == 206 && r.blen == 3 &&
		 !memcmp(r.body, page + 1, 3) && hdr_is(&r, "cache-control", CC) &&
		 hdr_is(&r, "etag", e));
	resp_free(&r);
	TH_CHECK(answers(x.port, pg, "Range: bytes=1-3\r\nIf-Range: \"nope\"\r\n", 200, NULL));
	snprintf(h, sizeof h, "Range: bytes=1-3\r\nIf-Range: W/%s\r\n", e);
	TH_CHECK(answers(x.port, pg, h, 200, NULL));
	snprintf(h, sizeof h, "Range: bytes=1-3\r\nIf-Range: %s\r\n", lm);
	TH_CHECK(answers(x.port, pg, h, 206, NULL));
	TH_CHECK(answers(x.port, pg,
			 "Range: bytes=1-3\r\nIf-Range: Sat, 01 Jan 2000 00:00:00 GMT\r\n", 200,
			 NULL));
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* Malformed validators: no crash, a sane answer (a broken If-None-Match matches nothing,
 * a broken If-Match fails). */
static void *t_bad_validators(void *arg)
{
	static const char *const inm[] = {
		"If-None-Match: \"unterminated\r\n", "If-None-Match: ,,, ,\r\n",
		"If-None-Match: W/\r\n", "If-None-Match: W\r\n", "If-None-Match: \"a\" junk\r\n",
		"If-None-Match: \r\n", "If-None-Match: \"\"\r\n",
	};
	srvctx x;
	char h[9000];

	(void)arg;
	TH_CHECK(srv_start_with(&x, NULL, cache_handler, NULL) == 0);
	for (size_t i = 0; i < sizeof inm / sizeof *inm; i++)
		TH_CHECK(answers(x.port, "/g/page.txt", inm[i], 200, NULL));
	TH_CHECK(answers(x.port, "/g/page.txt", "If-Match: garbage\r\n", 412, NULL));
	TH_CHECK(answers(x.port, "/g/page.txt", "If-Match: \"x\r\n", 412, NULL));
	TH_CHECK(answers(x.port, "/g/page.txt", "Range: bytes=1-3\r\nIf-Range: \"x\r\n", 200, NULL));
	/* a long list of tags */
	strcpy(h, "If-None-Match: ");
	for (int i = 0; i < 700; i++)
		strcat(h, "\"abcdefgh\", ");
	strcat(h, "\r\n");
	TH_CHECK(answers(x.port, "/g/page.txt", h, 200, NULL));
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* ---- gzip on the fly ------------------------------------------------------------------------ */

/* A gzip answer made on the fly: chunked, no Content-Length, Vary, the "-gz" ETag, and the
 * bytes decoding to want. */
static bool is_gz_fly(const resp *r, const char *rel, const char *want, size_t len)
{
	char e[128];

	return r->status == 200 && hdr_is(r, "content-encoding", "gzip") &&
	       hdr_is(r, "transfer-encoding", "chunked") && hdr_is(r, "content-length", NULL) &&
	       hdr_is(r, "vary", "Accept-Encoding") && hdr_is(r, "cache-control", CC) &&
	       hdr_is(r, "etag", etag_of(rel, "-gz", e, sizeof e)) &&
	       (!want || gz_body_is(r, want, len));
}

/* An identity answer: Content-Length, no Content-Encoding, the file's own ETag; vary:
 * Vary: Accept-Encoding expected. */
static bool is_identity(const resp *r, const char *rel, bool vary)
{
	char e[128];

	return r->status == 200 && hdr_is(r, "content-encoding", NULL) &&
	       hval(r, "content-length", e, sizeof e) &&
	       hdr_is(r, "vary", vary ? "Accept-Encoding" : NULL) &&
	       hdr_is(r, "etag", etag_of(rel, "", e, sizeof e));
}

static bool gz_with(int port, const char *ae, bool want_gz)
{
	char h[8192];
	resp r;
	bool ok;

	snprintf(h, sizeof h, "Accept-Encoding: %s\r\n", ae);
	ok = get(port, "/g/page.txt", h, &r) == 0 &&
	     (want_gz ? is_gz_fly(&r, "page.txt", page, 4000)
		      : is_identity(&r, "page.txt", true) && r.blen == 4000 &&
				!memcmp(r.body, page, 4000));
	if (!ok)
		fprintf(stderr, "Accept-Encoding: %.100s: want gzip %d\n%s", ae, want_gz, r.head);
	resp_free(&r);
	return ok;
}

static void *t_gzip(void *arg)
{
	static const char *const yes[] = { "gzip", "GZIP", "x-gzip", "deflate, gzip;q=0.5",
					   "*", "*;q=0.001", "br;q=1, gzip;q=0.1",
					   "gzip ; q=1.000", "gzip;Q=1", "identity;q=0, gzip" };
	static const char *const no[] = { "gzip;q=0", "gzip;q=0.000", "*;q=0", "gzip;q=0, *",
					  "*, gzip;q=0", "identity", "deflate, br", "" };
	srvctx x;
	resp r;

	(void)arg;
	TH_CHECK(srv_start_with(&x, NULL, cache_handler, NULL) == 0);
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		TH_CHECK(gz_with(x.port, yes[i], true));
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		TH_CHECK(gz_with(x.port, no[i], false));
	/* no Accept-Encoding at all: identity, still Vary */
	TH_CHECK(get(x.port, "/g/page.txt", NULL, &r) == 0 && is_identity(&r, "page.txt", true));
	resp_free(&r);
	/* over 1 MiB, streamed through 64 KiB buffers */
	TH_CHECK(get(x.port, "/g/big.txt", "Accept-Encoding: gzip\r\n", &r) == 0);
	TH_CHECK(is_gz_fly(&r, "big.txt", big, BIG_LEN) && r.blen < BIG_LEN / 2);
	resp_free(&r);
	/* HTTP/1.0: no chunked coding, so identity (with its length) */
	TH_CHECK(req_ex(x.port, "GET", "/g/page.txt", "1.0", "Accept-Encoding: gzip\r\n", &r) == 0);
	TH_CHECK(is_identity(&r, "page.txt", true) && r.blen == 4000);
	resp_free(&r);
	/* HEAD: the headers GET has, no body */
	TH_CHECK(req_ex(x.port, "HEAD", "/g/page.txt", "1.1", "Accept-Encoding: gzip\r\n", &r) == 0);
	TH_CHECK(is_gz_fly(&r, "page.txt", NULL, 0) && r.blen == 0 &&
		 hdr_is(&r, "content-type", "text/plain; charset=utf-8"));
	resp_free(&r);
	/* a tiny file and an incompressible type stay identity; only the first varies */
	TH_CHECK(get(x.port, "/g/tiny.txt", "Accept-Encoding: gzip\r\n", &r) == 0);
	TH_CHECK(is_identity(&r, "tiny.txt", true) && r.blen == 34);
	resp_free(&r);
	TH_CHECK(get(x.port, "/g/photo.png", "Accept-Encoding: gzip\r\n", &r) == 0);
	TH_CHECK(is_identity(&r, "photo.png", false) && r.blen == 5000);
	resp_free(&r);
	/* a Range gets the identity bytes, with the identity ETag */
	TH_CHECK(get(x.port, "/g/page.txt", "Accept-Encoding: gzip\r\nRange: bytes=10-19\r\n", &r) ==
		 0);
	TH_CHECK(r.status == 206 && r.blen == 10 && !memcmp(r.body, page + 10, 10) &&
		 hdr_is(&r, "content-encoding", NULL) && hdr_is(&r, "vary", "Accept-Encoding"));
	resp_free(&r);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* Validators of the gzip variant: its own ETag; the identity one does not match it. */
static void *t_gzip_conditionals(void *arg)
{
	srvctx x;
	char egz[128], eid[128], h[512];

	(void)arg;
	etag_of("page.txt", "-gz", egz, sizeof egz);
	etag_of("page.txt", "", eid, sizeof eid);
	TH_CHECK(srv_start_with(&x, NULL, cache_handler, NULL) == 0);
	snprintf(h, sizeof h, "Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n", egz);
	TH_CHECK(is_304(x.port, "/g/page.txt", h, egz));
	snprintf(h, sizeof h, "If-None-Match: %s\r\n", egz); /* identity is selected */
	TH_CHECK(answers(x.port, "/g/page.txt", h, 200, NULL));
	snprintf(h, sizeof h, "Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n", eid);
	TH_CHECK(answers(x.port, "/g/page.txt", h, 200, NULL));
	snprintf(h, sizeof h, "Accept-Encoding: gzip\r\nIf-Match: %s\r\n", egz);
	TH_CHECK(answers(x.port, "/g/page.txt", h, 200, NULL));
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* Malformed Accept-Encoding: an element with a broken q-value counts as not listed. */
static void *t_bad_accept(void *arg)
{
	static const char *const no[] = { "gzip;q=2", "gzip;q=", "gzip;q=0.5000", "gzip;q=abc",
					  "gzip;q=1.5", "gzip;q=-1", ";;;,,,", ",", "gzip;q=0.5;q=x",
					  "*;q=.5", "gzip;q=1.0001" };
	srvctx x;
	char h[9000];

	(void)arg;
	TH_CHECK(srv_start_with(&x, NULL, cache_handler, NULL) == 0);
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		TH_CHECK(gz_with(x.port, no[i], false));
	TH_CHECK(gz_with(x.port, "gzip;;q=1", true));
	TH_CHECK(gz_with(x.port, "gzip;level=9", true));
	TH_CHECK(gz_with(x.port, "gzip;q=2, *", true)); /* the broken element alone ignored */
	strcpy(h, "");
	for (int i = 0; i < 400; i++) /* 6800 bytes */
		strcat(h, "x-unknown;q=0.5, ");
	strcat(h, "gzip");
	TH_CHECK(gz_with(x.port, h, true));
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* ---- precompressed siblings ------------------------------------------------------------------ */

static void *t_precompressed(void *arg)
{
	srvctx x;
	resp r;
	char e[128], v[256];

	(void)arg;
	TH_CHECK(srv_start_with(&x, NULL, cache_handler, NULL) == 0);
	for (int k = 0; k < 2; k++) { /* HTTP/1.1 and 1.0: it has a length */
		TH_CHECK(req_ex(x.port, "GET", "/g/pre.css", k ? "1.0" : "1.1",
				"Accept-Encoding: gzip\r\n", &r) == 0);
		TH_CHECK(r.status == 200 && r.blen == pre_gz_len && !memcmp(r.body, pre_gz, r.blen));
		TH_CHECK(hdr_is(&r, "content-encoding", "gzip") &&
			 hdr_is(&r, "vary", "Accept-Encoding") &&
			 hdr_is(&r, "content-type", "text/css; charset=utf-8") &&
			 hdr_is(&r, "etag", etag_of("pre.css.gz", "", e, sizeof e)));
		resp_free(&r);
	}
	TH_CHECK(req_ex(x.port, "HEAD", "/g/pre.css", "1.1", "Accept-Encoding: gzip\r\n", &r) == 0);
	snprintf(v, sizeof v, "%zu", pre_gz_len);
	TH_CHECK(r.status == 200 && hdr_is(&r, "content-encoding", "gzip") &&
		 hdr_is(&r, "content-length", v) && hdr_is(&r, "vary", "Accept-Encoding"));
	resp_free(&r);
	/* a client that refuses gzip, or names none, gets the file itself */
	TH_CHECK(get(x.port, "/g/pre.css", "Accept-Encoding: gzip;q=0\r\n", &r) == 0);
	TH_CHECK(is_identity(&r, "pre.css", true) && !memcmp(r.body, pre_id, 3000));
	resp_free(&r);
	TH_CHECK(get(x.port, "/q/pre.css", NULL, &r) == 0);
	TH_CHECK(is_identity(&r, "pre.css", true) && !memcmp(r.body, pre_id, 3000));
	resp_free(&r);
	/* a .gz older than its file is not used: gzip on the fly instead, or identity */
	TH_CHECK(get(x.port, "/g/old.js", "Accept-Encoding: gzip\r\n", &r) == 0);
	TH_CHECK(is_gz_fly(&r, "old.js", old_id, 3000));
	resp_free(&r);
	TH_CHECK(get(x.port, "/q/old.js", "Accept-Encoding: gzip\r\n", &r) == 0);
	TH_CHECK(is_identity(&r, "old.js", true) && !memcmp(r.body, old_id, 3000));
	resp_free(&r);
	/* a directory's index.html.gz */
	TH_CHECK(get(x.port, "/q/sub/", "Accept-Encoding: gzip\r\n", &r) == 0);
	TH_CHECK(r.status == 200 && r.blen == idx_gz_len && !memcmp(r.body, idx_gz, r.blen) &&
		 hdr_is(&r, "content-type", "text/html; charset=utf-8"));
	resp_free(&r);
	/* its ETag validates it */
	snprintf(v, sizeof v, "Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n",
		 etag_of("pre.css.gz", "", e, sizeof e));
	TH_CHECK(get(x.port, "/q/pre.css", v, &r) == 0 && r.status == 304 &&
		 hdr_is(&r, "vary", "Accept-Encoding"));
	resp_free(&r);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* ---- options ------------------------------------------------------------------------------- */

START_TEST(opts_checked)
{
	corio_http_static_opts o;

	corio_http_static_opts_init(&o);
	ck_assert(!o.gzip && !o.precompressed && !o.cache_control && !o.gzip_min && !o.gzip_level);
	o.cache_control = "max-age=1\r\nX-Evil: 1";
	errno = 0;
	ck_assert_ptr_null(corio_http_static_new_opts("/tmp", &o));
	ck_assert_int_eq(errno, EINVAL);
	o.cache_control = NULL;
	o.gzip_level = 10;
	ck_assert_ptr_null(corio_http_static_new_opts("/tmp", &o));
	ck_assert_ptr_null(corio_http_static_new_opts(NULL, NULL));
}
END_TEST

#define CACHE_TEST(name, fn)                                                                        \
	START_TEST(name)                                                                           \
	{                                                                                          \
		setup();                                                                           \
		RUN_OK(fn, NULL);                                                                  \
		teardown();                                                                        \
	}                                                                                          \
	END_TEST

CACHE_TEST(etag, t_etag)
CACHE_TEST(conditionals, t_conditionals)
CACHE_TEST(match_and_range, t_match_range)
CACHE_TEST(bad_validators, t_bad_validators)
CACHE_TEST(gzip_on_the_fly, t_gzip)
CACHE_TEST(gzip_conditionals, t_gzip_conditionals)
CACHE_TEST(bad_accept_encoding, t_bad_accept)
CACHE_TEST(precompressed, t_precompressed)

/* The gzip paths with every read, write, recv and send shortened at random: the decoded
 * bytes must still be exact. */
START_TEST(faults_gzip)
{
	g_faults = FAULTS;
	setup();
	RUN_OK(t_gzip, NULL);
	RUN_OK(t_precompressed, NULL);
	RUN_OK(t_conditionals, NULL);
	RUN_OK(t_match_range, NULL);
	teardown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("static_cache");

	TH_TCASE(s, "static_cache", TH_TIMEOUT, etag, conditionals, match_and_range, bad_validators,
		 gzip_on_the_fly, gzip_conditionals, bad_accept_encoding, precompressed,
		 opts_checked);
	TH_TCASE(s, "faults", TH_TIMEOUT, faults_gzip);
	return th_main(s);
}
