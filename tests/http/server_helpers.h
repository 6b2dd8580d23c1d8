/* tests/http/server_helpers.h: what the HTTP server suites (tests/http/test_server_*.c)
 * share: the server under test (its handlers, started in a task of the test's loop or on its
 * own loops), raw clients sending exact bytes and reading exact answers, the files the static
 * routes serve, and RUN_OK with the fault spec a fault test sets. Everything stays on
 * 127.0.0.1; every loop run checks that no descriptor leaked (TH_RUN). */
#ifndef CORIO_TESTS_HTTP_SERVER_HELPERS_H
#define CORIO_TESTS_HTTP_SERVER_HELPERS_H

#include <fcntl.h>
#include <spawn.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <corio/http_server.h>

#include "tests/support/helpers.h"

extern char **environ;

/* Runs fn in a loop, with g_faults (a CORIO_FAULTS spec) when a fault test set it. */
/* Set by the /slow and /forever handlers when they start (when a test points it at an
 * event): a test waits for it instead of sleeping and hoping the request got there. */
static corio_event *handler_started;
static const char *g_faults;
#define RUN_OK(fn, arg)                                                                            \
	do {                                                                                       \
		corio_config cfg_ = th_config();                                                   \
		cfg_.faults = g_faults;                                                            \
		TH_RUN_EXPECT_OK(&cfg_, fn, arg);                                                  \
	} while (0)

#define CBUF (1u << 20)

/* ---- the server under test --------------------------------------------------------------- */

static char file_root[256];
static int cold_flags_after = -1; /* /cold-fd: the fd's flags once the body went out */
static void make_files(void);
static void rm_files(void);

static inline const char *cold_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", file_root, name);
	return buf;
}

