/* tests/http/test_http_client.c: the HTTP/1.1 client (http/client*.c, h1_response.c, decode.c)
 * against scripted servers written with raw corio sockets in the same process (exact bytes:
 * Content-Length, chunked with trailers, close-delimited, truncated bodies, obs-fold, header
 * floods, 204/304/HEAD, redirects and loops, credentials dropped across origins, gzip and
 * deflate, keep-alive reuse, pool limits, idle expiry, timeouts, the retry rule, request
 * bodies from memory, a descriptor and a callback, 100-continue), and against nginx started
 * by the test with its own configuration (skipped when /usr/sbin/nginx is missing) and
 * Python's http.server (HTTP/1.0 bodies on one-shot connections), and
 * again with short reads and writes injected (CORIO_FAULTS specs in corio_config). Every
 * loop run checks that no descriptor leaked (TH_RUN). */
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

/* ---- scripted server ------------------------------------------------------------------- */

/* SEND_LATE: the answer, then (once the test sets srv.go) srv.late, bytes nobody asked for. */
enum action { KEEP, CLOSE, NOANSWER, HANG, SEND_HANG, SEND_LATE };

typedef struct srv srv;
typedef struct rq {
	int conn;     /* connection number, from 1 */
	int conn_req; /* request number on that connection, from 1 */
	int n;        /* request number on the server, from 1 */
	const char *head;
	const char *body;
	size_t body_len;
} rq;
typedef int (*respond_fn)(srv *s, const rq *q, const char **out, size_t *len);

#define MAXLOG 64
#define MAXTASKS 256

struct srv {
	int lfd, port;
	char url[64]; /* http://127.0.0.1:port */
	respond_fn respond;
	void *ud;
	int accepts, requests, active, max_active;
	char *heads[MAXLOG];
	char *bodies[MAXLOG];
	size_t blen[MAXLOG];
	corio_task *tasks[MAXTASKS];
	size_t ntasks;
	corio_task *acceptor;
	uint64_t delay;
	bool expect_reject;
	const char *late;       /* SEND_LATE's bytes */
	corio_event go, sent;   /* the test says when; the server says they are in */
};

/* Requests being answered right now, over every server (pool limit tests). */
static int g_inflight, g_max_inflight;

typedef struct conn_arg {
	srv *s;
	int fd, no;
} conn_arg;

/* Decodes a complete chunked body at p[0..n): 1 with *consumed and the data appended to
 * out, 0 when incomplete. */
static int dechunk(const char *p, size_t n, char *out, size_t *olen, size_t *consumed)
{
	size_t i = 0;

	*olen = 0;
	for (;;) {
		const char *eol = memmem(p + i, n - i, "\r\n", 2);
		size_t sz;

		if (!eol)
			return 0;
		sz = strtoul(p + i, NULL, 16);
		i = (size_t)(eol - p) + 2;
		if (sz == 0) {
			const char *end = memmem(p + i - 2, n - i + 2, "\r\n\r\n", 4);

			if (!end)
				return 0;
			*consumed = (size_t)(end - p) + 4;
			return 1;
		}
		if (n - i < sz + 2)
			return 0;
		memcpy(out + *olen, p + i, sz);
		*olen += sz;
		i += sz + 2;
	}
}

#define SRVBUF (4u << 20)

/* SEND_LATE: once the test has pooled the connection (s->go), s->late. s->sent is set when
 * the peer acknowledged every byte (SIOCOUTQ 0: they are in the client's receive queue), so
 * that the client's next request is sure to find them waiting. */
static int send_late(srv *s, int fd)
{
	int unacked = 1;

	if (corio_event_wait(&s->go) != 0 || corio_send_all(fd, s->late, strlen(s->late)) < 0)
		return -1;
	for (int i = 0; i < 10000 && unacked > 0; i++) {
		if (ioctl(fd, SIOCOUTQ, &unacked) != 0)
			return -1;
		if (unacked > 0)
			corio_sleep(CORIO_MS(1));
	}
	corio_event_set(&s->sent);
	return unacked > 0 ? -1 : 0;
}

static void *srv_conn(void *arg)
{
	conn_arg *a = arg;
	srv *s = a->s;
	int fd = a->fd, no = a->no, conn_req = 0;
	char *buf = malloc(SRVBUF), *body = malloc(SRVBUF);
	size_t have = 0;

	free(a);
	for (;;) {
		char *end, *head;
		size_t hlen, blen = 0, used;
		const char *out = NULL, *te, *cl;
		size_t outlen = 0;
		rq q;
		int act;

		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			ssize_t n = corio_recv(fd, buf + have, SRVBUF - have, 0);

			if (n <= 0)
				goto out;
			have += (size_t)n;
		}
		hlen = (size_t)(end - buf) + 4;
		head = strndup(buf, hlen);
		if (strcasestr(head, "\r\nExpect: 100-continue")) {
			if (s->expect_reject) {
				static const char r417[] = "HTTP/1.1 417 Expectation Failed\r\n"
							   "Content-Length: 0\r\nConnection: close\r\n\r\n";
				corio_send_all(fd, r417, sizeof r417 - 1);
				s->heads[s->requests < MAXLOG ? s->requests : MAXLOG - 1] = head;
				s->requests++;
				goto out;
			}
			corio_send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		}
		te = strcasestr(head, "\r\nTransfer-Encoding: chunked");
		cl = strcasestr(head, "\r\nContent-Length:");
		used = hlen;
		for (;;) {
			size_t consumed;

			if (te && dechunk(buf + hlen, have - hlen, body, &blen, &consumed)) {
				used = hlen + consumed;
				break;
			}
			if (!te && cl) {
				blen = strtoul(cl + 17, NULL, 10);
				if (have >= hlen + blen) {
					memcpy(body, buf + hlen, blen);
					used = hlen + blen;
					break;
				}
			}
			if (!te && !cl)
				break;
			ssize_t n = corio_recv(fd, buf + have, SRVBUF - have, 0);

			if (n <= 0) {
				free(head);
				goto out;
			}
			have += (size_t)n;
		}
		memmove(buf, buf + used, have - used);
		have -= used;
		conn_req++;
		s->requests++;
		q = (rq){no, conn_req, s->requests, head, body, blen};
		act = s->respond(s, &q, &out, &outlen);
		if (s->requests <= MAXLOG) {
			s->heads[s->requests - 1] = head;
			s->bodies[s->requests - 1] = malloc(blen + 1);
			memcpy(s->bodies[s->requests - 1], body, blen);
			s->bodies[s->requests - 1][blen] = 0;
			s->blen[s->requests - 1] = blen;
		} else {
			free(head);
		}
		if (++g_inflight > g_max_inflight)
			g_max_inflight = g_inflight;
		if (s->delay)
			corio_sleep(s->delay);
		g_inflight--;
		if (act == NOANSWER)
			goto out;
		if (act == HANG) {
			corio_sleep(CORIO_SEC(60));
			goto out;
		}
		if (out && corio_send_all(fd, out, outlen) < 0)
			goto out;
		if (act == SEND_HANG) {
			corio_sleep(CORIO_SEC(60));
			goto out;
		}
		if (act == SEND_LATE && send_late(s, fd) < 0)
			goto out;
		if (act == CLOSE)
			goto out;
	}
out:
	corio_close(fd);
	s->active--;
	free(buf);
	free(body);
	return NULL;
}

static void *srv_accept(void *arg)
{
	srv *s = arg;

	for (;;) {
		int fd = corio_accept(s->lfd, NULL, NULL);
		conn_arg *a;

		if (fd < 0)
			return NULL;
		s->accepts++;
		if (++s->active > s->max_active)
			s->max_active = s->active;
		a = malloc(sizeof *a);
		*a = (conn_arg){s, fd, s->accepts};
		if (s->ntasks < MAXTASKS)
			s->tasks[s->ntasks++] = corio_spawn(srv_conn, a);
	}
}

