/* tests/http/test_client_responses.c: responses the HTTP/1.1 client must refuse clearly
 * (truncated bodies, obs-fold, header floods, bad framing: never success), responses without
 * a body (204, 304, HEAD, 1xx), and gzip and deflate content decoding. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>

#include "tests/support/helpers.h"
#include "tests/http/client_helpers.h"

/* ---- errors that must never look like success ------------------------------------------ */

static const char *const bad_responses[] = {
	/* 0 truncated Content-Length body */
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
	/* 1 truncated chunked body */
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
	/* 2 truncated headers */
	"HTTP/1.1 200 OK\r\nContent-Len",
	/* 3 nothing at all */
	"",
	/* 4 obs-fold */
	"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n",
	/* 5 duplicate Content-Length */
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
	/* 6 Content-Length with Transfer-Encoding */
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
	/* 7 bad chunk size */
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n",
	/* 8 garbage status line */
	"HTTP/1.1 2OO OK\r\n\r\n",
	/* 9 101 never asked for */
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
	/* 10 a Transfer-Encoding we cannot frame */
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx",
	/* 11 bare LF line endings */
	"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
	/* 12 oversized chunk extension */
	NULL,
	/* 13 a header block too large */
	NULL,
	/* 14 too many header fields */
	NULL,
	/* 15 corrupt gzip */
	"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 8\r\n\r\nnotgzip!",
	/* 16 gzip stream cut short (header only, then the message ends) */
	"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n"
	"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
	/* 17 a NUL inside a header value */
	"HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n",
	/* 18, 19 a Content-Length above INT64_MAX (it was taken for none: read to EOF) */
	"HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\nabc",
	"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nabc",
	/* 20 the largest chunk size llhttp takes, cut short */
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc",
};
static const size_t bad_lens[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 46, 0, 0, 0};
/* Where the error shows (0: corio_http_get, 1: reading the body) and which error. */
static const int bad_where[] = {1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1};
static const int bad_err[] = {-EPROTO, -EPROTO, -EPROTO, -ECONNRESET, -EBADMSG, -EBADMSG,
			      -EBADMSG, -EBADMSG, -EBADMSG, -EBADMSG, -EBADMSG, -EBADMSG,
			      -EMSGSIZE, -EMSGSIZE, -EMSGSIZE, -EBADMSG, -EPROTO, -EBADMSG,
			      -EBADMSG, -EBADMSG, -EPROTO};

static char *bigbuf;
static size_t biglen;

static int r_bad(srv *s, const rq *q, const char **out, size_t *len)
{
	int i = *(int *)s->ud;

	if (bad_responses[i]) {
		*out = bad_responses[i];
		*len = bad_lens[i] ? bad_lens[i] : strlen(bad_responses[i]);
	} else {
		*out = bigbuf;
		*len = biglen;
	}
	return CLOSE;
}

static void make_big(int i)
{
	size_t cap = 1 << 20, o = 0;

	bigbuf = malloc(cap);
	if (i == 12) {
		o = (size_t)sprintf(bigbuf, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;x=");
		memset(bigbuf + o, 'a', 5000);
		o += 5000;
		o += (size_t)sprintf(bigbuf + o, "\r\nA\r\n0\r\n\r\n");
	} else if (i == 13) {
		o = (size_t)sprintf(bigbuf, "HTTP/1.1 200 OK\r\nX-Big: ");
		memset(bigbuf + o, 'b', 70000);
		o += 70000;
		o += (size_t)sprintf(bigbuf + o, "\r\nContent-Length: 0\r\n\r\n");
	} else {
		o = (size_t)sprintf(bigbuf, "HTTP/1.1 200 OK\r\n");
		for (int k = 0; k < 150; k++)
			o += (size_t)sprintf(bigbuf + o, "X-H%d: v\r\n", k);
		o += (size_t)sprintf(bigbuf + o, "Content-Length: 0\r\n\r\n");
	}
	biglen = o;
}

static void *t_bad(ctx *x)
{
	int i = *(int *)x->ud;
	corio_http_response *r = NULL;
	char buf[64];
	int rc = corio_http_get(x->c, u(x, 0, "/"), &r);
	ssize_t n = 0;

	if (bad_where[i] == 0) {
		if (rc != bad_err[i]) {
			fprintf(stderr, "bad response %d: get gave %d want %d\n", i, rc, bad_err[i]);
			return "wrong error from corio_http_get";
		}
		TH_CHECK(r == NULL);
	} else {
		TH_CHECK(rc == 0);
		while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0)
			;
		if (n != bad_err[i]) {
			fprintf(stderr, "bad response %d: read gave %zd want %d\n", i, n, bad_err[i]);
			return "wrong error from corio_http_response_read";
		}
		TH_CHECK(corio_http_response_read(r, buf, sizeof buf) == n); /* sticky */
		corio_http_response_free(r);
	}
	{
		corio_http_client_stats st;

		corio_http_client_stats_get(x->c, &st);
		TH_CHECK(st.idle == 0); /* the connection was not kept */
	}
	return TH_OK;
}

START_TEST(bad_responses_fail_clearly)
{
	ctx x = {.nsrv = 1, .body = t_bad};
	int i = _i;

	if (!bad_responses[i])
		make_big(i);
	x.s[0].respond = r_bad;
	x.s[0].ud = &i;
	x.ud = &i;
	RUN_CTX(x);
	free(bigbuf);
	bigbuf = NULL;
}
END_TEST

