/* tests/http/test_server_static.c: the HTTP/1.1 server's static files (http/server/ static
 * routes, http/common/mime.c): Range, If-Modified-Since, traversal, cold files read from disk,
 * splice, MIME types, hostile paths, ranges and dates; and the static routes again with short reads and writes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <corio/http_server.h>

#include "http/common/date.h"
#include "tests/support/helpers.h"
#include "tests/http/server_helpers.h"

/* ---- static files ------------------------------------------------------------------------ */


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

/* ---- hostile requests (the probe of issue 14) -------------------------------------------- */

/* One GET of target with extra header lines hdrs: its status, and its body when want_body
 * is set. Prints what differs. */
static bool get_is(int port, const char *target, const char *hdrs, int status,
		   const char *want_body)
{
	char req[2048];
	resp r;
	int rc;
	bool ok;

	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n", target, hdrs);
	rc = once(port, req, &r, NULL);
	ok = rc == 0 && r.status == status && (!want_body || !strcmp(r.body, want_body));
	if (!ok)
		fprintf(stderr, "want %d '%s', got rc %d status %d '%s' for %s %s\n", status,
			want_body ? want_body : "", rc, r.status, r.body ? r.body : "", target,
			hdrs);
	resp_free(&r);
	return ok;
}

/* The 301 a directory without its slash gets: its Location. */
static bool redirects_to(int port, const char *target, const char *want)
{
	char req[512], v[256];
	resp r;
	bool ok;

	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
	ok = once(port, req, &r, NULL) == 0 && r.status == 301 &&
	     hval(&r, "location", v, sizeof v) && !strcmp(v, want);
	if (!ok)
		fprintf(stderr, "want 301 to %s, got %d %s for %s\n", want, r.status,
			hval(&r, "location", v, sizeof v) ? v : "(none)", target);
	resp_free(&r);
	return ok;
}

/* Paths: a file is no directory; redirects never leave the host ("//host", "/\host"). */
static void *t_paths(void *arg)
{
	corio_http_static *st = corio_http_static_new(file_root);
	srvctx x;

	(void)arg;
	TH_CHECK(st != NULL);
	TH_CHECK(srv_start(&x, NULL) == 0);
	TH_CHECK(get_is(x.port, "/files/hello.txt/", "", 404, NULL));
	TH_CHECK(get_is(x.port, "/files/hello.txt/.", "", 404, NULL));
	TH_CHECK(get_is(x.port, "/files/hello.txt%2f", "", 404, NULL));
	TH_CHECK(get_is(x.port, "/files/sub/.", "", 200, "<p>index</p>"));
	TH_CHECK(get_is(x.port, "/files/sub%2F", "", 200, "<p>index</p>"));
	TH_CHECK(get_is(x.port, "/files/sub/index.html/", "", 404, NULL));
	TH_CHECK(get_is(x.port, "/files/%zz", "", 400, NULL));
	TH_CHECK(get_is(x.port, "/files/%2", "", 400, NULL));
	TH_CHECK(get_is(x.port, "/files/sub/%2e", "", 200, "<p>index</p>"));
	TH_CHECK(get_is(x.port, "/files/sub/%2e%2E/hello.txt", "", 403, NULL));
	TH_CHECK(redirects_to(x.port, "/files//sub", "/files/sub/"));
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	/* the static handler at the root: the probe's "//sub" */
	TH_CHECK(srv_start_with(&x, NULL, corio_http_static_handler, st) == 0);
	TH_CHECK(redirects_to(x.port, "//sub", "/sub/"));
	TH_CHECK(redirects_to(x.port, "///sub?x=1", "/sub/?x=1"));
	TH_CHECK(redirects_to(x.port, "http://t//sub", "/sub/"));
	TH_CHECK(redirects_to(x.port, "/\\evil", "/%5Cevil/"));
	TH_CHECK(redirects_to(x.port, "/%5Cevil", "/%5Cevil/"));
	TH_CHECK(get_is(x.port, "http://t?y=/hello.txt", "", 404, NULL)); /* "/": no index */
	TH_CHECK(get_is(x.port, "/hello.txt", "", 200, "0123456789abcdefghij"));
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	corio_http_static_free(st);
	return TH_OK;
}