static int srv_start(srv *s)
{
	s->lfd = corio_tcp_listen("127.0.0.1", "0", 128);
	if (s->lfd < 0)
		return s->lfd;
	s->port = corio_sock_port(s->lfd);
	snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
	s->acceptor = corio_spawn(srv_accept, s);
	return 0;
}

static void srv_stop(srv *s)
{
	if (!s->acceptor)
		return;
	corio_listen_close(s->lfd);
	corio_join(s->acceptor, NULL);
	for (size_t i = 0; i < s->ntasks; i++) {
		corio_cancel(s->tasks[i]);
		corio_join(s->tasks[i], NULL);
	}
	for (int i = 0; i < MAXLOG; i++) {
		free(s->heads[i]);
		free(s->bodies[i]);
	}
}

/* Head of request n (from 1) as the server saw it. */
static const char *head_of(srv *s, int n)
{
	return n >= 1 && n <= MAXLOG && s->heads[n - 1] ? s->heads[n - 1] : "";
}

/* ---- test frame --------------------------------------------------------------------------- */

typedef struct ctx ctx;
typedef void *(*body_fn)(ctx *x);
struct ctx {
	srv s[2];
	int nsrv;
	corio_http_client_opts o;
	corio_http_client *c;
	body_fn body;
	char url[256];
	void *ud;
};

static void *run_ctx(void *arg)
{
	ctx *x = arg;
	void *msg;

	for (int i = 0; i < x->nsrv; i++)
		if (srv_start(&x->s[i]) != 0)
			return "srv_start failed";
	x->c = corio_http_client_new(&x->o);
	if (!x->c)
		return "corio_http_client_new failed";
	msg = x->body(x);
	corio_http_client_free(x->c);
	for (int i = 0; i < x->nsrv; i++)
		srv_stop(&x->s[i]);
	return msg;
}

static const char *u(ctx *x, int i, const char *path)
{
	snprintf(x->url, sizeof x->url, "%s%s", x->s[i].url, path);
	return x->url;
}

#define RUN_CTX(x) TH_RUN_EXPECT_OK(NULL, run_ctx, &(x))

/* A fixed response string for every request. */
#define FIXED(name, text, act)                                                               \
	static int name(srv *s, const rq *q, const char **out, size_t *len)                  \
	{                                                                                    \
		static const char t_[] = text;                                               \
		*out = t_;                                                                   \
		*len = sizeof t_ - 1;                                                        \
		return (act);                                                                \
	}

/* GET url; the body as text into *text (malloc'd copy). Status or -errno. */
static int get_text(corio_http_client *c, const char *url, char **text, size_t *len)
{
	corio_http_response *r;
	const char *t;
	int rc = corio_http_get(c, url, &r);

	if (rc < 0)
		return rc;
	rc = corio_http_response_text(r, &t, len);
	if (rc == 0) {
		*text = strdup(t);
		rc = corio_http_response_status(r);
	}
	corio_http_response_free(r);
	return rc;
}

/* ---- basic framing --------------------------------------------------------------------- */

FIXED(r_basic,
      "HTTP/1.1 200 Fine Thanks\r\nContent-Length: 5\r\nX-Multi: a\r\nx-multi: b\r\n"
      "Content-Type: text/plain  \r\nX-Empty:\r\n\r\nhello",
      KEEP)

static void *t_basic(ctx *x)
{
	corio_http_response *r;
	const char *t, *n, *v;
	size_t len;
	const char *h;

	TH_CHECK(corio_http_get(x->c, u(x, 0, "/a/b?c=d#frag"), &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 200);
	TH_CHECK(strcmp(corio_http_response_reason(r), "Fine Thanks") == 0);
	TH_CHECK(corio_http_response_version(r) == 11);
	TH_CHECK(corio_http_response_content_length(r) == 5);
	TH_CHECK(strcmp(corio_http_response_header(r, "content-TYPE"), "text/plain") == 0);
	TH_CHECK(strcmp(corio_http_response_header(r, "X-MULTI"), "a") == 0);
	TH_CHECK(strcmp(corio_http_response_header_n(r, "x-multi", 1), "b") == 0);
	TH_CHECK(corio_http_response_header_n(r, "x-multi", 2) == NULL);
	TH_CHECK(strcmp(corio_http_response_header(r, "X-Empty"), "") == 0);
	TH_CHECK(corio_http_response_header(r, "Missing") == NULL);
	TH_CHECK(corio_http_response_header_count(r) == 5);
	TH_CHECK(corio_http_response_header_at(r, 0, &n, &v) == 0);
	TH_CHECK(strcmp(n, "Content-Length") == 0 && strcmp(v, "5") == 0);
	TH_CHECK(corio_http_response_header_at(r, 5, &n, &v) == -ENOENT);
	TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
	TH_CHECK(len == 5 && strcmp(t, "hello") == 0);
	TH_CHECK(corio_http_response_text(r, &t, &len) == 0 && len == 5); /* again: same */
	TH_CHECK(strstr(corio_http_response_url(r), "/a/b?c=d") != NULL);
	corio_http_response_free(r);
	h = head_of(&x->s[0], 1);
	TH_CHECK(strncmp(h, "GET /a/b?c=d HTTP/1.1\r\n", 23) == 0);
	TH_CHECK(strstr(h, "\r\nUser-Agent: corio/0.1\r\n"));
	TH_CHECK(strstr(h, "\r\nAccept-Encoding: gzip, deflate\r\n"));
	TH_CHECK(strstr(h, "\r\nHost: 127.0.0.1:"));
	TH_CHECK(!strstr(h, "frag"));
	TH_CHECK(!strstr(h, "Content-Length"));
	if (x->o.nheaders) { /* the client's default headers, and one replacing a built-in */
		TH_CHECK(strstr(h, "\r\nX-Default: d\r\n"));
		TH_CHECK(strstr(h, "\r\naccept: text/plain\r\n") && !strstr(h, "*/*"));
	} else {
		TH_CHECK(strstr(h, "\r\nAccept: */*\r\n"));
	}
	return TH_OK;
}

static const corio_http_header default_headers[] = {{"X-Default", "d"},
						    {"accept", "text/plain"}};

START_TEST(basic_get_headers_and_text)
{
	ctx x = {.nsrv = 1, .body = t_basic};

	x.s[0].respond = r_basic;
	RUN_CTX(x);
}
END_TEST

START_TEST(client_default_headers)
{
	ctx x = {.nsrv = 1, .body = t_basic};

	x.o.headers = default_headers;
	x.o.nheaders = 2;
	x.s[0].respond = r_basic;
	RUN_CTX(x);
}
END_TEST

FIXED(r_chunked,
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\nX-Other: yes\r\n\r\n",
      KEEP)

static void *t_chunked(ctx *x)
{
	corio_http_response *r;
	char buf[3];
	char all[64];
	size_t got = 0;
	ssize_t n;

	for (int round = 0; round < 2; round++) {
		TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0);
		TH_CHECK(corio_http_response_content_length(r) == -1);
		TH_CHECK(corio_http_response_trailer(r, "X-Sum") == NULL); /* not yet */
		got = 0;
		while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0) { /* tiny reads */
			memcpy(all + got, buf, (size_t)n);
			got += (size_t)n;
		}
		TH_CHECK(n == 0);
		TH_CHECK(got == 12 && memcmp(all, "hello, world", 12) == 0);
		TH_CHECK(corio_http_response_read(r, buf, sizeof buf) == 0);
		TH_CHECK(strcmp(corio_http_response_trailer(r, "x-sum"), "42") == 0);
		TH_CHECK(strcmp(corio_http_response_trailer(r, "X-Other"), "yes") == 0);
		TH_CHECK(corio_http_response_header(r, "X-Sum") == NULL);
		corio_http_response_free(r);
	}
	TH_CHECK(x->s[0].accepts == 1); /* the chunked message ended cleanly: reused */
	return TH_OK;
}

