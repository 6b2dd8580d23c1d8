/* tests/http/test_client_form.c: form bodies through the HTTP client, against corio servers
 * in the test: urlencoded bytes exact, multipart bytes exact (a known boundary through the
 * internal hook), a 10 MiB file streamed (the server checks length and checksum), a file
 * that vanished (-ENOENT before anything is sent), files that shrink or grow while sent
 * (-EIO, the server sees a cut body), a 307 and a retry that replay the form, a 303 that
 * drops it, a file that is not a regular file (chunked, not replayable), bad arguments. */
#define _GNU_SOURCE
#include <linux/sockios.h>
#include <malloc.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <zlib.h>

#include "tests/support/helpers.h"
#include "tests/http/client_helpers.h"

#include "http/client/form.h"

/* A scratch directory per test (CK_FORK: each test is its own process). */
static char g_dir[64];

static const char *scratch(const char *name)
{
	static char path[2][128];
	static int k;

	if (!g_dir[0]) {
		snprintf(g_dir, sizeof g_dir, "/tmp/corio-form-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(g_dir));
	}
	k ^= 1;
	snprintf(path[k], sizeof path[k], "%s/%s", g_dir, name);
	return path[k];
}

static void put_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void cleanup(void)
{
	char cmd[128];

	if (g_dir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}

/* 200 (the test reads the body the server logged); /r307 and /r303 redirect to /final. */
static int r_echo(srv *s, const rq *q, const char **out, size_t *len)
{
	static char buf[4096];
	const char *path = strchr(q->head, ' ') + 1;
	int code;

	(void)s;
	if (sscanf(path, "/r%d", &code) == 1)
		*len = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 %d Moved\r\nLocation: /final\r\n"
				       "Content-Length: 0\r\n\r\n", code);
	else
		*len = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	*out = buf;
	return KEEP;
}

static int post(corio_http_client *c, const char *url, const corio_http_form *f,
		const corio_http_header *h, size_t nh)
{
	struct corio_http_request req = {.url = url, .body_kind = CORIO_HTTP_BODY_FORM, .form = f,
					 .headers = h, .nheaders = nh};
	corio_http_response *r;
	int rc = corio_http_request(c, &req, &r);

	if (rc == 0) {
		rc = corio_http_response_status(r);
		corio_http_response_free(r);
	}
	return rc;
}

static const char *body_of(srv *s, int n, size_t *len)
{
	*len = s->blen[n - 1];
	return s->bodies[n - 1];
}

static void *t_urlencoded(ctx *x)
{
	static const char want[] = "name=J+Doe&q=a%26b%3Dc%2F%7E*-._%21%2B&utf8=%C3%A9&empty=&%3D=%0D%0A";
	static const corio_http_header ct[] = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
	corio_http_form *f = corio_http_form_new(false);
	const char *h, *b;
	size_t len;

	TH_CHECK(f && strcmp(corio_http_form_content_type(f), "application/x-www-form-urlencoded") == 0);
	TH_CHECK(corio_http_form_add(f, "name", "J Doe") == 0);
	TH_CHECK(corio_http_form_add(f, "q", "a&b=c/~*-._!+") == 0);
	TH_CHECK(corio_http_form_add(f, "utf8", "\xc3\xa9") == 0);
	TH_CHECK(corio_http_form_add(f, "empty", "") == 0);
	TH_CHECK(corio_http_form_add(f, "=", "\r\n") == 0);
	/* bad input */
	TH_CHECK(corio_http_form_add(f, NULL, "x") == -EINVAL);
	TH_CHECK(corio_http_form_add(f, "x", NULL) == -EINVAL);
	TH_CHECK(corio_http_form_add_file(f, "f", "/etc/hostname", NULL, NULL) == -EINVAL);
	TH_CHECK(corio_http_form_add_data(f, "d", "x", 1, "x.bin", NULL) == -EINVAL);
	TH_CHECK(post(x->c, u(x, 0, "/form"), f, NULL, 0) == 200);
	h = head_of(&x->s[0], 1);
	TH_CHECK(strncmp(h, "POST /form HTTP/1.1\r\n", 21) == 0); /* POST by default */
	TH_CHECK(strstr(h, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
	TH_CHECK(strstr(h, "\r\nContent-Length: 68\r\n") && sizeof want - 1 == 68);
	b = body_of(&x->s[0], 1, &len);
	TH_CHECK(len == sizeof want - 1 && memcmp(b, want, len) == 0);
	/* the caller's Content-Type wins, and a method given is kept */
	TH_CHECK(post(x->c, u(x, 0, "/form"), f, ct, 1) == 200);
	h = head_of(&x->s[0], 2);
	TH_CHECK(strstr(h, "\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"));
	TH_CHECK(!strstr(h, "urlencoded\r\n"));
	{
		struct corio_http_request req = {.method = "PUT", .url = u(x, 0, "/p"),
						 .body_kind = CORIO_HTTP_BODY_FORM};
		corio_http_response *r;

		TH_CHECK(corio_http_request(x->c, &req, &r) == -EINVAL); /* no form */
		req.form = f;
		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		corio_http_response_free(r);
		TH_CHECK(strncmp(head_of(&x->s[0], 3), "PUT /p ", 7) == 0);
	}
	/* an empty form is an empty body */
	corio_http_form_free(f);
	f = corio_http_form_new(false);
	TH_CHECK(post(x->c, u(x, 0, "/e"), f, NULL, 0) == 200);
	TH_CHECK(strstr(head_of(&x->s[0], 4), "\r\nContent-Length: 0\r\n"));
	corio_http_form_free(f);
	return TH_OK;
}

/* Runs body against one server answering with respond, ud in x.ud. */
static void run_one(body_fn body, respond_fn respond, void *ud)
{
	ctx x = {.nsrv = 1, .body = body, .ud = ud};

	x.s[0].respond = respond;
	RUN_CTX(x);
}

START_TEST(urlencoded_bytes_exact)
{
	run_one(t_urlencoded, r_echo, NULL);
}
END_TEST

static const char multipart_want[] =
	"--XyZ\r\n"
	"Content-Disposition: form-data; name=\"field\"\r\n"
	"\r\n"
	"value 1\r\n"
	"--XyZ\r\n"
	"Content-Disposition: form-data; name=\"q%22x%0D%0Ay\"; filename=\"a%22b.txt\"\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"hello data\r\n"
	"--XyZ\r\n"
	"Content-Disposition: form-data; name=\"up\"; filename=\"small.json\"\r\n"
	"Content-Type: application/json\r\n"
	"\r\n"
	"{\"k\":1}\r\n"
	"--XyZ\r\n"
	"Content-Disposition: form-data; name=\"named\"; filename=\"other.bin\"\r\n"
	"Content-Type: image/x-mine\r\n"
	"\r\n"
	"{\"k\":1}\r\n"
	"--XyZ--\r\n";

static corio_http_form *multipart_form(void)
{
	corio_http_form *f = corio_http_form_new(true);
	const char *path = scratch("small.json");

	put_file(path, "{\"k\":1}", 7);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(corio__hclient_form_boundary(f, "XyZ"), 0);
	ck_assert_int_eq(corio_http_form_add(f, "field", "value 1"), 0);
	ck_assert_int_eq(corio_http_form_add_data(f, "q\"x\r\ny", "hello data", 10, "a\"b.txt", NULL), 0);
	ck_assert_int_eq(corio_http_form_add_file(f, "up", path, NULL, NULL), 0);
	ck_assert_int_eq(corio_http_form_add_file(f, "named", path, "other.bin", "image/x-mine"), 0);
	return f;
}

static void *t_multipart(ctx *x)
{
	corio_http_form *f = x->ud, *g = corio_http_form_new(true), *h = corio_http_form_new(true);
	const char *b, *ct;
	char want_cl[64];
	size_t len;

	TH_CHECK(post(x->c, u(x, 0, "/up"), f, NULL, 0) == 200);
	TH_CHECK(strstr(head_of(&x->s[0], 1), "\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"));
	snprintf(want_cl, sizeof want_cl, "\r\nContent-Length: %zu\r\n", sizeof multipart_want - 1);
	TH_CHECK(strstr(head_of(&x->s[0], 1), want_cl));
	b = body_of(&x->s[0], 1, &len);
	TH_CHECK(len == sizeof multipart_want - 1 && memcmp(b, multipart_want, len) == 0);
	/* random boundaries: long, and two forms never share one */
	ct = corio_http_form_content_type(g);
	TH_CHECK(g && h && strncmp(ct, "multipart/form-data; boundary=", 30) == 0);
	TH_CHECK(strlen(ct + 30) >= 32 && strcmp(ct, corio_http_form_content_type(h)) != 0);
	/* bad input */
	TH_CHECK(corio__hclient_form_boundary(g, "bad boundary\r\n") == -EINVAL);
	TH_CHECK(corio_http_form_add_file(g, "f", NULL, NULL, NULL) == -EINVAL);
	TH_CHECK(corio_http_form_add_file(g, "f", "/x", NULL, "text/plain\r\nX-Evil: 1") == -EINVAL);
	TH_CHECK(corio_http_form_add_data(g, "d", NULL, 3, NULL, NULL) == -EINVAL);
	/* a form of text fields only is sent from memory, with its length */
	TH_CHECK(corio__hclient_form_boundary(g, "b") == 0);
	TH_CHECK(corio_http_form_add(g, "a", "1") == 0);
	TH_CHECK(post(x->c, u(x, 0, "/t"), g, NULL, 0) == 200);
	b = body_of(&x->s[0], 2, &len);
	TH_CHECK(len == 59 && memcmp(b, "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--\r\n", 59) == 0);
	corio_http_form_free(g);
	corio_http_form_free(h);
	return TH_OK;
}

/* Runs body against one server with multipart_form() in x.ud. */
static void with_multipart_form(body_fn body, respond_fn respond)
{
	corio_http_form *f = multipart_form();

	run_one(body, respond, f);
	corio_http_form_free(f);
	cleanup();
}

START_TEST(multipart_bytes_exact)
{
	with_multipart_form(t_multipart, r_echo);
}
END_TEST

static void *t_replay(ctx *x)
{
	corio_http_form *f = x->ud;
	const char *h, *b1, *b2;
	size_t l1, l2;

	/* 307: the same method and the same bytes again, the file read once more */
	TH_CHECK(post(x->c, u(x, 0, "/r307"), f, NULL, 0) == 200);
	TH_CHECK(x->s[0].requests == 2);
	b1 = body_of(&x->s[0], 1, &l1);
	b2 = body_of(&x->s[0], 2, &l2);
	TH_CHECK(l1 == sizeof multipart_want - 1 && l2 == l1 && memcmp(b1, b2, l1) == 0);
	h = head_of(&x->s[0], 2);
	TH_CHECK(strncmp(h, "POST /final ", 12) == 0 && strstr(h, "boundary=XyZ\r\n"));
	/* 303: a GET without the body or its headers */
	TH_CHECK(post(x->c, u(x, 0, "/r303"), f, NULL, 0) == 200);
	h = head_of(&x->s[0], 4);
	TH_CHECK(strncmp(h, "GET /final ", 11) == 0);
	TH_CHECK(!strcasestr(h, "Content-Type") && !strcasestr(h, "Content-Length"));
	return TH_OK;
}

START_TEST(redirect_307_replays_the_form)
{
	with_multipart_form(t_replay, r_echo);
}
END_TEST

/* The second request on every connection is read whole and dropped without an answer. */
static int r_drop_second(srv *s, const rq *q, const char **out, size_t *len)
{
	if (q->conn_req == 2)
		return NOANSWER;
	return r_echo(s, q, out, len);
}

static void *t_retry(ctx *x)
{
	struct corio_http_request req = {.method = "PUT", .url = u(x, 0, "/put"),
					 .body_kind = CORIO_HTTP_BODY_FORM, .form = x->ud};
	corio_http_client_stats st;
	corio_http_response *r;
	const char *b;
	size_t len;

	for (int i = 0; i < 2; i++) {
		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 200);
		corio_http_response_free(r);
	}
	/* the second went out whole on the reused connection, was dropped, and was sent again
	 * on a new one: the file read from its start once more */
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.retries == 1 && x->s[0].accepts == 2 && x->s[0].requests == 3);
	for (int n = 1; n <= 3; n++) {
		b = body_of(&x->s[0], n, &len);
		TH_CHECK(len == sizeof multipart_want - 1 && memcmp(b, multipart_want, len) == 0);
	}
	return TH_OK;
}

START_TEST(retry_on_reused_connection_replays_the_form)
{
	with_multipart_form(t_retry, r_drop_second);
}
END_TEST

static void *t_not_regular(ctx *x)
{
	corio_http_form *f = corio_http_form_new(true);
	const char *h, *b;
	size_t len;

	TH_CHECK(corio__hclient_form_boundary(f, "B") == 0);
	TH_CHECK(corio_http_form_add_file(f, "n", "/dev/null", NULL, NULL) == 0);
	TH_CHECK(post(x->c, u(x, 0, "/up"), f, NULL, 0) == 200);
	h = head_of(&x->s[0], 1);
	TH_CHECK(strstr(h, "\r\nTransfer-Encoding: chunked\r\n") && !strstr(h, "Content-Length"));
	b = body_of(&x->s[0], 1, &len);
	TH_CHECK(len == 115 && memcmp(b, "--B\r\nContent-Disposition: form-data; name=\"n\"; "
				       "filename=\"null\"\r\nContent-Type: application/octet-stream"
				       "\r\n\r\n\r\n--B--\r\n", len) == 0);
	/* it cannot be read twice: a 307 is handed over as it is */
	TH_CHECK(post(x->c, u(x, 0, "/r307"), f, NULL, 0) == 307);
	TH_CHECK(x->s[0].requests == 2);
	/* a directory is no file to send */
	TH_CHECK(corio_http_form_add_file(f, "d", "/", "d", NULL) == 0);
	TH_CHECK(post(x->c, u(x, 0, "/up"), f, NULL, 0) == -EISDIR);
	corio_http_form_free(f);
	return TH_OK;
}

START_TEST(file_not_regular_is_chunked)
{
	run_one(t_not_regular, r_echo, NULL);
}
END_TEST

static void *t_vanished(ctx *x)
{
	corio_http_form *f = corio_http_form_new(true);
	const char *path = scratch("gone.txt");

	put_file(path, "x", 1);
	TH_CHECK(corio_http_form_add(f, "a", "1") == 0);
	TH_CHECK(corio_http_form_add_file(f, "f", path, NULL, NULL) == 0);
	TH_CHECK(unlink(path) == 0);
	TH_CHECK(post(x->c, u(x, 0, "/up"), f, NULL, 0) == -ENOENT);
	TH_CHECK(x->s[0].accepts == 0); /* failed before any connection */
	put_file(path, "back", 4);
	TH_CHECK(post(x->c, u(x, 0, "/up"), f, NULL, 0) == 200);
	corio_http_form_free(f);
	return TH_OK;
}

START_TEST(vanished_file_enoent)
{
	run_one(t_vanished, r_echo, NULL);
	cleanup();
}
END_TEST

/* ---- big files: a server that counts and checksums what it receives ------------------- */

enum { BIG_PLAIN, BIG_SHRINK, BIG_GROW };

typedef struct big_srv {
	int lfd, port, mode;
	const char *path;       /* the file to change (SHRINK, GROW) */
	int64_t content_length; /* -1: none */
	uint64_t received;
	uLong crc;
	bool complete;
	size_t heap_peak;       /* heap in use while the body came, beyond the start */
	size_t heap_base;
} big_srv;

static size_t heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd; /* big blocks are mmapped: hblkhd */
}

