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
#include "http/client/parser.h" /* the status line split at every byte, without sockets */

/* ---- errors that must never look like success ------------------------------------------ */

/* Where the error shows: at corio_http_get (the head) or reading the body. */
enum { HEAD_ERR, BODY_ERR };
/* Generated responses (too large to write out). */
enum { GEN_NONE, GEN_CHUNK_EXT, GEN_HEADER_BLOCK, GEN_HEADER_COUNT, GEN_1XX_FLOOD,
       GEN_TRAILER_COUNT, GEN_TRAILER_BLOCK, GEN_REASON };

typedef struct bad_case {
	const char *resp; /* NULL: generated (gen) */
	size_t len;       /* 0: strlen(resp) (a response with a NUL gives its length) */
	int where, err, gen;
} bad_case;

#define BAD(r, w, e) {(r), 0, (w), (e), GEN_NONE}
#define BAD_N(r, w, e) {(r), sizeof(r) - 1, (w), (e), GEN_NONE}
#define BAD_GEN(g, w, e) {NULL, 0, (w), (e), (g)}

static const bad_case bad[] = {
	/* truncated Content-Length body, chunked body, headers; nothing at all */
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", BODY_ERR, -EPROTO),
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", BODY_ERR, -EPROTO),
	BAD("HTTP/1.1 200 OK\r\nContent-Len", HEAD_ERR, -EPROTO),
	BAD("", HEAD_ERR, -ECONNRESET),
	/* obs-fold */
	BAD("HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n", HEAD_ERR, -EBADMSG),
	/* duplicate Content-Length (RFC 9112 6.3 lets a recipient refuse even equal ones) */
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", HEAD_ERR, -EBADMSG),
	/* Content-Length with Transfer-Encoding: refused (smuggling, RFC 9112 6.3) */
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
	    HEAD_ERR, -EBADMSG),
	/* bad chunk size */
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n", BODY_ERR, -EBADMSG),
	/* garbage status line */
	BAD("HTTP/1.1 2OO OK\r\n\r\n", HEAD_ERR, -EBADMSG),
	/* 101 never asked for */
	BAD("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n", HEAD_ERR,
	    -EBADMSG),
	/* a Transfer-Encoding we cannot frame */
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx", HEAD_ERR, -EBADMSG),
	/* bare LF line endings */
	BAD("HTTP/1.1 200 OK\nContent-Length: 0\n\n", HEAD_ERR, -EBADMSG),
	/* oversized chunk extension, header block, header count */
	BAD_GEN(GEN_CHUNK_EXT, BODY_ERR, -EMSGSIZE),
	BAD_GEN(GEN_HEADER_BLOCK, HEAD_ERR, -EMSGSIZE),
	BAD_GEN(GEN_HEADER_COUNT, HEAD_ERR, -EMSGSIZE),
	/* corrupt gzip; a gzip stream cut short (header only, then the message ends) */
	BAD("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 8\r\n\r\nnotgzip!", BODY_ERR,
	    -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n"
	    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", BODY_ERR, -EPROTO),
	/* a NUL inside a header value */
	BAD_N("HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n", HEAD_ERR, -EBADMSG),
	/* a Content-Length above INT64_MAX (it was taken for none: read to EOF) */
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	/* the largest chunk size llhttp takes, cut short */
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc", BODY_ERR,
	    -EPROTO),

	/* Transfer-Encoding other than a lone final chunked (RFC 9112 6.1): llhttp frames these
	 * as chunked and the client handed over the still-encoded body with success */
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	    HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\n\r\n", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	    HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	    HEAD_ERR, -EBADMSG),
	/* status-code: exactly three digits, 100..599 (RFC 9110 15); the status line's single
	 * spaces, version HTTP/1.x, CRLF, no control byte in the reason (RFC 9112 4) */
	BAD("HTTP/1.1 099 Low\r\nContent-Length: 3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 20 Short\r\nContent-Length: 3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 0200 OK\r\nContent-Length: 3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 2000 OK\r\nContent-Length: 3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 600 High\r\nContent-Length: 3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1  200 OK\r\nContent-Length: 3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD("HTTP/2.0 200 OK\r\nContent-Length: 3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 OK\rContent-Length: 3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD_N("HTTP/1.1 200 O\0K\r\nContent-Length: 3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 O\x01K\r\nContent-Length: 3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	/* a bad status in an interim response, and in the final one after an interim */
	BAD("HTTP/1.1 10 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", HEAD_ERR,
	    -EBADMSG),
	BAD("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 0200 OK\r\nContent-Length: 3\r\n\r\nabc", HEAD_ERR,
	    -EBADMSG),
	/* Content-Length: a sign, a list (equal or not), two fields that differ */
	BAD("HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 3,3\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 3,4\r\n\r\nabcd", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", HEAD_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nabc", HEAD_ERR, -EBADMSG),
	/* chunk sizes: overflow past 64 bits, a sign, a space */
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n",
	    BODY_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n", BODY_ERR,
	    -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n", BODY_ERR,
	    -EBADMSG),
	/* unbounded heads: interim responses, trailer fields, a trailer, a reason phrase */
	BAD_GEN(GEN_1XX_FLOOD, HEAD_ERR, -EMSGSIZE),
	BAD_GEN(GEN_TRAILER_COUNT, BODY_ERR, -EMSGSIZE),
	BAD_GEN(GEN_TRAILER_BLOCK, BODY_ERR, -EMSGSIZE),
	BAD_GEN(GEN_REASON, HEAD_ERR, -EMSGSIZE),
	/* Content-Encoding we do not decode (alone, or under one we do) or too many layers:
	 * never handed over as if it were the body */
	BAD("HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc", BODY_ERR,
	    -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nContent-Encoding: br, gzip\r\nContent-Length: 3\r\n\r\nabc", BODY_ERR,
	    -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: zstd\r\n"
	    "Content-Length: 3\r\n\r\nabc", BODY_ERR, -EBADMSG),
	BAD("HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip, gzip, gzip\r\nContent-Length: 3\r\n\r\n"
	    "abc", BODY_ERR, -EBADMSG),
};