START_TEST(chunked_with_trailers_and_reuse)
{
	ctx x = {.nsrv = 1, .body = t_chunked};

	x.s[0].respond = r_chunked;
	RUN_CTX(x);
}
END_TEST

FIXED(r_close_delim, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", CLOSE)
FIXED(r_http10, "HTTP/1.0 200 OK\r\n\r\nold style", CLOSE)

static void *t_close_delim(ctx *x)
{
	char *t = NULL;
	size_t len;

	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
	TH_CHECK(strcmp(t, "until the end") == 0);
	free(t);
	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
	free(t);
	TH_CHECK(x->s[0].accepts == 2); /* never reused */
	TH_CHECK(get_text(x->c, u(x, 1, "/"), &t, &len) == 200);
	TH_CHECK(strcmp(t, "old style") == 0);
	free(t);
	return TH_OK;
}

START_TEST(close_delimited_bodies)
{
	ctx x = {.nsrv = 2, .body = t_close_delim};

	x.s[0].respond = r_close_delim;
	x.s[1].respond = r_http10;
	RUN_CTX(x);
}
END_TEST

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

/* ---- keep-alive, pool, idle expiry, retry ---------------------------------------------- */

FIXED(r_ok, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", KEEP)
FIXED(r_ok_close, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", KEEP)
FIXED(r_extra, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokUNSOLICITED", KEEP)

static void *t_keepalive(ctx *x)
{
	corio_http_client_stats st;
	char *t = NULL;
	size_t len;

	for (int i = 0; i < 5; i++) {
		TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
		free(t);
	}
	TH_CHECK(x->s[0].accepts == 1);
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.connects == 1 && st.reuses == 4 && st.idle == 1 && st.open == 1);
	/* Connection: close is honoured. */
	for (int i = 0; i < 2; i++) {
		TH_CHECK(get_text(x->c, u(x, 1, "/"), &t, &len) == 200);
		free(t);
	}
	TH_CHECK(x->s[1].accepts == 2);
	/* A response freed unread still gives its connection back when it is all buffered. */
	{
		corio_http_response *r;

		TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0);
		corio_http_response_free(r);
		TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0);
		corio_http_response_free(r);
		TH_CHECK(x->s[0].accepts == 1);
	}
	return TH_OK;
}

START_TEST(keepalive_reuse)
{
	ctx x = {.nsrv = 2, .body = t_keepalive};

	x.s[0].respond = r_ok;
	x.s[1].respond = r_ok_close;
	RUN_CTX(x);
}
END_TEST

static void *t_extra(ctx *x)
{
	char *t = NULL;
	size_t len;

	for (int i = 0; i < 3; i++) {
		TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
		TH_CHECK(strcmp(t, "ok") == 0);
		free(t);
	}
	TH_CHECK(x->s[0].accepts == 3); /* bytes after a response: never reused */
	return TH_OK;
}

START_TEST(unsolicited_bytes_prevent_reuse)
{
	ctx x = {.nsrv = 1, .body = t_extra};

	x.s[0].respond = r_extra;
	RUN_CTX(x);
}
END_TEST

/* A HEAD answered with Content-Length and no body; then the server sends what it should not
 * (variants below). Any other request gets "REAL". */
static const char *const late_bytes[] = {
	/* 0 a whole response nobody asked for */
	"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL",
	/* 1 a body for the HEAD, late */
	"EVIL",
	/* 2 a body for the HEAD in the same segment as its head (no late bytes) */
	NULL,
	/* 3 an interim answer and a response */
	"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL",
};

static int r_late(srv *s, const rq *q, const char **out, size_t *len)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n";
	static const char head_body[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL";
	static const char real[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nREAL";

	if (strncmp(q->head, "HEAD ", 5) != 0) {
		*out = real, *len = sizeof real - 1;
		return KEEP;
	}
	if (!s->late) {
		*out = head_body, *len = sizeof head_body - 1;
		return KEEP;
	}
	*out = head, *len = sizeof head - 1;
	return SEND_LATE;
}

/* Regression: a GET within a second of the HEAD skipped the pool's liveness check (it would
 * be retried should the connection be dead) and took the unsolicited bytes for its answer.
 * The next requests must get the real answer, from a new connection. */
static void *t_late(ctx *x)
{
	struct corio_http_request head = {.method = "HEAD", .url = u(x, 0, "/")};
	corio_http_client_stats st;
	corio_http_response *r;
	char *t = NULL;
	size_t len;

	TH_CHECK(corio_http_request(x->c, &head, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 200);
	TH_CHECK(corio_http_response_content_length(r) == 4);
	corio_http_response_free(r);
	if (x->s[0].late) {
		corio_http_client_stats_get(x->c, &st);
		TH_CHECK(st.idle == 1); /* pooled, as nothing followed the answer yet */
		corio_event_set(&x->s[0].go);
		TH_CHECK(corio_event_wait(&x->s[0].sent) == 0);
	}
	for (int i = 0; i < 2; i++) {
		int rc = get_text(x->c, u(x, 0, "/"), &t, &len);

		TH_CHECK(rc == 200);
		if (strcmp(t, "REAL") != 0)
			fprintf(stderr, "unsolicited bytes variant %d: got %s\n", *(int *)x->ud, t);
		TH_CHECK(strcmp(t, "REAL") == 0);
		free(t);
	}
	TH_CHECK(x->s[0].accepts == 2); /* the HEAD's connection dropped, the new one reused */
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.retries == 0);
	return TH_OK;
}

START_TEST(unsolicited_bytes_on_idle_connection)
{
	ctx x = {.nsrv = 1, .body = t_late};
	int i = _i;

	x.s[0].respond = r_late;
	x.s[0].late = late_bytes[i];
	corio_event_init(&x.s[0].go);
	corio_event_init(&x.s[0].sent);
	x.ud = &i;
	RUN_CTX(x);
}
END_TEST

typedef struct fetch_arg {
	ctx *x;
	int srv;
	int rc;
} fetch_arg;

static void *fetch_task(void *arg)
{
	fetch_arg *a = arg;
	char *t = NULL;
	size_t len;
	char url[128];

	snprintf(url, sizeof url, "%s/", a->x->s[a->srv].url);
	a->rc = get_text(a->x->c, url, &t, &len);
	free(t);
	return NULL;
}

static void *t_pool(ctx *x)
{
	fetch_arg args[12];
	corio_task *tasks[12];
	corio_http_client_stats st;

	for (int i = 0; i < 12; i++) {
		args[i] = (fetch_arg){x, i % 2, 0};
		tasks[i] = corio_spawn(fetch_task, &args[i]);
	}
	TH_CHECK(corio_gather(tasks, 12, NULL) == 0);
	for (int i = 0; i < 12; i++)
		TH_CHECK(args[i].rc == 200);
	/* per host 2, total 3: six tasks per host pile up, three requests at a time */
	if (g_max_inflight != 3)
		fprintf(stderr, "pool_limits: max in flight %d\n", g_max_inflight);
	TH_CHECK(g_max_inflight == 3);
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.open <= 3);
	TH_CHECK(x->s[0].requests == 6 && x->s[1].requests == 6);
	return TH_OK;
}

START_TEST(pool_limits)
{
	ctx x = {.nsrv = 2, .body = t_pool};

	x.o.limit = 3;
	x.o.limit_per_host = 2;
	x.s[0].respond = x.s[1].respond = r_ok;
	x.s[0].delay = x.s[1].delay = CORIO_MS(30);
	RUN_CTX(x);
}
END_TEST

static void *t_pool_total(ctx *x)
{
	fetch_arg args[8];
	corio_task *tasks[8];
	for (int i = 0; i < 8; i++) {
		args[i] = (fetch_arg){x, i % 2, 0};
		tasks[i] = corio_spawn(fetch_task, &args[i]);
	}
	TH_CHECK(corio_gather(tasks, 8, NULL) == 0);
	for (int i = 0; i < 8; i++)
		TH_CHECK(args[i].rc == 200);
	/* total limit 1 across both origins: idle connections of the other origin are
	 * evicted, so requests are served one at a time */
	if (g_max_inflight != 1)
		fprintf(stderr, "pool_total: max in flight %d\n", g_max_inflight);
	TH_CHECK(g_max_inflight == 1);
	TH_CHECK(x->s[0].requests == 4 && x->s[1].requests == 4);
	return TH_OK;
}

START_TEST(pool_total_limit_evicts_idle)
{
	ctx x = {.nsrv = 2, .body = t_pool_total};

	x.o.limit = 1;
	x.s[0].respond = x.s[1].respond = r_ok;
	x.s[0].delay = x.s[1].delay = CORIO_MS(5);
	RUN_CTX(x);
}
END_TEST

static void *t_idle(ctx *x)
{
	char *t = NULL;
	size_t len;

	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
	free(t);
	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
	free(t);
	TH_CHECK(x->s[0].accepts == 1);
	corio_sleep(CORIO_MS(150));
	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
	free(t);
	TH_CHECK(x->s[0].accepts == 2); /* expired after keepalive_ns */
	return TH_OK;
}

START_TEST(idle_expiry)
{
	ctx x = {.nsrv = 1, .body = t_idle};

	x.o.keepalive_ns = CORIO_MS(100);
	x.s[0].respond = r_ok;
	RUN_CTX(x);
}
END_TEST

/* The second request on every connection is read and dropped without an answer. */
static int r_drop_second(srv *s, const rq *q, const char **out, size_t *len)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	if (q->conn_req == 2)
		return NOANSWER;
	*out = ok;
	*len = sizeof ok - 1;
	return KEEP;
}