/* The server's reaction to the head, in the middle of the upload. */
static void big_mutate(big_srv *b)
{
	if (b->mode == BIG_SHRINK)
		ck_assert_int_eq(truncate(b->path, 1 << 20), 0);
	else if (b->mode == BIG_GROW)
		ck_assert_int_eq(truncate(b->path, (64 << 20) + 4096), 0);
}

static void *big_serve(void *arg)
{
	big_srv *b = arg;
	char *buf = malloc(65536), *end, resp[128];
	int fd = corio_accept(b->lfd, NULL, NULL);
	size_t have = 0, hlen;
	ssize_t n;

	b->crc = crc32(0, NULL, 0);
	while (fd >= 0 && !(end = memmem(buf, have, "\r\n\r\n", 4)) &&
	       (n = corio_recv(fd, buf + have, 65536 - have, 0)) > 0)
		have += (size_t)n;
	if (fd < 0 || !end)
		goto out;
	hlen = (size_t)(end - buf) + 4;
	b->content_length = strcasestr(buf, "\r\nContent-Length: ")
				    ? strtoll(strcasestr(buf, "\r\nContent-Length: ") + 18, NULL, 10)
				    : -1;
	big_mutate(b);
	b->crc = crc32(b->crc, (const Bytef *)buf + hlen, (uInt)(have - hlen));
	b->received = have - hlen;
	while (b->content_length >= 0 && b->received < (uint64_t)b->content_length &&
	       (n = corio_recv(fd, buf, 65536, 0)) > 0) {
		b->crc = crc32(b->crc, (const Bytef *)buf, (uInt)n);
		b->received += (uint64_t)n;
		if (heap_in_use() > b->heap_base && heap_in_use() - b->heap_base > b->heap_peak)
			b->heap_peak = heap_in_use() - b->heap_base;
	}
	b->complete = b->content_length >= 0 && b->received == (uint64_t)b->content_length;
	if (b->complete) {
		int k = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

		corio_send_all(fd, resp, (size_t)k);
	}
out:
	if (fd >= 0)
		corio_close(fd);
	free(buf);
	return NULL;
}