/* Range (RFC 9110 14): numbers beyond 64 bits, empty and reversed ranges, many ranges. */
static void *t_ranges(void *arg)
{
	static const char whole[] = "0123456789abcdefghij";
	char many[1200] = "Range: bytes=0-0", lm[64], h[256];
	srvctx x;
	resp r;

	(void)arg;
	for (int i = 0; i < 200; i++)
		strcat(many, ",1-1");
	strcat(many, "\r\n");
	TH_CHECK(srv_start(&x, NULL) == 0);
	TH_CHECK(get_is(x.port, "/files/hello.txt", "Range: bytes=-0\r\n", 416, NULL));
	TH_CHECK(get_is(x.port, "/files/hello.txt", "Range: bytes=5-3\r\n", 200, whole));
	TH_CHECK(get_is(x.port, "/files/hello.txt", "Range: bytes=99999999999999999999999-\r\n",
			416, NULL));
	TH_CHECK(get_is(x.port, "/files/hello.txt", "Range: bytes=18-99999999999999999999999\r\n",
			206, "ij"));
	TH_CHECK(get_is(x.port, "/files/hello.txt", "Range: bytes=-99999999999999999999999\r\n",
			206, whole));
	TH_CHECK(get_is(x.port, "/files/hello.txt", "Range: bytes=18446744073709551615-\r\n", 416,
			NULL));
	TH_CHECK(get_is(x.port, "/files/hello.txt", "Range: bytes=+1-2\r\n", 200, whole));
	TH_CHECK(get_is(x.port, "/files/hello.txt", "Range: bytes=1-2x\r\n", 200, whole));
	TH_CHECK(get_is(x.port, "/files/hello.txt", "Range: lines=1-2\r\n", 200, whole));
	TH_CHECK(get_is(x.port, "/files/hello.txt", many, 200, whole));
	TH_CHECK(get_is(x.port, "/files/hello.txt", "Range: bytes=1-2\r\nRange: bytes=3-4\r\n", 200,
			whole));
	/* If-Range: the file's date once, or the whole file */
	TH_CHECK(once(x.port, "HEAD /files/hello.txt HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(hval(&r, "last-modified", lm, sizeof lm));
	resp_free(&r);
	snprintf(h, sizeof h, "Range: bytes=1-2\r\nIf-Range: %s\r\n", lm);
	TH_CHECK(get_is(x.port, "/files/hello.txt", h, 206, "12"));
	snprintf(h, sizeof h, "Range: bytes=1-2\r\nIf-Range: %s\r\nIf-Range: %s\r\n", lm, lm);
	TH_CHECK(get_is(x.port, "/files/hello.txt", h, 200, whole));
	TH_CHECK(get_is(x.port, "/files/hello.txt", "Range: bytes=1-2\r\nIf-Range: \"x\"\r\n", 200,
			whole));
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* If-Modified-Since (RFC 9110 13.1.3): an invalid date is ignored (200), never normalised
 * into a valid one (304); so is a field given twice. The file is newer than 2000 and older
 * than 2070. */
static void *t_dates(void *arg)
{
	static const char *const ignored[] = {
		"Sun, 29 Feb 2099 00:00:00 GMT", /* 2099 is no leap year */
		"Wed, 01 Jan 2099 00:00:00 GMT", /* a Thursday */
		"Thu, 01 Jan 2099 24:00:00 GMT",
		"Thu, 01 Jan 2099 00:60:00 GMT",
		"Thu, 31 Apr 2099 00:00:00 GMT",
		"Thu, 00 Jan 2099 00:00:00 GMT",
		"Thu, 1 Jan 2099 00:00:00 GMT",
		"Thu, 01 Jan 2099 00:00:00 UTC",
		"Thu, 01 Jan 2099 00:00:00 GMT junk",
		"Thu Jan 1 00:00:00 2099",
		"Friday, 31-Apr-99 00:00:00 GMT",
	};
	static const char *const valid[] = {
		"Thu, 01 Jan 2099 00:00:00 GMT",
		"Sat, 28 Feb 2099 23:59:59 GMT",
		"Thu Jan  1 00:00:00 2099",
		"Wednesday, 01-Jan-70 00:00:00 GMT", /* 2070: not more than 50 years ahead */
	};
	char h[128];
	srvctx x;

	(void)arg;
	TH_CHECK(srv_start(&x, NULL) == 0);
	for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++) {
		snprintf(h, sizeof h, "If-Modified-Since: %s\r\n", ignored[i]);
		TH_CHECK(get_is(x.port, "/files/hello.txt", h, 200, "0123456789abcdefghij"));
	}
	for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
		snprintf(h, sizeof h, "If-Modified-Since: %s\r\n", valid[i]);
		TH_CHECK(get_is(x.port, "/files/hello.txt", h, 304, NULL));
	}
	TH_CHECK(get_is(x.port, "/files/hello.txt",
			"If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT\r\n"
			"If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT\r\n",
			200, NULL));
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

/* The hostile requests, each part with a server of its own. */
static void run_static_hostile(void)
{
	make_files();
	RUN_OK(t_paths, NULL);
	RUN_OK(t_ranges, NULL);
	RUN_OK(t_dates, NULL);
	rm_files();
}

START_TEST(static_hostile)
{
	run_static_hostile();
}
END_TEST

/* HTTP-dates (http/common/date.c) on their own: the three forms of RFC 9110 5.6.7, every
 * date the server writes read back to its time (leap years, weekdays), and dates that do
 * not exist refused rather than normalised. */
START_TEST(http_dates)
{
	static const char *const invalid[] = {
		"Sun, 29 Feb 2099 00:00:00 GMT", "Mon, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 gmt", "sun, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT ", " Sun, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 8:49:37 GMT",	 "Sun, 06 Nov 94 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:61 GMT", "Thu, 01 Jan 1970 00:00:00 GMT+1",
		"Wed, 31 Dec 1969 23:59:59 GMT", "Sun Nov 6 08:49:37 1994",
		"Sun Nov  6 08:49:37 94",	 "Sunday, 06-Nov-1994 08:49:37 GMT",
		"Sun, 06-Nov-94 08:49:37 GMT",	 "",
	};
	char buf[32];

	ck_assert_int_eq(corio__http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
	ck_assert_int_eq(corio__http_parse_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
	ck_assert_int_eq(corio__http_parse_date("Sun Nov  6 08:49:37 1994"), 784111777);
	ck_assert_int_eq(corio__http_parse_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
	ck_assert_int_eq(corio__http_parse_date("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
	ck_assert_int_eq(corio__http_parse_date("Wed, 31 Dec 2008 23:59:60 GMT"), 1230768000);
	ck_assert_int_eq(corio__http_parse_date(NULL), -1);
	for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++)
		ck_assert_msg(corio__http_parse_date(invalid[i]) == -1, "accepted '%s'", invalid[i]);
	/* 0 to the end of 9999, in steps that visit every weekday, month and time of day */
	for (int64_t t = 0; t < INT64_C(253402300800); t += INT64_C(1234567)) {
		corio__http_date(buf, t);
		ck_assert_msg(corio__http_parse_date(buf) == t, "%s is not %lld", buf, (long long)t);
	}
}
END_TEST

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

START_TEST(faults_static)
{
	g_faults = FAULTS;
	make_files();
	RUN_OK(t_static, NULL);
	rm_files();
}
END_TEST

START_TEST(faults_static_hostile)
{
	g_faults = FAULTS;
	run_static_hostile();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_server");

	TH_TCASE(s, "server", TH_TIMEOUT, static_files, static_files_cold, static_files_splice, mime_types,
		 static_hostile, http_dates);
	TH_TCASE(s, "faults", TH_TIMEOUT, faults_static, faults_static_hostile);
	return th_main(s);
}