static void *t_retry(ctx *x)
{
	corio_http_client_stats st;
	struct corio_http_request post = {.method = "POST", .url = u(x, 0, "/p"), .body = "x",
					  .body_len = 1};
	corio_http_response *r;
	char *t = NULL;
	size_t len;

	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200); /* conn 1, request 1 */
	free(t);
	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200); /* conn 1 drops it: retried */
	free(t);
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.retries == 1);
	TH_CHECK(x->s[0].accepts == 2 && x->s[0].requests == 3);
	/* conn 2 served one request; a POST on it is dropped and must not be retried */
	TH_CHECK(corio_http_request(x->c, &post, &r) == -ECONNRESET);
	TH_CHECK(r == NULL);
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.retries == 1);
	TH_CHECK(x->s[0].requests == 4 && x->s[0].accepts == 2);
	/* a failure on a fresh connection is never retried either */
	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200); /* conn 3, request 1 */
	free(t);
	{
		struct corio_http_request g = {.url = u(x, 0, "/"), .flags = CORIO_HTTP_NO_RETRY};

		TH_CHECK(corio_http_request(x->c, &g, &r) == -ECONNRESET);
	}
	return TH_OK;
}

START_TEST(retry_only_idempotent_on_reused)
{
	ctx x = {.nsrv = 1, .body = t_retry};

	x.s[0].respond = r_drop_second;
	RUN_CTX(x);
}
END_TEST

/* The server answers without "Connection: close" and closes anyway. Every reuse peeks first,
 * however short the idle time: neither a POST (never retried) nor a GET is sent on the dead
 * connection, and nothing needs a retry. */
FIXED(r_ok_then_close, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", CLOSE)

/* Until the server's side of every connection is closed (its FIN sent). */
static bool server_closed_all(srv *s)
{
	for (int i = 0; i < 10000 && s->active > 0; i++)
		corio_sleep(CORIO_MS(1));
	return s->active == 0;
}

static void *t_closed_while_idle(ctx *x)
{
	corio_http_client_stats st;
	struct corio_http_request post = {.method = "POST", .url = u(x, 0, "/p"), .body = "x",
					  .body_len = 1};
	corio_http_response *r;
	char *t = NULL;
	size_t len;

	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200); /* conn 1, then closed */
	free(t);
	TH_CHECK(server_closed_all(&x->s[0]));
	TH_CHECK(corio_http_request(x->c, &post, &r) == 0); /* peeked: conn 2 */
	TH_CHECK(corio_http_response_status(r) == 200);
	corio_http_response_free(r);
	TH_CHECK(x->s[0].accepts == 2);
	TH_CHECK(server_closed_all(&x->s[0]));
	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200); /* peeked too: conn 3 */
	free(t);
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.retries == 0 && st.reuses == 0);
	TH_CHECK(x->s[0].accepts == 3);
	return TH_OK;
}

START_TEST(closed_while_idle_detected_before_reuse)
{
	ctx x = {.nsrv = 1, .body = t_closed_while_idle};

	x.s[0].respond = r_ok_then_close;
	RUN_CTX(x);
}
END_TEST

static void *t_outlive(ctx *x)
{
	corio_http_response *r;
	fetch_arg waiter = {x, 0, 0};
	corio_task *t;
	const char *text;
	size_t len;

	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0); /* holds the only slot */
	t = corio_spawn(fetch_task, &waiter);
	corio_sleep(CORIO_MS(20)); /* the waiter parks on the pool */
	corio_http_client_free(x->c);
	x->c = corio_http_client_new(NULL); /* run_ctx frees this one */
	TH_CHECK(corio_join(t, NULL) == 0);
	TH_CHECK(waiter.rc == -ESHUTDOWN);
	/* the response outlives its client */
	TH_CHECK(corio_http_response_text(r, &text, &len) == 0 && strcmp(text, "ok") == 0);
	corio_http_response_free(r);
	return TH_OK;
}

START_TEST(client_freed_with_live_response_and_waiter)
{
	ctx x = {.nsrv = 1, .body = t_outlive};

	x.o.limit = 1;
	x.s[0].respond = r_ok;
	RUN_CTX(x);
}
END_TEST

/* ---- timeouts ------------------------------------------------------------------------- */

FIXED(r_hang, "", HANG)
FIXED(r_send_hang, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", SEND_HANG)

static void *t_timeouts(ctx *x)
{
	corio_http_response *r;
	uint64_t t0 = corio_now(), dt;
	corio_timeout to;

	/* total timeout of the client */
	/* Timers far apart (total 1 s, read 3 s, the scopes below 50 and 30 ms), so which one
	 * fired shows even on a machine busy enough to make each of them late by 800 ms. */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == -ETIMEDOUT);
	dt = corio_now() - t0;
	TH_CHECK(dt >= CORIO_MS(950) && dt < CORIO_MS(2800));
	TH_CHECK(r == NULL);
	/* the caller's own scope is honoured as well */
	t0 = corio_now();
	corio_timeout_enter(&to, CORIO_MS(50));
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&to));
	TH_CHECK(corio_now() - t0 < CORIO_MS(900));
	/* a per-request total */
	{
		struct corio_http_request q = {.url = u(x, 0, "/"), .total_ns = CORIO_MS(30)};

		t0 = corio_now();
		TH_CHECK(corio_http_request(x->c, &q, &r) == -ETIMEDOUT);
		TH_CHECK(corio_now() - t0 < CORIO_MS(900));
	}
	return TH_OK;
}

START_TEST(timeouts)
{
	ctx x = {.nsrv = 1, .body = t_timeouts};

	/* read_ns above total_ns: the total is what fires */
	x.o.total_ns = CORIO_SEC(1);
	x.o.read_ns = CORIO_SEC(3);
	x.s[0].respond = r_hang;
	RUN_CTX(x);
}
END_TEST