static char *bigbuf;
static size_t biglen;

static int r_bad(srv *s, const rq *q, const char **out, size_t *len)
{
	const bad_case *b = &bad[*(int *)s->ud];

	if (b->resp) {
		*out = b->resp;
		*len = b->len ? b->len : strlen(b->resp);
	} else {
		*out = bigbuf;
		*len = biglen;
	}
	return CLOSE;
}

static size_t put_str(size_t o, const char *s)
{
	memcpy(bigbuf + o, s, strlen(s));
	return o + strlen(s);
}

static size_t put_rep(size_t o, char c, size_t n)
{
	memset(bigbuf + o, c, n);
	return o + n;
}

/* The generated response g into bigbuf: each one over a default limit (64 KiB of head,
 * 100 fields, 4 KiB of chunk extension). */
static void make_big(int g)
{
	static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	size_t o = 0;

	bigbuf = malloc(1 << 20);
	switch (g) {
	case GEN_CHUNK_EXT:
		o = put_rep(put_str(put_str(0, chunked), "1;x="), 'a', 5000);
		o = put_str(o, "\r\nA\r\n0\r\n\r\n");
		break;
	case GEN_HEADER_BLOCK:
		o = put_rep(put_str(0, "HTTP/1.1 200 OK\r\nX-Big: "), 'b', 70000);
		o = put_str(o, "\r\nContent-Length: 0\r\n\r\n");
		break;
	case GEN_HEADER_COUNT:
		o = put_str(0, "HTTP/1.1 200 OK\r\n");
		for (int k = 0; k < 150; k++)
			o += (size_t)sprintf(bigbuf + o, "X-H%d: v\r\n", k);
		o = put_str(o, "Content-Length: 0\r\n\r\n");
		break;
	case GEN_1XX_FLOOD: /* 30000 interim responses, 750 KB of heads */
		for (int k = 0; k < 30000; k++)
			o = put_str(o, "HTTP/1.1 100 Continue\r\n\r\n");
		o = put_str(o, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
		break;
	case GEN_TRAILER_COUNT:
		o = put_str(put_str(0, chunked), "3\r\nabc\r\n0\r\n");
		for (int k = 0; k < 150; k++)
			o += (size_t)sprintf(bigbuf + o, "X-T%d: v\r\n", k);
		o = put_str(o, "\r\n");
		break;
	case GEN_TRAILER_BLOCK:
		o = put_rep(put_str(put_str(0, chunked), "3\r\nabc\r\n0\r\nX-T: "), 't', 70000);
		o = put_str(o, "\r\n\r\n");
		break;
	case GEN_REASON:
		o = put_rep(put_str(0, "HTTP/1.1 200 "), 'r', 70000);
		o = put_str(o, "\r\nContent-Length: 0\r\n\r\n");
		break;
	}
	biglen = o;
}

static void *t_bad(ctx *x)
{
	int i = *(int *)x->ud;
	const bad_case *b = &bad[i];
	corio_http_response *r = NULL;
	char buf[64];
	int rc = corio_http_get(x->c, u(x, 0, "/"), &r);
	ssize_t n = 0;

	if (b->where == HEAD_ERR) {
		if (rc != b->err) {
			fprintf(stderr, "bad response %d: get gave %d want %d\n", i, rc, b->err);
			return "wrong error from corio_http_get";
		}
		TH_CHECK(r == NULL);
	} else {
		TH_CHECK(rc == 0);
		while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0)
			;
		if (n != b->err) {
			fprintf(stderr, "bad response %d: read gave %zd want %d\n", i, n, b->err);
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

	if (!bad[i].resp)
		make_big(bad[i].gen);
	x.s[0].respond = r_bad;
	x.s[0].ud = &i;
	x.ud = &i;
	RUN_CTX(x);
	free(bigbuf);
	bigbuf = NULL;
}
END_TEST

/* ---- strict, not stricter: what RFC 9112 allows must still work ----------------------- */

typedef struct good_case {
	const char *resp;
	int status;
	const char *reason, *body;
} good_case;

static const good_case good[] = {
	/* a lone chunked, in any case, with whitespace, after an empty list element */
	{"HTTP/1.1 200 OK\r\nTransfer-Encoding:  CHUNKED \r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, "OK", "abc"},
	{"HTTP/1.1 200 OK\r\nTransfer-Encoding: , chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, "OK", "abc"},
	/* chunk extensions, a quoted value included, are skipped */
	{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"x,y\";b\r\nabc\r\n0\r\n\r\n", 200,
	 "OK", "abc"},
	/* no reason phrase, an empty one, one with HTAB and obs-text */
	{"HTTP/1.1 200\r\nContent-Length: 3\r\n\r\nabc", 200, "", "abc"},
	{"HTTP/1.1 404 \r\nContent-Length: 3\r\n\r\nabc", 404, "", "abc"},
	{"HTTP/1.1 599 a\tb \xe9\r\nContent-Length: 3\r\n\r\nabc", 599, "a\tb \xe9", "abc"},
	/* the lowest final code after two interim ones */
	{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\n"
	 "Content-Length: 3\r\n\r\nabc", 200, "OK", "abc"},
	/* leading zeros are digits (RFC 9110 8.6: 1*DIGIT) */
	{"HTTP/1.1 200 OK\r\nContent-Length: 003\r\n\r\nabc", 200, "OK", "abc"},
	{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0003\r\nabc\r\n0\r\n\r\n", 200, "OK", "abc"},
	/* identity is no coding; an unknown coding is fine when there is no body to decode */
	{"HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc", 200, "OK", "abc"},
	{"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 0\r\n\r\n", 200, "OK", ""},
	{"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n", 200, "OK", ""},
};

static int r_good(srv *s, const rq *q, const char **out, size_t *len)
{
	*out = good[*(int *)s->ud].resp;
	*len = strlen(*out);
	return KEEP;
}

static void *t_good(ctx *x)
{
	const good_case *g = &good[*(int *)x->ud];
	corio_http_response *r;
	const char *t;
	size_t len;

	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0);
	TH_CHECK(corio_http_response_status(r) == g->status);
	TH_CHECK(strcmp(corio_http_response_reason(r), g->reason) == 0);
	TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
	TH_CHECK(len == strlen(g->body) && strcmp(t, g->body) == 0);
	corio_http_response_free(r);
	return TH_OK;
}

START_TEST(valid_edge_responses_accepted)
{
	ctx x = {.nsrv = 1, .body = t_good};
	int i = _i;

	x.s[0].respond = r_good;
	x.s[0].ud = &i;
	x.ud = &i;
	RUN_CTX(x);
}
END_TEST

/* The status line split between two receives at every byte: the check of the bytes after
 * the version must not depend on where a receive ended (parser level, no sockets). */
static const struct {
	const char *resp;
	int rc, status;
} split_cases[] = {
	{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 200},
	{"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", 0, 200},
	{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 0, 204},
	{"HTTP/1.1 0200 OK\r\nContent-Length: 2\r\n\r\nok", -EBADMSG, 0},
	{"HTTP/1.1 20\r\nContent-Length: 2\r\n\r\nok", -EBADMSG, 0},
	{"HTTP/1.1 099 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", -EBADMSG, 0},
	{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n", -EBADMSG, 0},
};

/* Parses resp fed as [0, cut) then [cut, len): 0 with *status once complete, or -errno. */
static int parse_split(const char *resp, size_t cut, int *status)
{
	corio__hclient_parser h;
	size_t len = strlen(resp), off = 0;
	int rc = 0;

	corio__hclient_parser_init(&h, false, 65536, 100, 4096);
	for (int part = 0; part < 2 && rc == 0; part++) {
		size_t end = part == 0 ? cut : len;

		for (int guard = 0; off < end && !h.message_done && guard < 100; guard++) {
			ssize_t n = corio__hclient_parser_feed(&h, resp + off, end - off);

			if (n < 0) {
				rc = (int)n;
				break;
			}
			off += (size_t)n;
		}
	}
	if (rc == 0 && !h.message_done)
		rc = -EPROTO;
	*status = h.status;
	corio__hclient_parser_free(&h);
	return rc;
}

START_TEST(status_line_checked_across_receives)
{
	for (size_t i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++) {
		size_t len = strlen(split_cases[i].resp);

		for (size_t cut = 1; cut < len; cut++) {
			int status = 0, rc = parse_split(split_cases[i].resp, cut, &status);

			if (rc != split_cases[i].rc || (rc == 0 && status != split_cases[i].status))
				ck_abort_msg("case %zu cut at %zu: rc %d status %d", i, cut, rc, status);
		}
	}
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

/* ---- Content-Encoding lists ------------------------------------------------------------ */

/* Compresses src with windowBits wb (31 gzip, 15 zlib, -15 raw): a malloc'd buffer. */
static char *zc(int wb, const char *src, size_t len, size_t *outlen)
{
	z_stream z = {0};
	size_t cap;
	char *out;

	deflateInit2(&z, 9, Z_DEFLATED, wb, 8, Z_DEFAULT_STRATEGY);
	cap = deflateBound(&z, len) + 64;
	out = malloc(cap);
	z.next_in = (unsigned char *)src;
	z.avail_in = (uInt)len;
	z.next_out = (unsigned char *)out;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

/* One response per case: src compressed with wbs[0], then wbs[1]..., sent with the
 * Content-Encoding fields of hdrs; want is what reading it gives (0: src back). */
typedef struct ce_case {
	const char *hdrs;
	int wbs[4];
	int nwb;
	bool bomb; /* src is 8 MB of zeros instead of plain */
	int want;
} ce_case;

static const ce_case ce_cases[] = {
	/* 0 two layers in one field, 1 in two fields */
	{"Content-Encoding: gzip, gzip\r\n", {31, 31}, 2, false, 0},
	{"Content-Encoding: gzip\r\nContent-Encoding: gzip\r\n", {31, 31}, 2, false, 0},
	/* 2 mixed codings undone in reverse order; 3 raw deflate outermost; identity skipped */
	{"Content-Encoding: deflate, gzip\r\n", {15, 31}, 2, false, 0},
	{"Content-Encoding: identity, x-gzip,, DEFLATE\r\n", {31, -15}, 2, false, 0},
	/* 4 three layers, the most decoded */
	{"Content-Encoding: gzip, deflate\r\nContent-Encoding: gzip\r\n", {31, 15, 31}, 3, false, 0},
	/* 5 two layers announced, one applied: the second must fail, not pass gzip's output */
	{"Content-Encoding: gzip, gzip\r\n", {31}, 1, false, -EBADMSG},
	/* 6 a bomb inside a layer: the cap holds on the decoded bytes */
	{"Content-Encoding: gzip, gzip\r\n", {31, 31}, 2, true, -EFBIG},
};
#define NCE (sizeof ce_cases / sizeof ce_cases[0])

static char *ce_resp[NCE];
static size_t ce_len[NCE];

static void make_ce(size_t i, const char *zeros)
{
	const ce_case *c = &ce_cases[i];
	const char *src = c->bomb ? zeros : plain;
	size_t len = c->bomb ? 8u << 20 : sizeof plain, hl;
	char *cur = NULL, head[256];

	for (int k = 0; k < c->nwb; k++) {
		char *next = zc(c->wbs[k], cur ? cur : src, len, &len);

		free(cur);
		cur = next;
	}
	hl = (size_t)snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n%sContent-Length: %zu\r\n\r\n",
			      c->hdrs, len);
	ce_resp[i] = malloc(hl + len);
	memcpy(ce_resp[i], head, hl);
	memcpy(ce_resp[i] + hl, cur, len);
	ce_len[i] = hl + len;
	free(cur);
}

static int r_ce(srv *s, const rq *q, const char **out, size_t *len)
{
	int i = atoi(q->head + 5); /* "GET /N" */

	*out = ce_resp[i];
	*len = ce_len[i];
	return KEEP;
}

static void *t_ce(ctx *x)
{
	for (size_t i = 0; i < NCE; i++) {
		corio_http_response *r;
		const char *t;
		size_t len;
		char path[16];
		int rc;

		snprintf(path, sizeof path, "/%zu", i);
		TH_CHECK(corio_http_get(x->c, u(x, 0, path), &r) == 0);
		rc = corio_http_response_text(r, &t, &len);
		if (rc != ce_cases[i].want) {
			fprintf(stderr, "content-encoding case %zu: %d want %d\n", i, rc, ce_cases[i].want);
			corio_http_response_free(r);
			return "wrong result decoding a Content-Encoding list";
		}
		TH_CHECK(rc != 0 || (len == sizeof plain && memcmp(t, plain, len) == 0));
		corio_http_response_free(r);
	}
	/* as sent when asked: the outer layer's gzip header */
	{
		struct corio_http_request req = {.url = u(x, 0, "/0"), .flags = CORIO_HTTP_NO_DECOMPRESS};
		corio_http_response *r;
		const char *t;
		size_t len;

		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
		TH_CHECK(len == ce_len[0] - (size_t)(strstr(ce_resp[0], "\r\n\r\n") + 4 - ce_resp[0]));
		TH_CHECK((unsigned char)t[0] == 0x1f && (unsigned char)t[1] == 0x8b);
		corio_http_response_free(r);
	}
	return TH_OK;
}

START_TEST(content_encoding_lists_decoded_fully)
{
	ctx x = {.nsrv = 1, .body = t_ce};
	char *zeros = calloc(1, 8u << 20);

	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = "abcdefghij klmnop\n"[(i * 7 + i / 13) % 18];
	for (size_t i = 0; i < NCE; i++)
		make_ce(i, zeros);
	free(zeros);
	x.o.max_decoded_size = 1 << 20;
	x.s[0].respond = r_ce;
	RUN_CTX(x);
	for (size_t i = 0; i < NCE; i++)
		free(ce_resp[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_client");
	TCase *tc = TH_TCASE(s, "scripted", TH_TIMEOUT, no_body_for_204_304_head_and_1xx, gzip_and_deflate_decoding, content_encoding_lists_decoded_fully, status_line_checked_across_receives);

	tcase_add_loop_test(tc, bad_responses_fail_clearly, 0, (int)(sizeof bad / sizeof bad[0]));
	tcase_add_loop_test(tc, valid_edge_responses_accepted, 0, (int)(sizeof good / sizeof good[0]));
	return th_main(s);
}