/* ---- bodiless responses ------------------------------------------------------------------ */

static int r_nobody(srv *s, const rq *q, const char **out, size_t *len)
{
	static const char r204[] = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
	static const char r304[] = "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n";
	static const char rhead[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
	static const char r1xx[] = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	if (strstr(q->head, "/204"))
		*out = r204, *len = sizeof r204 - 1;
	else if (strstr(q->head, "/304"))
		*out = r304, *len = sizeof r304 - 1;
	else if (strstr(q->head, "/1xx"))
		*out = r1xx, *len = sizeof r1xx - 1;
	else
		*out = rhead, *len = sizeof rhead - 1;
	return KEEP;
}

static void *t_nobody(ctx *x)
{
	static const char *const paths[] = {"/204", "/304", "/head", "/1xx"};
	static const int want[] = {204, 304, 200, 200};

	for (int i = 0; i < 4; i++) {
		struct corio_http_request req = {.url = u(x, 0, paths[i])};
		corio_http_response *r;
		const char *t;
		size_t len;

		if (i == 2)
			req.method = "HEAD";
		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == want[i]);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
		TH_CHECK(len == (i == 3 ? 2u : 0u));
		if (i == 3)
			TH_CHECK(corio_http_response_header(r, "Link") == NULL);
		corio_http_response_free(r);
	}
	TH_CHECK(x->s[0].accepts == 1); /* all four on one connection */
	return TH_OK;
}

START_TEST(no_body_for_204_304_head_and_1xx)
{
	ctx x = {.nsrv = 1, .body = t_nobody};

	x.s[0].respond = r_nobody;
	RUN_CTX(x);
}
END_TEST

/* ---- content decoding ------------------------------------------------------------------- */

static char plain[200000];
static char *enc_resp[4];
static size_t enc_len[4];

/* Compresses plain with windowBits wb (31 gzip, 15 zlib, -15 raw) into a full response. */
static void make_encoded(int i, int wb, const char *name, const char *src, size_t srclen)
{
	z_stream z = {0};
	size_t cap = deflateBound(&z, srclen) + 1024, hl;
	char *out = malloc(cap + 256);

	deflateInit2(&z, 9, Z_DEFLATED, wb, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (unsigned char *)src;
	z.avail_in = (uInt)srclen;
	z.next_out = (unsigned char *)out + 256;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	hl = (size_t)snprintf(out, 256, "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
				       "Content-Length: %lu\r\n\r\n", name, z.total_out);
	memmove(out + hl, out + 256, z.total_out);
	enc_resp[i] = out;
	enc_len[i] = hl + z.total_out;
	deflateEnd(&z);
}

static int r_encoded(srv *s, const rq *q, const char **out, size_t *len)
{
	int i = q->head[5] - '0'; /* "GET /N" */

	*out = enc_resp[i];
	*len = enc_len[i];
	return KEEP;
}

static void *t_gzip(ctx *x)
{
	corio_http_response *r;
	const char *t;
	size_t len;

	for (int i = 0; i < 3; i++) {
		char path[8];

		snprintf(path, sizeof path, "/%d", i);
		TH_CHECK(corio_http_get(x->c, u(x, 0, path), &r) == 0);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
		TH_CHECK(len == sizeof plain && memcmp(t, plain, len) == 0);
		corio_http_response_free(r);
	}
	/* the raw bytes when asked */
	{
		struct corio_http_request req = {.url = u(x, 0, "/0"),
						 .flags = CORIO_HTTP_NO_DECOMPRESS};

		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
		TH_CHECK(len < sizeof plain && (unsigned char)t[0] == 0x1f);
		corio_http_response_free(r);
		TH_CHECK(!strstr(head_of(&x->s[0], 4), "Accept-Encoding"));
	}
	/* a bomb: 8 MB of zeros in a few KB, against a 1 MB cap */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/3"), &r) == 0);
	TH_CHECK(corio_http_response_text(r, &t, &len) == -EFBIG);
	corio_http_response_free(r);
	TH_CHECK(x->s[0].accepts == 1);
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/1"), &r) == 0);
	corio_http_response_free(r);
	TH_CHECK(x->s[0].accepts == 2); /* the bomb's connection was dropped */
	return TH_OK;
}

START_TEST(gzip_and_deflate_decoding)
{
	ctx x = {.nsrv = 1, .body = t_gzip};
	char *zeros = calloc(1, 8 << 20);

	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = "abcdefghij klmnop\n"[(i * 7 + i / 13) % 18];
	make_encoded(0, 31, "gzip", plain, sizeof plain);
	make_encoded(1, 15, "deflate", plain, sizeof plain);
	make_encoded(2, -15, "deflate", plain, sizeof plain);
	make_encoded(3, 31, "gzip", zeros, 8 << 20);
	free(zeros);
	x.o.max_decoded_size = 1 << 20;
	x.s[0].respond = r_encoded;
	RUN_CTX(x);
	for (int i = 0; i < 4; i++)
		free(enc_resp[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_client");
	TCase *tc = TH_TCASE(s, "scripted", TH_TIMEOUT, no_body_for_204_304_head_and_1xx, gzip_and_deflate_decoding);

	tcase_add_loop_test(tc, bad_responses_fail_clearly, 0, (int)(sizeof bad_responses / sizeof bad_responses[0]));
	return th_main(s);
}