static void *t_read_timeout(ctx *x)
{
	corio_http_response *r;
	char buf[256];
	uint64_t t0;

	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0);
	TH_CHECK(corio_http_response_read(r, buf, sizeof buf) == 7);
	t0 = corio_now();
	TH_CHECK(corio_http_response_read(r, buf, sizeof buf) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(50) && corio_now() - t0 < CORIO_MS(1000));
	corio_http_response_free(r);
	return TH_OK;
}

START_TEST(idle_read_timeout)
{
	ctx x = {.nsrv = 1, .body = t_read_timeout};

	x.o.read_ns = CORIO_MS(60);
	x.s[0].respond = r_send_hang;
	RUN_CTX(x);
}
END_TEST

/* ---- redirects -------------------------------------------------------------------------- */

static int r_redirects(srv *s, const rq *q, const char **out, size_t *len)
{
	static char buf[512];
	const char *path = strchr(q->head, ' ') + 1;
	int code;
	char loc[256] = "";

	if (sscanf(path, "/r%d", &code) == 1) {
		snprintf(loc, sizeof loc, "/final");
	} else if (!strncmp(path, "/loop-a", 7)) {
		code = 302;
		snprintf(loc, sizeof loc, "/loop-b");
	} else if (!strncmp(path, "/loop-b", 7)) {
		code = 302;
		snprintf(loc, sizeof loc, "%s/loop-a", s->url);
	} else if (!strncmp(path, "/chain/", 7) && strncmp(path, "/chain/final", 12)) {
		int k = atoi(path + 7);

		code = 301;
		if (k > 0)
			snprintf(loc, sizeof loc, "../chain/%d", k - 1);
		else
			snprintf(loc, sizeof loc, "final");
	} else if (!strncmp(path, "/cross", 6)) {
		code = 302;
		snprintf(loc, sizeof loc, "%s/landed", (const char *)s->ud);
	} else if (!strncmp(path, "/to-https", 9)) {
		code = 302;
		snprintf(loc, sizeof loc, "https://127.0.0.1/");
	} else {
		*len = (size_t)snprintf(buf, sizeof buf,
					"HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%.*s",
					q->body_len, (int)q->body_len, q->body);
		*out = buf;
		return KEEP;
	}
	*len = (size_t)snprintf(buf, sizeof buf,
				"HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 4\r\n\r\n%s",
				code, loc, strncmp(q->head, "HEAD ", 5) ? "move" : "");
	*out = buf;
	return KEEP;
}

static void *t_redirects(ctx *x)
{
	static const int codes[] = {301, 302, 303, 307, 308};
	corio_http_response *r;
	const char *t;
	size_t len;

	for (int i = 0; i < 5; i++) {
		char path[32];
		struct corio_http_request req = {.method = "POST", .body = "payload", .body_len = 7};
		int n0 = x->s[0].requests;
		const char *h;

		snprintf(path, sizeof path, "/r%d", codes[i]);
		req.url = u(x, 0, path);
		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 200);
		TH_CHECK(corio_http_response_redirects(r) == 1);
		TH_CHECK(strstr(corio_http_response_url(r), "/final"));
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
		h = head_of(&x->s[0], n0 + 2);
		if (codes[i] >= 307) { /* method and body kept */
			TH_CHECK(strncmp(h, "POST /final ", 12) == 0);
			TH_CHECK(strcmp(t, "payload") == 0);
		} else { /* POST becomes GET, body and its headers dropped */
			TH_CHECK(strncmp(h, "GET /final ", 11) == 0);
			TH_CHECK(len == 0);
			TH_CHECK(!strcasestr(h, "Content-Length"));
		}
		corio_http_response_free(r);
	}
	/* 303 keeps HEAD */
	{
		struct corio_http_request req = {.method = "HEAD", .url = u(x, 0, "/r303")};
		int n0 = x->s[0].requests;

		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		TH_CHECK(strncmp(head_of(&x->s[0], n0 + 2), "HEAD /final ", 12) == 0);
		corio_http_response_free(r);
	}
	/* loops and the maximum */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/loop-a"), &r) == -ELOOP);
	TH_CHECK(r == NULL);
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/chain/3"), &r) == 0); /* relative Locations */
	TH_CHECK(corio_http_response_redirects(r) == 4);
	TH_CHECK(strstr(corio_http_response_url(r), "/chain/final"));
	corio_http_response_free(r);
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/chain/10"), &r) == -ELOOP); /* 11 > 10 */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/chain/9"), &r) == 0);       /* exactly 10 */
	corio_http_response_free(r);
	{
		struct corio_http_request req = {.url = u(x, 0, "/chain/1"), .max_redirects = 1};

		TH_CHECK(corio_http_request(x->c, &req, &r) == -ELOOP);
		req.flags = CORIO_HTTP_NO_REDIRECTS;
		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 301);
		TH_CHECK(strcmp(corio_http_response_header(r, "Location"), "../chain/0") == 0);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0 && strcmp(t, "move") == 0);
		corio_http_response_free(r);
	}
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/to-https"), &r) == -EPROTONOSUPPORT);
	TH_CHECK(x->s[0].accepts == 1); /* 3xx bodies drained: one connection throughout */
	return TH_OK;
}

START_TEST(redirects_methods_loops_maximum)
{
	ctx x = {.nsrv = 1, .body = t_redirects};

	x.s[0].respond = r_redirects;
	RUN_CTX(x);
}
END_TEST

static void *t_cross(ctx *x)
{
	static const corio_http_header hs[] = {
		{"Authorization", "Bearer secret"}, {"Cookie", "a=b"},
		{"Proxy-Authorization", "Basic eA=="}, {"X-Keep", "kept"}};
	struct corio_http_request req = {.url = u(x, 0, "/cross"), .headers = hs, .nheaders = 4};
	corio_http_response *r;
	const char *h1, *h2;

	x->s[0].ud = x->s[1].url;
	TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 200);
	corio_http_response_free(r);
	h1 = head_of(&x->s[0], 1);
	h2 = head_of(&x->s[1], 1);
	TH_CHECK(strstr(h1, "\r\nAuthorization: Bearer secret\r\n"));
	TH_CHECK(strstr(h1, "\r\nCookie: a=b\r\n"));
	TH_CHECK(strstr(h2, "\r\nX-Keep: kept\r\n"));
	TH_CHECK(!strcasestr(h2, "Authorization"));
	TH_CHECK(!strcasestr(h2, "Cookie"));
	TH_CHECK(strstr(h2, "GET /landed HTTP/1.1\r\n"));
	/* Same host, another port: another origin too (h2 above); userinfo becomes Basic */
	{
		char url[128];

		snprintf(url, sizeof url, "http://us%%65r:pa%%3Ass@127.0.0.1:%d/ui", x->s[1].port);
		req = (struct corio_http_request){.url = url};
		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		corio_http_response_free(r);
		/* base64("user:pa:ss") */
		TH_CHECK(strstr(head_of(&x->s[1], 2), "\r\nAuthorization: Basic dXNlcjpwYTpzcw==\r\n"));
	}
	return TH_OK;
}