/* Sends a form of one file part (boundary "B") to a big_srv; the request's result. */
static void *big_run(void *arg)
{
	big_srv *b = arg;
	corio_http_client *c = corio_http_client_new(NULL);
	corio_http_form *f = corio_http_form_new(true);
	corio_task *t;
	char url[64];
	int rc;

	b->lfd = corio_tcp_listen("127.0.0.1", "0", 8);
	b->port = corio_sock_port(b->lfd);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/big", b->port);
	corio__hclient_form_boundary(f, "B");
	corio_http_form_add_file(f, "f", b->path, "f.bin", "application/octet-stream");
	t = corio_spawn(big_serve, b);
	b->heap_base = heap_in_use();
	rc = post(c, url, f, NULL, 0);
	corio_join(t, NULL);
	corio_close(b->lfd);
	corio_http_form_free(f);
	corio_http_client_free(c);
	return (void *)(intptr_t)rc;
}

#define BIG_HEAD "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.bin\"\r\n" \
		 "Content-Type: application/octet-stream\r\n\r\n"
#define BIG_TAIL "\r\n--B--\r\n"

START_TEST(file_10mib_streamed)
{
	size_t size = 10u << 20;
	unsigned char *data = malloc(size);
	big_srv b = {.mode = BIG_PLAIN, .path = scratch("big.bin")};
	uLong want = crc32(0, NULL, 0);
	intptr_t rc;

	for (size_t i = 0; i < size; i++)
		data[i] = big_at(i);
	put_file(b.path, data, size);
	want = crc32(want, (const Bytef *)BIG_HEAD, (sizeof BIG_HEAD - 1));
	want = crc32(want, data, (uInt)size);
	want = crc32(want, (const Bytef *)BIG_TAIL, (sizeof BIG_TAIL - 1));
	free(data);
	rc = (intptr_t)TH_RUN(big_run, &b);
	ck_assert_int_eq(rc, 200);
	ck_assert_int_eq(b.content_length, (int64_t)((sizeof BIG_HEAD - 1) + size + (sizeof BIG_TAIL - 1)));
	ck_assert(b.complete);
	ck_assert_uint_eq(b.crc, want);
	/* streamed: the client held pieces, never the file (ASan's allocator is not malloc's) */
	if (!TH_ASAN)
		ck_assert_msg(b.heap_peak < (2u << 20), "heap grew by %zu", b.heap_peak);
	cleanup();
}
END_TEST

