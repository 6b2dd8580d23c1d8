/* tests/http/test_access_log.c: the server's access log (http/server/access_log.c): Common and
 * Combined lines for GET/HEAD/POST parsed back (status, bytes, request line, referer,
 * user agent), escaping of hostile fields, the server's own 400 logged, lines through the
 * logger, a two-loop server logging every request once without torn lines, the lines
 * written before serve returns and when 64 KiB accumulate, a response cut by the client,
 * an unwritable file reported once while the server keeps serving, and the getters. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <corio/http_server.h>

#include "tests/support/helpers.h"
#include "tests/http/server_helpers.h"

static char log_dir[64], log_path[128];

static void setup(void)
{
	snprintf(log_dir, sizeof log_dir, "/tmp/corio-alog-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(log_dir));
	snprintf(log_path, sizeof log_path, "%s/access.log", log_dir);
}

static void teardown(void)
{
	unlink(log_path);
	rmdir(log_dir);
}

/* ---- parsing lines back ------------------------------------------------------------------- */

typedef struct entry {
	char host[64], date[64], req[4096], referer[4096], ua[4096];
	int status;
	long long bytes; /* -1 for "-" */
} entry;

/* A quoted field at *p (escapes kept as written); p moves past it. */
static bool quoted(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	if (*s++ != '"')
		return false;
	while (*s && *s != '"') {
		if (*s == '\\' && s[1])
			out[n++] = *s++;
		if (n + 2 >= cap)
			return false;
		out[n++] = *s++;
	}
	if (*s != '"')
		return false;
	out[n] = 0;
	*p = s + 1;
	return true;
}

/* One line (without its newline); combined adds referer and user agent. */
static bool parse(const char *line, entry *e, bool combined)
{
	const char *p;
	char bytes[32];
	int n = 0;

	memset(e, 0, sizeof *e);
	if (sscanf(line, "%63s - - [%63[^]]] %n", e->host, e->date, &n) != 2 || n == 0)
		return false;
	p = line + n;
	if (!quoted(&p, e->req, sizeof e->req))
		return false;
	n = 0;
	if (sscanf(p, " %d %31s%n", &e->status, bytes, &n) != 2)
		return false;
	p += n;
	e->bytes = strcmp(bytes, "-") ? atoll(bytes) : -1;
	if (!combined)
		return *p == 0;
	if (*p++ != ' ' || !quoted(&p, e->referer, sizeof e->referer) || *p++ != ' ' ||
	    !quoted(&p, e->ua, sizeof e->ua))
		return false;
	return *p == 0;
}

/* The log file's lines (malloc'ed copy, newlines made NULs); *n of them. */
static char **read_lines(const char *path, int *n)
{
	static char *text;
	static char *lines[100000];
	struct stat st;
	int fd = open(path, O_RDONLY);

	*n = 0;
	free(text);
	text = NULL;
	if (fd < 0 || fstat(fd, &st) != 0)
		return lines;
	text = calloc(1, (size_t)st.st_size + 1);
	if (read(fd, text, (size_t)st.st_size) != st.st_size)
		*n = -1;
	close(fd);
	for (char *s = text; *n >= 0 && *s && *n < 100000;) {
		char *nl = strchr(s, '\n');

		if (!nl) {
			*n = -1; /* a torn last line */
			break;
		}
		*nl = 0;
		lines[(*n)++] = s;
		s = nl + 1;
	}
	return lines;
}

static bool date_ok(const char *d)
{
	int day, year, h, m, s;
	char mon[4];

	return strlen(d) == 26 && sscanf(d, "%2d/%3s/%4d:%2d:%2d:%2d +0000", &day, mon, &year, &h,
					 &m, &s) == 6 && strstr("JanFebMarAprMayJunJulAugSepOctNovDec", mon);
}

/* ---- GET, HEAD, POST, 204 and the combined fields ----------------------------------------- */