START_TEST(cross_origin_redirect_drops_credentials)
{
	ctx x = {.nsrv = 2, .body = t_cross};

	x.s[0].respond = x.s[1].respond = r_redirects;
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

/* ---- streamed reads and size caps ------------------------------------------------------- */

static char *big_resp;
static size_t big_resp_len;
#define BIG_BODY (3u << 20)

static int r_big(srv *s, const rq *q, const char **out, size_t *len)
{
	*out = big_resp;
	*len = big_resp_len;
	return KEEP;
}

static unsigned char big_at(size_t i)
{
	return (unsigned char)(i * 2654435761u >> 13);
}

static void *t_stream(ctx *x)
{
	corio_http_response *r;
	char *buf = malloc(7777);
	size_t got = 0;
	ssize_t n;
	int mfd;
	struct stat st;
	const char *t;
	size_t len;

	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0);
	while ((n = corio_http_response_read(r, buf, 7777)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if ((unsigned char)buf[i] != big_at(got + (size_t)i))
				return "body bytes differ";
		got += (size_t)n;
	}
	TH_CHECK(n == 0 && got == BIG_BODY);
	corio_http_response_free(r);
	free(buf);
	/* straight to a descriptor */
	mfd = memfd_create("body", 0);
	TH_CHECK(mfd >= 0);
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0);
	TH_CHECK(corio_http_response_read_to_fd(r, mfd) == (int64_t)BIG_BODY);
	corio_http_response_free(r);
	TH_CHECK(fstat(mfd, &st) == 0 && st.st_size == (off_t)BIG_BODY);
	{
		unsigned char *m = mmap(NULL, BIG_BODY, PROT_READ, MAP_SHARED, mfd, 0);

		for (size_t i = 0; i < BIG_BODY; i += 4093)
			TH_CHECK(m[i] == big_at(i));
		munmap(m, BIG_BODY);
	}
	corio_close(mfd);
	TH_CHECK(x->s[0].accepts == 1);
	/* a cap below the body */
	{
		struct corio_http_request req = {.url = u(x, 0, "/"), .max_body_size = 1 << 20};

		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		TH_CHECK(corio_http_response_text(r, &t, &len) == -EFBIG);
		corio_http_response_free(r);
		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		buf = malloc(65536);
		while ((n = corio_http_response_read(r, buf, 65536)) > 0)
			;
		free(buf);
		TH_CHECK(n == -EFBIG);
		corio_http_response_free(r);
	}
	/* text of the whole body */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0);
	TH_CHECK(corio_http_response_text(r, &t, &len) == 0 && len == BIG_BODY);
	TH_CHECK((unsigned char)t[BIG_BODY - 1] == big_at(BIG_BODY - 1) && t[len] == 0);
	corio_http_response_free(r);
	return TH_OK;
}

START_TEST(streamed_reads_fd_and_caps)
{
	ctx x = {.nsrv = 1, .body = t_stream};
	size_t hl;

	big_resp = malloc(BIG_BODY + 128);
	hl = (size_t)sprintf(big_resp, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", BIG_BODY);
	for (size_t i = 0; i < BIG_BODY; i++)
		big_resp[hl + i] = (char)big_at(i);
	big_resp_len = hl + BIG_BODY;
	x.s[0].respond = r_big;
	RUN_CTX(x);
	free(big_resp);
}
END_TEST

/* ---- request bodies -------------------------------------------------------------------- */

static int r_echo_len(srv *s, const rq *q, const char **out, size_t *len)
{
	static char buf[128];

	*len = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%zu",
				(size_t)snprintf(NULL, 0, "%zu", q->body_len), q->body_len);
	*out = buf;
	return KEEP;
}

typedef struct gen {
	size_t total, pos;
	int rewinds;
} gen;

static ssize_t gen_fn(void *arg, void *buf, size_t len)
{
	gen *g = arg;
	size_t n = g->total - g->pos;

	if (n > len)
		n = len;
	if (n > 1000)
		n = 1000; /* many small chunks */
	for (size_t i = 0; i < n; i++)
		((unsigned char *)buf)[i] = big_at(g->pos + i);
	g->pos += n;
	if (n)
		corio_yield();
	return (ssize_t)n;
}

static int gen_rewind(void *arg)
{
	((gen *)arg)->pos = 0;
	((gen *)arg)->rewinds++;
	return 0;
}

static bool body_matches(srv *s, int n, size_t len)
{
	if (s->blen[n - 1] != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s->bodies[n - 1][i] != big_at(i))
			return false;
	return true;
}

static void *t_bodies(ctx *x)
{
	corio_http_response *r;
	size_t blen = 300000;
	unsigned char *mem = malloc(blen);
	const char *t;
	size_t len;
	int fd;

	for (size_t i = 0; i < blen; i++)
		mem[i] = big_at(i);
	/* memory, small and large */
	{
		struct corio_http_request q = {.method = "PUT", .url = u(x, 0, "/m"),
					       .body_kind = CORIO_HTTP_BODY_MEM, .body = mem,
					       .body_len = blen};

		TH_CHECK(corio_http_request(x->c, &q, &r) == 0);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0 && atoi(t) == (int)blen);
		corio_http_response_free(r);
		TH_CHECK(body_matches(&x->s[0], 1, blen));
		TH_CHECK(strstr(head_of(&x->s[0], 1), "\r\nContent-Length: 300000\r\n"));
		q.body_len = 10;
		TH_CHECK(corio_http_request(x->c, &q, &r) == 0);
		corio_http_response_free(r);
		TH_CHECK(body_matches(&x->s[0], 2, 10));
	}
	/* a file from an offset, length from fstat */
	fd = memfd_create("req", 0);
	TH_CHECK(fd >= 0 && write(fd, mem, blen) == (ssize_t)blen);
	{
		struct corio_http_request q = {.method = "POST", .url = u(x, 0, "/f"),
					       .body_kind = CORIO_HTTP_BODY_FD, .body_fd = fd,
					       .body_offset = 0};

		TH_CHECK(corio_http_request(x->c, &q, &r) == 0);
		corio_http_response_free(r);
		TH_CHECK(body_matches(&x->s[0], 3, blen));
		TH_CHECK(strstr(head_of(&x->s[0], 3), "\r\nContent-Length: 300000\r\n"));
		q.body_length = 5000; /* an explicit length */
		TH_CHECK(corio_http_request(x->c, &q, &r) == 0);
		corio_http_response_free(r);
		TH_CHECK(body_matches(&x->s[0], 4, 5000));
	}
	corio_close(fd);
	/* a callback of unknown length: chunked */
	{
		gen g = {.total = 123457};
		struct corio_http_request q = {.method = "POST", .url = u(x, 0, "/s"),
					       .body_kind = CORIO_HTTP_BODY_STREAM,
					       .body_fn = gen_fn, .body_rewind = gen_rewind,
					       .body_arg = &g};

		TH_CHECK(corio_http_request(x->c, &q, &r) == 0);
		corio_http_response_free(r);
		TH_CHECK(strstr(head_of(&x->s[0], 5), "\r\nTransfer-Encoding: chunked\r\n"));
		TH_CHECK(body_matches(&x->s[0], 5, 123457));
		/* ... and with a known length */
		g = (gen){.total = 4321};
		q.body_length = 4321;
		TH_CHECK(corio_http_request(x->c, &q, &r) == 0);
		corio_http_response_free(r);
		TH_CHECK(strstr(head_of(&x->s[0], 6), "\r\nContent-Length: 4321\r\n"));
		TH_CHECK(body_matches(&x->s[0], 6, 4321));
	}
	/* POST without a body says Content-Length: 0; user headers override the defaults */
	{
		static const corio_http_header hs[] = {{"User-Agent", "mine/1"},
						       {"Accept-Encoding", NULL},
						       {"X-Two", "1"}, {"X-Two", "2"}};
		struct corio_http_request q = {.method = "POST", .url = u(x, 0, "/e"),
					       .headers = hs, .nheaders = 4};
		const char *h;

		TH_CHECK(corio_http_request(x->c, &q, &r) == 0);
		corio_http_response_free(r);
		h = head_of(&x->s[0], 7);
		TH_CHECK(strstr(h, "\r\nContent-Length: 0\r\n"));
		TH_CHECK(strstr(h, "\r\nUser-Agent: mine/1\r\n") && !strstr(h, "corio/0.1"));
		TH_CHECK(!strstr(h, "Accept-Encoding"));
		TH_CHECK(strstr(h, "\r\nX-Two: 1\r\nX-Two: 2\r\n"));
	}
	/* bad requests */
	{
		static const corio_http_header inj[] = {{"X-Bad", "a\r\nInjected: 1"}};
		static const corio_http_header badname[] = {{"Bad Name", "v"}};
		struct corio_http_request q = {.url = u(x, 0, "/"), .headers = inj, .nheaders = 1};

		TH_CHECK(corio_http_request(x->c, &q, &r) == -EINVAL);
		q.headers = badname;
		TH_CHECK(corio_http_request(x->c, &q, &r) == -EINVAL);
		q = (struct corio_http_request){.url = u(x, 0, "/"), .method = "GE T"};
		TH_CHECK(corio_http_request(x->c, &q, &r) == -EINVAL);
		TH_CHECK(corio_http_get(x->c, "https://127.0.0.1/", &r) == -EPROTONOSUPPORT);
		TH_CHECK(corio_http_get(x->c, "ftp://127.0.0.1/", &r) == -EPROTONOSUPPORT);
		TH_CHECK(corio_http_get(x->c, "http://127.0.0.1:99999/", &r) == -EINVAL);
		TH_CHECK(corio_http_get(x->c, "not a url", &r) == -EINVAL);
		TH_CHECK(corio_http_get(x->c, "http://127.0.0.1:1/", &r) == -ECONNREFUSED);
		TH_CHECK(r == NULL);
	}
	free(mem);
	return TH_OK;
}