static void changed_mid_upload(int mode)
{
	big_srv b = {.mode = mode, .path = scratch("sparse.bin")};
	int fd = open(b.path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	intptr_t rc;

	/* 64 MiB, sparse: more than the socket buffers hold, so the change comes mid-body */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 64 << 20), 0);
	close(fd);
	rc = (intptr_t)TH_RUN(big_run, &b);
	ck_assert_int_eq(rc, -EIO);
	ck_assert_int_eq(b.content_length, (int64_t)((sizeof BIG_HEAD - 1) + (64 << 20) + (sizeof BIG_TAIL - 1)));
	ck_assert(!b.complete);
	ck_assert_uint_lt(b.received, (uint64_t)b.content_length);
	cleanup();
}

START_TEST(file_shrinks_mid_upload_eio)
{
	changed_mid_upload(BIG_SHRINK);
}
END_TEST

START_TEST(file_grows_mid_upload_eio)
{
	changed_mid_upload(BIG_GROW);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_client_form");

	TH_TCASE(s, "form", TH_TIMEOUT, urlencoded_bytes_exact, multipart_bytes_exact,
		 redirect_307_replays_the_form, retry_on_reused_connection_replays_the_form,
		 file_not_regular_is_chunked, vanished_file_enoent,
		 file_10mib_streamed, file_shrinks_mid_upload_eio, file_grows_mid_upload_eio);
	return th_main(s);
}