static void *t_lines(void *arg)
{
	corio_http_server_opts o;
	srvctx x;
	cli c;
	resp r;
	entry e;
	char **l;
	int n;

	corio_http_server_opts_init(&o);
	o.access_log = arg;
	TH_CHECK(srv_start(&x, &o) == 0);
	TH_CHECK(cli_open(&c, x.port) >= 0);
	TH_CHECK(cli_send(&c, "GET /?a=1 HTTP/1.1\r\nHost: t\r\nReferer: http://r/x\r\n"
			      "User-Agent: curl/8.0\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
	resp_free(&r);
	TH_CHECK(cli_send(&c, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, true) == 0 && r.status == 200);
	resp_free(&r);
	TH_CHECK(cli_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && r.blen == 5);
	resp_free(&r);
	TH_CHECK(cli_send(&c, "GET /nocontent HTTP/1.0\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 204);
	resp_free(&r);
	cli_close(&c);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	l = read_lines(log_path, &n);
	TH_CHECK(n == 4);
	TH_CHECK(parse(l[0], &e, true) && !strcmp(e.host, "127.0.0.1") && date_ok(e.date));
	TH_CHECK(!strcmp(e.req, "GET /?a=1 HTTP/1.1") && e.status == 200 && e.bytes == 12);
	TH_CHECK(!strcmp(e.referer, "http://r/x") && !strcmp(e.ua, "curl/8.0"));
	TH_CHECK(parse(l[1], &e, true) && !strcmp(e.req, "HEAD / HTTP/1.1"));
	TH_CHECK(e.status == 200 && e.bytes == -1 && !strcmp(e.referer, "-") && !strcmp(e.ua, "-"));
	TH_CHECK(parse(l[2], &e, true) && !strcmp(e.req, "POST /echo HTTP/1.1"));
	TH_CHECK(e.status == 200 && e.bytes == 5);
	TH_CHECK(parse(l[3], &e, true) && !strcmp(e.req, "GET /nocontent HTTP/1.0"));
	TH_CHECK(e.status == 204 && e.bytes == -1);
	return TH_OK;
}

START_TEST(lines_combined)
{
	corio_http_access_log *log = corio_http_access_log_new(log_path, CORIO_HTTP_LOG_COMBINED);

	ck_assert_ptr_nonnull(log);
	RUN_OK(t_lines, log);
	corio_http_access_log_free(log);
}
END_TEST

/* Common: the same request has no referer or user agent after the bytes. */
static void *t_common(void *arg)
{
	corio_http_server_opts o;
	srvctx x;
	resp r;
	entry e;
	char **l;
	int n;

	corio_http_server_opts_init(&o);
	o.access_log = arg;
	TH_CHECK(srv_start(&x, &o) == 0);
	TH_CHECK(once(x.port, "GET /missing HTTP/1.1\r\nHost: t\r\nUser-Agent: u\r\n\r\n", &r,
		      NULL) == 0 && r.status == 404);
	resp_free(&r);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	l = read_lines(log_path, &n);
	TH_CHECK(n == 1 && parse(l[0], &e, false));
	TH_CHECK(!strcmp(e.req, "GET /missing HTTP/1.1") && e.status == 404);
	TH_CHECK(e.bytes == (long long)strlen("404 Not Found\n"));
	return TH_OK;
}

START_TEST(lines_common)
{
	corio_http_access_log *log = corio_http_access_log_new(log_path, CORIO_HTTP_LOG_COMMON);

	ck_assert_ptr_nonnull(log);
	RUN_OK(t_common, log);
	corio_http_access_log_free(log);
	ck_assert_ptr_null(corio_http_access_log_new(log_path, 7));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(corio_http_access_log_new("/nonexistent-dir/x.log", 0));
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* ---- hostile fields and the server's own answers ------------------------------------------ */

static void *t_hostile(void *arg)
{
	corio_http_server_opts o;
	srvctx x;
	resp r;
	entry e;
	char **l;
	int n;

	corio_http_server_opts_init(&o);
	o.access_log = arg;
	TH_CHECK(srv_start(&x, &o) == 0);
	/* A user agent that tries to end the field and write a line of its own. */
	TH_CHECK(once(x.port, "GET /a\\b HTTP/1.1\r\nHost: t\r\n"
			      "User-Agent: x\" 200 1 \"-\" \"\t\xff\\\r\n\r\n", &r, NULL) == 0);
	resp_free(&r);
	TH_CHECK(once(x.port, "GARBAGE\r\n\r\n", &r, NULL) == 0 && r.status == 400);
	resp_free(&r);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	l = read_lines(log_path, &n);
	TH_CHECK(n == 2);
	TH_CHECK(parse(l[0], &e, true) && !strcmp(e.req, "GET /a\\\\b HTTP/1.1"));
	TH_CHECK(!strcmp(e.ua, "x\\\" 200 1 \\\"-\\\" \\\"\\x09\\xFF\\\\"));
	TH_CHECK(parse(l[1], &e, true) && !strcmp(e.req, "-") && e.status == 400);
	TH_CHECK(e.bytes == (long long)strlen("400 Bad Request\n"));
	return TH_OK;
}

START_TEST(hostile_fields)
{
	corio_http_access_log *log = corio_http_access_log_new(log_path, CORIO_HTTP_LOG_COMBINED);

	ck_assert_ptr_nonnull(log);
	RUN_OK(t_hostile, log);
	corio_http_access_log_free(log);
}
END_TEST

/* ---- through the logger ------------------------------------------------------------------- */

static pthread_mutex_t cap_mu = PTHREAD_MUTEX_INITIALIZER;
static char cap_text[1 << 16];
static int cap_info, cap_error;

static void capture(int level, const char *msg, void *ud)
{
	pthread_mutex_lock(&cap_mu);
	if (level == CORIO_LOG_INFO)
		cap_info++;
	if (level == CORIO_LOG_ERROR)
		cap_error++;
	if (strlen(cap_text) + strlen(msg) + 2 < sizeof cap_text) {
		strcat(cap_text, msg);
		strcat(cap_text, "\n");
	}
	pthread_mutex_unlock(&cap_mu);
}

static void *t_to_logger(void *arg)
{
	corio_http_server_opts o;
	srvctx x;
	resp r;
	entry e;

	corio_http_server_opts_init(&o);
	o.access_log = arg;
	TH_CHECK(srv_start(&x, &o) == 0);
	TH_CHECK(once(x.port, "GET /info HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	resp_free(&r);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	TH_CHECK(cap_info == 1 && cap_error == 0);
	cap_text[strlen(cap_text) - 1] = 0; /* our newline */
	TH_CHECK(parse(cap_text, &e, false) && !strcmp(e.req, "GET /info HTTP/1.1"));
	TH_CHECK(e.status == 200 && e.bytes > 0);
	return TH_OK;
}

START_TEST(through_logger)
{
	corio_http_access_log *log = corio_http_access_log_new(NULL, CORIO_HTTP_LOG_COMMON);

	ck_assert_ptr_nonnull(log);
	corio_set_logger(capture, NULL);
	RUN_OK(t_to_logger, log);
	corio_set_logger(NULL, NULL);
	corio_http_access_log_free(log);
}
END_TEST

/* ---- two loops, many connections ---------------------------------------------------------- */

#define MANY 400
#define CONNS 8

typedef struct burst {
	int port, first;
} burst;

static void *client_burst(void *arg)
{
	burst *b = arg;
	char req[128];
	cli c;
	resp r;

	TH_CHECK(cli_open(&c, b->port) >= 0);
	for (int i = b->first; i < MANY; i += CONNS) {
		snprintf(req, sizeof req, "GET /?id=%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
		TH_CHECK(cli_send(&c, req) == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
		resp_free(&r);
	}
	cli_close(&c);
	return TH_OK;
}

static void *t_threads(void *arg)
{
	corio_http_server_opts o;
	corio_task *t[CONNS];
	burst b[CONNS];
	static char seen[MANY];
	void *res[CONNS];
	srvctx x;
	entry e;
	char **l;
	int n;

	corio_http_server_opts_init(&o);
	o.access_log = arg;
	o.threads = 2;
	TH_CHECK(srv_start(&x, &o) == 0);
	for (int i = 0; i < CONNS; i++) {
		b[i] = (burst){ x.port, i };
		TH_CHECK((t[i] = corio_spawn(client_burst, &b[i])));
	}
	TH_CHECK(corio_gather(t, CONNS, res) == 0);
	for (int i = 0; i < CONNS; i++)
		TH_CHECK(res[i] == TH_OK);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	l = read_lines(log_path, &n);
	TH_CHECK(n == MANY);
	memset(seen, 0, sizeof seen);
	for (int i = 0; i < n; i++) {
		int id = -1;

		TH_CHECK(parse(l[i], &e, true) && e.status == 200 && e.bytes == 12);
		TH_CHECK(sscanf(e.req, "GET /?id=%d HTTP/1.1", &id) == 1 && id >= 0 && id < MANY);
		TH_CHECK(!seen[id]++);
	}
	return TH_OK;
}

START_TEST(two_loops)
{
	corio_http_access_log *log = corio_http_access_log_new(log_path, CORIO_HTTP_LOG_COMBINED);

	ck_assert_ptr_nonnull(log);
	RUN_OK(t_threads, log);
	corio_http_access_log_free(log);
}
END_TEST

/* ---- when lines are written --------------------------------------------------------------- */

/* 64 KiB of lines are written while serving (the connection that crossed the mark writes
 * them), the rest when serving ends. */
static void *t_flush_points(void *arg)
{
	static char target[1100];
	corio_http_server_opts o;
	char req[1300];
	struct stat st;
	srvctx x;
	cli c;
	resp r;
	int n, i;

	corio_http_server_opts_init(&o);
	o.access_log = arg;
	TH_CHECK(srv_start(&x, &o) == 0);
	memset(target, 'a', sizeof target - 1);
	TH_CHECK(cli_open(&c, x.port) >= 0);
	for (i = 0; i < 70; i++) { /* 70 lines of more than 1 KiB */
		snprintf(req, sizeof req, "GET /?%s HTTP/1.1\r\nHost: t\r\n\r\n", target);
		TH_CHECK(cli_send(&c, req) == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
		resp_free(&r);
	}
	TH_CHECK(stat(log_path, &st) == 0 && st.st_size >= 64 << 10);
	TH_CHECK(cli_send(&c, "GET /last HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 404);
	resp_free(&r);
	cli_close(&c);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	read_lines(log_path, &n);
	TH_CHECK(n == 71);
	return TH_OK;
}

START_TEST(flush_points)
{
	corio_http_access_log *log = corio_http_access_log_new(log_path, CORIO_HTTP_LOG_COMMON);

	ck_assert_ptr_nonnull(log);
	RUN_OK(t_flush_points, log);
	corio_http_access_log_free(log);
}
END_TEST

/* A client that stops reading and goes away mid-body: the line has what was handed to the
 * socket, less than the whole body. */
#define CHUNK (64u << 10)
#define NCHUNKS 1024 /* 64 MiB: more than loopback's buffers can hold */

static void big_handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	static char chunk[CHUNK];

	corio_http_out_length(resp, (uint64_t)CHUNK * NCHUNKS);
	for (int i = 0; i < NCHUNKS; i++)
		if (corio_http_out_write(resp, chunk, CHUNK) < 0)
			break;
}

static void *t_cut(void *arg)
{
	corio_http_server_opts o;
	char buf[4096];
	srvctx x;
	entry e;
	char **l;
	cli c;
	int n;

	corio_http_server_opts_init(&o);
	o.access_log = arg;
	TH_CHECK(srv_start_with(&x, &o, big_handler, NULL) == 0);
	TH_CHECK(cli_open(&c, x.port) >= 0);
	TH_CHECK(cli_send(&c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(corio_recv(c.fd, buf, sizeof buf, 0) > 0);
	cli_close(&c); /* unread data: the kernel resets the connection */
	TH_CHECK(srv_stop(&x, CORIO_SEC(5)) == 0);
	l = read_lines(log_path, &n);
	TH_CHECK(n == 1 && parse(l[0], &e, false) && e.status == 200);
	TH_CHECK(e.bytes > 0 && e.bytes < (long long)CHUNK * NCHUNKS);
	return TH_OK;
}

START_TEST(client_vanishes)
{
	corio_http_access_log *log = corio_http_access_log_new(log_path, CORIO_HTTP_LOG_COMMON);

	ck_assert_ptr_nonnull(log);
	RUN_OK(t_cut, log);
	corio_http_access_log_free(log);
}
END_TEST

/* /dev/full: every write fails with ENOSPC. Reported once; every request still answered. */
static void *t_unwritable(void *arg)
{
	static char target[1100];
	corio_http_server_opts o;
	char req[1300];
	srvctx x;
	cli c;
	resp r;

	corio_http_server_opts_init(&o);
	o.access_log = arg;
	TH_CHECK(srv_start(&x, &o) == 0);
	memset(target, 'a', sizeof target - 1);
	TH_CHECK(cli_open(&c, x.port) >= 0);
	for (int i = 0; i < 150; i++) { /* two 64 KiB flushes fail while serving */
		snprintf(req, sizeof req, "GET /?%s HTTP/1.1\r\nHost: t\r\n\r\n", target);
		TH_CHECK(cli_send(&c, req) == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
		resp_free(&r);
	}
	cli_close(&c);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	TH_CHECK(cap_error == 1 && cap_info == 0);
	TH_CHECK(strstr(cap_text, "access log: No space left on device"));
	return TH_OK;
}

START_TEST(unwritable_file)
{
	corio_http_access_log *log = corio_http_access_log_new("/dev/full", CORIO_HTTP_LOG_COMMON);

	ck_assert_ptr_nonnull(log);
	corio_set_logger(capture, NULL);
	RUN_OK(t_unwritable, log);
	corio_set_logger(NULL, NULL);
	corio_http_access_log_free(log);
}
END_TEST

/* ---- the getters -------------------------------------------------------------------------- */

static int g_status;
static uint64_t g_bytes_before, g_bytes_after;
static char g_peer[64];

static void getter_handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	if (corio_http_in_peer(req, (struct sockaddr *)&sin, &len) == 0)
		inet_ntop(AF_INET, &sin.sin_addr, g_peer, sizeof g_peer);
	corio_http_out_status(resp, 201);
	g_status = corio_http_out_status_code(resp);
	g_bytes_before = corio_http_out_bytes(resp);
	corio_http_out_send(resp, "made", 4);
	g_bytes_after = corio_http_out_bytes(resp);
}

static void *t_getters(void *arg)
{
	srvctx x;
	resp r;

	TH_CHECK(srv_start_with(&x, NULL, getter_handler, NULL) == 0);
	TH_CHECK(once(x.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
	TH_CHECK(r.status == 201);
	resp_free(&r);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	TH_CHECK(g_status == 201 && g_bytes_before == 0 && g_bytes_after == 4);
	TH_CHECK(!strcmp(g_peer, "127.0.0.1"));
	return TH_OK;
}

START_TEST(getters)
{
	RUN_OK(t_getters, NULL);
}
END_TEST

static Suite *access_log_suite(void)
{
	Suite *s = suite_create("access_log");
	TCase *tc = tcase_create("access_log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, lines_combined);
	tcase_add_test(tc, lines_common);
	tcase_add_test(tc, hostile_fields);
	tcase_add_test(tc, through_logger);
	tcase_add_test(tc, two_loops);
	tcase_add_test(tc, flush_points);
	tcase_add_test(tc, client_vanishes);
	tcase_add_test(tc, unwritable_file);
	tcase_add_test(tc, getters);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return th_main(access_log_suite());
}
