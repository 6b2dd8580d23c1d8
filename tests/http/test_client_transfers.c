/* tests/http/test_client_transfers.c: the HTTP/1.1 client's transfers against scripted
 * servers (exact bytes): Content-Length, chunked with trailers and connection reuse,
 * close-delimited bodies, default headers, streamed reads into memory and a descriptor with
 * size caps, request bodies from memory, a descriptor and a callback, 100-continue; and the
 * same with short reads and writes injected (CORIO_FAULTS specs in corio_config). */
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

int main(void)
{
	Suite *s = suite_create("http_client");
	TCase *tc = TH_TCASE(s, "scripted", TH_TIMEOUT, basic_get_headers_and_text, client_default_headers, chunked_with_trailers_and_reuse, close_delimited_bodies, streamed_reads_fd_and_caps, request_bodies_and_headers, expect_100_continue);

	tcase_add_loop_test(tc, short_transfers_under_faults, 0, (int)(sizeof fault_specs / sizeof fault_specs[0]));
	return th_main(s);
}