static inline void handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	const char *path = corio_http_in_path(req);
	char tmp[512];

	(void)ud;
	if (!strcmp(path, "/")) {
		corio_http_out_header(resp, "Content-Type", "text/plain");
		corio_http_out_send(resp, "hello world\n", 12);
	} else if (!strcmp(path, "/echo")) {
		const char *body;
		size_t len;
		int rc = corio_http_in_body(req, &body, &len);

		if (rc < 0)
			return; /* the server answers 413 / 408 / 400 */
		snprintf(tmp, sizeof tmp, "%s", corio_http_in_method(req));
		corio_http_out_header(resp, "X-Method", tmp);
		snprintf(tmp, sizeof tmp, "%lld", (long long)corio_http_in_content_length(req));
		corio_http_out_header(resp, "X-CL", tmp);
		corio_http_out_send(resp, body, len);
	} else if (!strcmp(path, "/info")) {
		const char *v = corio_http_in_header(req, "x-TEST");

		snprintf(tmp, sizeof tmp, "%s|%s|%s|%s|%d|%zu", corio_http_in_method(req),
			 corio_http_in_target(req), corio_http_in_query(req), v ? v : "(none)",
			 corio_http_in_version(req), corio_http_in_header_count(req));
		corio_http_out_send(resp, tmp, strlen(tmp));
	} else if (!strcmp(path, "/host")) {
		/* the Host the handler sees (an absolute-form target's authority replaces it) */
		const char *h = corio_http_in_header(req, "host");

		snprintf(tmp, sizeof tmp, "%s", h ? h : "(none)");
		corio_http_out_send(resp, tmp, strlen(tmp));
	} else if (!strcmp(path, "/slow")) {
		if (handler_started)
			corio_event_set(handler_started);
		if (corio_sleep(CORIO_MS(300)) == 0)
			corio_http_out_send(resp, "slow done", 9);
	} else if (!strcmp(path, "/forever")) {
		if (handler_started)
			corio_event_set(handler_started);
		corio_sleep(CORIO_SEC(30));
	} else if (!strcmp(path, "/stream")) {
		corio_http_out_header(resp, "Content-Type", "text/plain");
		corio_http_out_write(resp, "a", 1);
		corio_http_out_write(resp, "bb", 2);
		corio_http_out_write(resp, "ccc", 3);
		corio_http_out_finish(resp);
	} else if (!strcmp(path, "/stream-len")) {
		corio_http_out_length(resp, 6);
		corio_http_out_write(resp, "abc", 3);
		corio_http_out_write(resp, "def", 3);
	} else if (!strcmp(path, "/hdrs")) {
		/* names the server writes itself: refused, or taken as the user's */
		bool ok = corio_http_out_header(resp, "content-LENGTH", "5") == -EINVAL &&
			  corio_http_out_header(resp, "Transfer-Encoding", "chunked") == -EINVAL &&
			  corio_http_out_header(resp, "DATE", "Sun, 06 Nov 1994 08:49:37 GMT") == 0 &&
			  corio_http_out_header(resp, "server", "mine") == 0 &&
			  corio_http_out_header(resp, "X-Len", "14") == 0 &&
			  corio_http_out_header(resp, "Connection", "close") == 0;

		corio_http_out_send(resp, ok ? "ok" : "no", 2);
	} else if (!strcmp(path, "/nothing")) {
		/* answers nothing: the server sends 500 */
	} else if (!strncmp(path, "/long/", 6)) {
		/* the path and query exactly as the handler sees them */
		size_t pl = strlen(path), ql = strlen(corio_http_in_query(req));
		char *b = malloc(pl + ql + 2);

		if (!b) {
			corio_http_out_error(resp, 500);
			return;
		}
		memcpy(b, path, pl);
		b[pl] = '|';
		memcpy(b + pl + 1, corio_http_in_query(req), ql + 1);
		corio_http_out_send(resp, b, pl + ql + 1);
		free(b);
	} else if (!strcmp(path, "/cl")) {
		/* answers with the announced length, the body unread */
		int n = snprintf(tmp, sizeof tmp, "%lld",
				 (long long)corio_http_in_content_length(req));

		corio_http_out_send(resp, tmp, (size_t)n);
	} else if (!strcmp(path, "/ignore-body")) {
		corio_http_out_send(resp, "ignored", 7);
	} else if (!strcmp(path, "/nocontent")) {
		corio_http_out_status(resp, 204);
		corio_http_out_send(resp, "", 0);
	} else if (!strcmp(path, "/cold-fd")) {
		/* a caller's fd opened O_NONBLOCK, on a file whose pages may not be cached */
		int fd = open(cold_path(tmp, sizeof tmp, "cold48k.bin"), O_RDONLY | O_NONBLOCK);

		if (fd < 0) {
			corio_http_out_error(resp, 500);
			return;
		}
		corio_http_out_file(resp, fd, 0, 48 << 10);
		cold_flags_after = fcntl(fd, F_GETFL);
		close(fd);
	} else if (!strncmp(path, "/files/", 7)) {
		corio_http_serve_file(req, resp, file_root, path + 6);
	} else {
		corio_http_out_error(resp, 404);
	}
}

typedef struct srvctx {
	corio_http_server *srv;
	corio_task *task;
	int port, rc;
} srvctx;

static inline void *serve_task(void *arg)
{
	srvctx *x = arg;

	x->rc = corio_http_server_serve(x->srv);
	return NULL;
}

/* A server with handler h (ud its argument) instead of the suites' handler. */
static inline int srv_start_with(srvctx *x, const corio_http_server_opts *o,
				 corio_http_handler h, void *ud)
{
	int rc;

	memset(x, 0, sizeof *x);
	if (!(x->srv = corio_http_server_new(o, h, ud)))
		return -ENOMEM;
	if ((rc = corio_http_server_listen(x->srv, "127.0.0.1", 0)) < 0)
		return rc;
	x->port = corio_http_server_port(x->srv);
	x->task = corio_spawn(serve_task, x);
	corio_yield(); /* the server parks in accept */
	return x->port > 0 && x->task ? 0 : -EINVAL;
}

static inline int srv_start(srvctx *x, const corio_http_server_opts *o)
{
	return srv_start_with(x, o, handler, NULL);
}