START_TEST(request_bodies_and_headers)
{
	ctx x = {.nsrv = 1, .body = t_bodies};

	x.s[0].respond = r_echo_len;
	RUN_CTX(x);
}
END_TEST

static void *t_expect(ctx *x)
{
	corio_http_response *r;
	char body[1000];
	const char *t;
	size_t len;
	struct corio_http_request q = {.method = "PUT", .url = u(x, 0, "/x"), .body = body,
				       .body_len = sizeof body};

	memset(body, 'e', sizeof body);
	q.flags = CORIO_HTTP_EXPECT_CONTINUE;
	TH_CHECK(corio_http_request(x->c, &q, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 200);
	TH_CHECK(corio_http_response_text(r, &t, &len) == 0 && strcmp(t, "1000") == 0);
	corio_http_response_free(r);
	TH_CHECK(strstr(head_of(&x->s[0], 1), "\r\nExpect: 100-continue\r\n"));
	/* by size, through the client option (expect_continue_min = 500) */
	q.flags = 0;
	TH_CHECK(corio_http_request(x->c, &q, &r) == 0);
	corio_http_response_free(r);
	TH_CHECK(strstr(head_of(&x->s[0], 2), "\r\nExpect: 100-continue\r\n"));
	q.body_len = 100;
	TH_CHECK(corio_http_request(x->c, &q, &r) == 0);
	corio_http_response_free(r);
	TH_CHECK(!strstr(head_of(&x->s[0], 3), "Expect"));
	/* a final answer instead of 100: the body is not sent, the answer is returned */
	x->s[0].expect_reject = true;
	q.body_len = 1000;
	TH_CHECK(corio_http_request(x->c, &q, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 417);
	corio_http_response_free(r);
	return TH_OK;
}

START_TEST(expect_100_continue)
{
	ctx x = {.nsrv = 1, .body = t_expect};

	x.o.expect_continue_min = 500;
	x.s[0].respond = r_echo_len;
	RUN_CTX(x);
}
END_TEST

/* ---- short reads and writes (CORIO_FAULTS) ------------------------------------------------ */

static const char *const fault_specs[] = {"1:short@0.5", "2:short@0.9", "3:short@0.3",
					  "4:short@0.7"};

START_TEST(short_transfers_under_faults)
{
	corio_config cfg = th_config();
	size_t hl;

	cfg.faults = fault_specs[_i];
	{
		ctx x = {.nsrv = 1, .body = t_chunked};

		x.s[0].respond = r_chunked;
		TH_RUN_EXPECT_OK(&cfg, run_ctx, &x);
	}
	{
		ctx x = {.nsrv = 1, .body = t_basic};

		x.s[0].respond = r_basic;
		TH_RUN_EXPECT_OK(&cfg, run_ctx, &x);
	}
	{
		ctx x = {.nsrv = 1, .body = t_bodies};

		x.s[0].respond = r_echo_len;
		TH_RUN_EXPECT_OK(&cfg, run_ctx, &x);
	}
	{
		ctx x = {.nsrv = 1, .body = t_stream};

		big_resp = malloc(BIG_BODY + 128);
		hl = (size_t)sprintf(big_resp, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
				     BIG_BODY);
		for (size_t i = 0; i < BIG_BODY; i++)
			big_resp[hl + i] = (char)big_at(i);
		big_resp_len = hl + BIG_BODY;
		x.s[0].respond = r_big;
		TH_RUN_EXPECT_OK(&cfg, run_ctx, &x);
		free(big_resp);
	}
}
END_TEST

/* ---- nginx ----------------------------------------------------------------------------------- */

#define NGINX "/usr/sbin/nginx"

typedef struct nginx {
	char dir[64];
	int port;
	pid_t pid;
	char *file;
	size_t file_len;
	char *text;
	size_t text_len;
} nginx;

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Runs argv with the listening socket lfd kept open (and closes the parent's copy): a peer
 * that serves on a port this test bound, so no other process can hold that port. Clients may
 * connect at once: the kernel queues them until the peer accepts, and resets them if it dies. */
static pid_t peer_spawn(const char *const argv[], char *const envp[], int lfd)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
		th_keep_across_exec(lfd);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	close(lfd);
	return pid;
}

/* The files both peers serve, in a new directory n->dir. */
static void peer_files(nginx *n)
{
	char path[128];

	snprintf(n->dir, sizeof n->dir, "/tmp/corio-nginx-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(n->dir));
	chmod(n->dir, 0755); /* the worker may run as another user */
	snprintf(path, sizeof path, "%s/www", n->dir);
	mkdir(path, 0755);
	n->file_len = 2u << 20;
	n->file = malloc(n->file_len);
	for (size_t i = 0; i < n->file_len; i++)
		n->file[i] = (char)big_at(i * 3 + 1);
	snprintf(path, sizeof path, "%s/www/big.bin", n->dir);
	write_file(path, n->file, n->file_len);
	n->text_len = 100000;
	n->text = malloc(n->text_len);
	for (size_t i = 0; i < n->text_len; i++)
		n->text[i] = "lorem ipsum dolor sit amet\n"[i % 27];
	snprintf(path, sizeof path, "%s/www/t.txt", n->dir);
	write_file(path, n->text, n->text_len);
}

static void nginx_start(nginx *n)
{
	char path[128], conf[2048], inherit[32];
	char *const envp[] = { inherit, NULL };
	const char *const argv[] = { NGINX, "-p", n->dir, "-c", path, "-e", "/dev/null", NULL };
	int lfd;

	peer_files(n);
	/* nginx inherits the socket through its NGINX variable (its binary-upgrade path; only
	 * with a master process: 1.22 crashes on inherited sockets with master_process off) */
	lfd = th_loopback_socket(&n->port, true);
	ck_assert_int_ge(lfd, 0);
	snprintf(inherit, sizeof inherit, "NGINX=%d;", lfd);
	snprintf(conf, sizeof conf,
		 "daemon off; master_process on; worker_processes 1;\n"
		 "pid %s/nginx.pid; error_log %s/error.log;\n"
		 "events { worker_connections 256; }\n"
		 "http {\n access_log off;\n"
		 " client_body_temp_path %s/body; proxy_temp_path %s/proxy;\n"
		 " fastcgi_temp_path %s/fcgi; uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;\n"
		 " types { text/plain txt; application/octet-stream bin; }\n"
		 " gzip on; gzip_types text/plain; gzip_min_length 1;\n"
		 " server {\n  listen 127.0.0.1:%d;\n  root %s/www;\n"
		 "  add_header X-Conn $connection always;\n"
		 "  add_header X-Conn-Requests $connection_requests always;\n"
		 "  location = /moved { return 302 /t.txt; }\n"
		 " }\n}\n",
		 n->dir, n->dir, n->dir, n->dir, n->dir, n->dir, n->dir, n->port, n->dir);
	snprintf(path, sizeof path, "%s/nginx.conf", n->dir);
	write_file(path, conf, strlen(conf));
	n->pid = peer_spawn(argv, envp, lfd);
}

static void nginx_stop(nginx *n)
{
	char cmd[128];

	kill(n->pid, SIGTERM);
	waitpid(n->pid, NULL, 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s", n->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", n->dir);
	free(n->file);
	free(n->text);
}

static void *t_nginx(void *arg)
{
	nginx *n = arg;
	corio_http_client *c = corio_http_client_new(NULL);
	corio_http_response *r;
	char url[128];
	const char *t, *conn0 = NULL;
	size_t len;
	char conn[32] = "";

	TH_CHECK(c);
	/* a static file, compared byte for byte, three times on one connection */
	for (int i = 0; i < 3; i++) {
		char want[8];

		snprintf(url, sizeof url, "http://127.0.0.1:%d/big.bin", n->port);
		TH_CHECK(corio_http_get(c, url, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 200);
		TH_CHECK(corio_http_response_content_length(r) == (int64_t)n->file_len);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
		TH_CHECK(len == n->file_len && memcmp(t, n->file, len) == 0);
		conn0 = corio_http_response_header(r, "X-Conn");
		TH_CHECK(conn0);
		if (i == 0)
			snprintf(conn, sizeof conn, "%s", conn0);
		TH_CHECK(strcmp(conn, conn0) == 0); /* the same connection */
		snprintf(want, sizeof want, "%d", i + 1);
		TH_CHECK(strcmp(corio_http_response_header(r, "X-Conn-Requests"), want) == 0);
		corio_http_response_free(r);
	}
	/* gzip from nginx, through a redirect */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/moved", n->port);
	TH_CHECK(corio_http_get(c, url, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 200);
	TH_CHECK(corio_http_response_redirects(r) == 1);
	TH_CHECK(strcmp(corio_http_response_header(r, "Content-Encoding"), "gzip") == 0);
	TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
	TH_CHECK(len == n->text_len && memcmp(t, n->text, len) == 0);
	corio_http_response_free(r);
	/* HEAD, 404 */
	{
		struct corio_http_request q = {.method = "HEAD", .url = url};

		snprintf(url, sizeof url, "http://127.0.0.1:%d/big.bin", n->port);
		TH_CHECK(corio_http_request(c, &q, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 200);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0 && len == 0);
		corio_http_response_free(r);
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d/nope", n->port);
	TH_CHECK(corio_http_get(c, url, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 404);
	corio_http_response_free(r);
	corio_http_client_free(c);
	return TH_OK;
}

START_TEST(against_nginx)
{
	nginx n = {0};

	if (access(NGINX, X_OK) != 0) {
		fprintf(stderr, "%s not installed: skipped\n", NGINX);
		return;
	}
	nginx_start(&n);
	{
		const char *msg = TH_RUN(t_nginx, &n);

		nginx_stop(&n);
		ck_assert_msg(msg == NULL, "task failed: %s", msg);
	}
}
END_TEST

/* ---- Python's http.server (HTTP/1.0, one request per connection) ------------------------ */

#define PYTHON "/usr/bin/python3"

static void *t_python(void *arg)
{
	nginx *n = arg; /* same files, another server */
	corio_http_client *c = corio_http_client_new(NULL);
	corio_http_response *r;
	char url[128];
	const char *t;
	size_t len;
	corio_http_client_stats st;

	TH_CHECK(c);
	for (int i = 0; i < 2; i++) {
		snprintf(url, sizeof url, "http://127.0.0.1:%d/www/big.bin", n->port);
		TH_CHECK(corio_http_get(c, url, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 200);
		TH_CHECK(corio_http_response_version(r) == 10);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
		TH_CHECK(len == n->file_len && memcmp(t, n->file, len) == 0);
		corio_http_response_free(r);
	}
	corio_http_client_stats_get(c, &st);
	TH_CHECK(st.connects == 2 && st.idle == 0); /* HTTP/1.0 without keep-alive */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/missing", n->port);
	TH_CHECK(corio_http_get(c, url, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 404);
	TH_CHECK(corio_http_response_text(r, &t, &len) == 0 && len > 0);
	corio_http_response_free(r);
	corio_http_client_free(c);
	return TH_OK;
}

START_TEST(against_python_http_server)
{
	/* http.server's own CLI can only bind; this serves the same way on the inherited socket */
	static const char script[] =
		"import functools, http.server, socket, sys\n"
		"h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])\n"
		"s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h, bind_and_activate=False)\n"
		"s.socket.close()\n"
		"s.socket = socket.socket(fileno=int(sys.argv[1]))\n"
		"s.serve_forever()\n";
	nginx n = {0};
	char fdarg[16];
	const char *const argv[] = { PYTHON, "-c", script, fdarg, n.dir, NULL };
	char *const envp[] = { NULL };
	int lfd;

	if (access(PYTHON, X_OK) != 0) {
		fprintf(stderr, "%s not installed: skipped\n", PYTHON);
		return;
	}
	peer_files(&n);
	lfd = th_loopback_socket(&n.port, true);
	ck_assert_int_ge(lfd, 0);
	snprintf(fdarg, sizeof fdarg, "%d", lfd);
	n.pid = peer_spawn(argv, envp, lfd);
	{
		const char *msg = TH_RUN(t_python, &n);

		nginx_stop(&n);
		ck_assert_msg(msg == NULL, "task failed: %s", msg);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_client");
	TCase *tc = tcase_create("scripted");
	TCase *tn = tcase_create("peers");

	tcase_set_timeout(tc, TH_TIMEOUT);
	tcase_add_test(tc, basic_get_headers_and_text);
	tcase_add_test(tc, client_default_headers);
	tcase_add_test(tc, chunked_with_trailers_and_reuse);
	tcase_add_test(tc, close_delimited_bodies);
	tcase_add_loop_test(tc, bad_responses_fail_clearly, 0,
			    (int)(sizeof bad_responses / sizeof bad_responses[0]));
	tcase_add_test(tc, no_body_for_204_304_head_and_1xx);
	tcase_add_test(tc, keepalive_reuse);
	tcase_add_test(tc, unsolicited_bytes_prevent_reuse);
	tcase_add_loop_test(tc, unsolicited_bytes_on_idle_connection, 0,
			    (int)(sizeof late_bytes / sizeof late_bytes[0]));
	tcase_add_test(tc, pool_limits);
	tcase_add_test(tc, pool_total_limit_evicts_idle);
	tcase_add_test(tc, idle_expiry);
	tcase_add_test(tc, client_freed_with_live_response_and_waiter);
	tcase_add_test(tc, retry_only_idempotent_on_reused);
	tcase_add_test(tc, closed_while_idle_detected_before_reuse);
	tcase_add_test(tc, timeouts);
	tcase_add_test(tc, idle_read_timeout);
	tcase_add_test(tc, redirects_methods_loops_maximum);
	tcase_add_test(tc, cross_origin_redirect_drops_credentials);
	tcase_add_test(tc, gzip_and_deflate_decoding);
	tcase_add_test(tc, streamed_reads_fd_and_caps);
	tcase_add_test(tc, request_bodies_and_headers);
	tcase_add_test(tc, expect_100_continue);
	tcase_add_loop_test(tc, short_transfers_under_faults, 0,
			    (int)(sizeof fault_specs / sizeof fault_specs[0]));
	suite_add_tcase(s, tc);
	tcase_set_timeout(tn, TH_TIMEOUT);
	tcase_add_test(tn, against_nginx);
	tcase_add_test(tn, against_python_http_server);
	suite_add_tcase(s, tn);
	return th_main(s);
}