static inline int srv_stop(srvctx *x, uint64_t grace)
{
	int rc = corio_http_server_shutdown(x->srv, grace);

	if (rc == 0)
		rc = corio_join(x->task, NULL);
	if (rc == 0)
		rc = x->rc;
	corio_http_server_free(x->srv);
	return rc;
}

/* ---- raw clients ------------------------------------------------------------------------ */

typedef struct cli {
	int fd;
	char *buf;
	size_t len;
	bool eof;
} cli;

typedef struct resp {
	int status;
	char head[8192];
	char *body;
	size_t blen;
} resp;

static inline int cli_open(cli *c, int port)
{
	char ps[16];

	snprintf(ps, sizeof ps, "%d", port);
	c->buf = malloc(CBUF);
	c->len = 0;
	c->eof = false;
	c->fd = corio_tcp_connect("127.0.0.1", ps);
	return c->fd;
}

static inline void cli_close(cli *c)
{
	if (c->fd >= 0)
		corio_close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

static inline int cli_send(cli *c, const char *s)
{
	return corio_send_all(c->fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

/* Receives more (5 s at most). 0, or -1 at EOF / error / timeout. */
static inline int cli_more(cli *c)
{
	corio_timeout t;
	ssize_t n;

	if (c->eof || c->len == CBUF)
		return -1;
	corio_timeout_enter(&t, CORIO_SEC(5));
	n = corio_recv(c->fd, c->buf + c->len, CBUF - c->len, 0);
	corio_timeout_exit(&t);
	if (n <= 0) {
		c->eof = true;
		return -1;
	}
	c->len += (size_t)n;
	return 0;
}

/* A response header's value (in r->head), NULL when absent. */
static inline const char *hval(const resp *r, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2, *end = strstr(line, "\r\n");

		if (!end)
			break;
		if ((size_t)(end - line) > nl && line[nl] == ':' && !strncasecmp(line, name, nl)) {
			const char *v = line + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(out, cap, "%.*s", (int)(end - v), v);
			return out;
		}
	}
	return NULL;
}

/* How many header lines of r are named name (any case). */
static inline int hcount(const resp *r, const char *name)
{
	size_t nl = strlen(name);
	int n = 0;

	for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
		n += !strncasecmp(p + 2, name, nl) && p[2 + nl] == ':';
	return n;
}

static inline void consume(cli *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Reads one response. head_req: the request was HEAD (no body). 0, or -1 (EOF first). The
 * body is malloc'ed into r->body (free it with resp_free). */
static inline int cli_read(cli *c, resp *r, bool head_req)
{
	char v[64];
	char *end;
	size_t hl;

	memset(r, 0, sizeof *r);
	while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
		if (cli_more(c) < 0)
			return -1;
	hl = (size_t)(end - c->buf) + 4;
	if (hl >= sizeof r->head)
		return -1;
	memcpy(r->head, c->buf, hl);
	r->head[hl] = '\0';
	r->status = atoi(r->head + 9);
	consume(c, hl);
	r->body = malloc(CBUF);
	if (head_req || r->status == 204 || r->status == 304 || r->status < 200) {
		r->blen = 0;
	} else if (hval(r, "content-length", v, sizeof v)) {
		size_t n = strtoull(v, NULL, 10);

		while (c->len < n)
			if (cli_more(c) < 0)
				return -1;
		memcpy(r->body, c->buf, n);
		r->blen = n;
		consume(c, n);
	} else if (hval(r, "transfer-encoding", v, sizeof v)) {
		for (;;) {
			char *le;
			size_t n;

			while (!(le = memmem(c->buf, c->len, "\r\n", 2)))
				if (cli_more(c) < 0)
					return -1;
			n = strtoull(c->buf, NULL, 16);
			while (c->len < (size_t)(le - c->buf) + 2 + n + 2)
				if (cli_more(c) < 0)
					return -1;
			memcpy(r->body + r->blen, le + 2, n);
			r->blen += n;
			consume(c, (size_t)(le - c->buf) + 2 + n + 2);
			if (n == 0)
				break;
		}
	} else {
		while (cli_more(c) == 0)
			;
		memcpy(r->body, c->buf, c->len);
		r->blen = c->len;
		c->len = 0;
	}
	r->body[r->blen] = '\0';
	return 0;
}

static inline void resp_free(resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* True when the server closes the connection (EOF) with nothing more sent. */
static inline bool cli_sees_eof(cli *c)
{
	while (cli_more(c) == 0)
		;
	return c->eof && c->len == 0;
}

/* One exchange on a new connection: sends req, reads one response. */
static inline int once(int port, const char *req, resp *r, bool *closed)
{
	cli c;
	int rc;

	memset(r, 0, sizeof *r); /* resp_free works whatever fails */
	if (cli_open(&c, port) < 0) {
		free(c.buf);
		return -1;
	}
	rc = cli_send(&c, req);
	if (rc == 0)
		rc = cli_read(&c, r, !strncmp(req, "HEAD ", 5));
	if (closed)
		*closed = rc == 0 && cli_sees_eof(&c);
	cli_close(&c);
	return rc;
}

static inline bool has_close(const resp *r)
{
	char v[64];

	return hval(r, "connection", v, sizeof v) && !strcasecmp(v, "close");
}

/* Sends req on a new connection; checks the status and that the server then closes. */
static inline bool answers_and_closes(int port, const char *req, int status)
{
	resp r;
	bool closed = false;
	int rc = once(port, req, &r, &closed);
	bool ok = rc == 0 && r.status == status && has_close(&r) && closed;

	if (!ok)
		fprintf(stderr, "want %d + close, got rc %d status %d closed %d for %.40s\n",
			status, rc, r.status, closed, req);
	resp_free(&r);
	return ok;
}

static inline void make_files(void)
{
	char p[512];
	FILE *f;

	snprintf(file_root, sizeof file_root, "/tmp/corio-http-test-%d", (int)getpid());
	mkdir(file_root, 0755);
	snprintf(p, sizeof p, "%s/sub", file_root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/\\evil", file_root); /* a directory named "\evil" */
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/hello.txt", file_root);
	f = fopen(p, "w");
	fputs("0123456789abcdefghij", f);
	fclose(f);
	snprintf(p, sizeof p, "%s/sub/index.html", file_root);
	f = fopen(p, "w");
	fputs("<p>index</p>", f);
	fclose(f);
	snprintf(p, sizeof p, "%s/big.bin", file_root);
	f = fopen(p, "w");
	for (int i = 0; i < 300000; i++)
		fputc((i * 7) & 0xff, f);
	fclose(f);
	for (int k = 0; k < 2; k++) { /* read cold (evict_cold): 48 KiB inline, 300 KiB in steps */
		snprintf(p, sizeof p, "%s/%s", file_root, k ? "cold300k.bin" : "cold48k.bin");
		f = fopen(p, "w");
		for (int i = 0; i < (k ? 300000 : 48 << 10); i++)
			fputc((i * 13 + k) & 0xff, f);
		fclose(f);
	}
	snprintf(p, sizeof p, "%s/huge.bin", file_root); /* 64 MiB of zeros, sparse */
	if (truncate(p, 0) != 0 && (f = fopen(p, "w")))
		fclose(f);
	if (truncate(p, 64 << 20) != 0)
		perror("truncate");
	snprintf(p, sizeof p, "%s/fifo", file_root);
	if (mkfifo(p, 0644) != 0)
		perror("mkfifo");
	snprintf(p, sizeof p, "%s/escape", file_root);
	if (symlink("/etc", p) != 0)
		perror("symlink");
}

static inline void rm_files(void)
{
	char cmd[600];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", file_root);
	if (system(cmd) != 0)
		perror("rm");
}

/* The same exchanges with every read, write, recv and send shortened at random (requests
 * then reach the parser in pieces: split request lines, names, values and chunk sizes). */
#define FAULTS "7:short@0.5"

#endif
