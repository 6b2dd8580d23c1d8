/* tests/ws/interop.h: what the WebSocket interop suites (test_ws_interop_node_client.c,
 * test_ws_interop_node_server.c, test_ws_interop_python.c) share: finding a peer (Node with the
 * `ws` package that scripts/deps.sh installs into build/npm, Python with Debian's websockets)
 * or the reason it is missing, a peer program run as a child whose stdout lines are read inside
 * the loop with a deadline, and corio's side of the tests: an HTTP server (plain or TLS) whose
 * handler upgrades with corio_ws_accept and then echoes or closes by path, recording what it
 * saw for the test to check.
 *
 * Header-only (static functions), included by one test program each. The peers' scripts are in
 * tests/ws/peers/; they print one line per event, which ix_expect matches by prefix. */
#ifndef CORIO_TESTS_WS_INTEROP_H
#define CORIO_TESTS_WS_INTEROP_H

#include "tests/support/helpers.h"
#include "tests/support/certs.h"
#include "tests/support/proc.h"

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include <corio/http.h>
#include <corio/http_server.h>
#include <corio/tls.h>
#include <corio/ws.h>

#define IX_PEERS CORIO_SOURCE_DIR "/tests/ws/peers"
#define IX_PYTHON "/usr/bin/python3"
/* How long one line of a peer may take: generous for ASan builds on a loaded machine. A
 * peer that hangs fails the test at this deadline instead of at Check's timeout. */
#define IX_LINE_NS CORIO_SEC(40)

/* ---- failures with a message ---------------------------------------------------------- */

static char ix_why[1024];

/* Formats a failure message for a task to return (TH_OK is NULL). */
static inline const char *ix_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline const char *ix_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ix_why, sizeof ix_why, fmt, ap);
	va_end(ap);
	return ix_why;
}

#define IX_CHECK(cond, ...)                                                                  \
	do {                                                                                 \
		if (!(cond))                                                                 \
			return (void *)ix_fail("line " TH_STR(__LINE__) ": " __VA_ARGS__);   \
	} while (0)

/* ---- finding the peers ------------------------------------------------------------------ */

static char ix_node[PATH_MAX];

/* Runs argv to its end with output captured; true when it exited 0. */
static inline bool ix_runs_ok(char *const argv[], char *out, size_t len)
{
	th_child c = th_child_of(argv);

	c.std[2] = TH_FD_STDOUT;
	return th_run(&c, out, len, NULL) == 0;
}

/* The first of node, nodejs found in $PATH into ix_node; false when neither is. */
static inline bool ix_find_node(void)
{
	static const char *const names[] = { "node", "nodejs" };
	const char *path = getenv("PATH");

	for (size_t i = 0; i < 2; i++) {
		for (const char *p = path ? path : "/usr/bin"; *p;) {
			size_t n = strcspn(p, ":");

			snprintf(ix_node, sizeof ix_node, "%.*s/%s", (int)n, p, names[i]);
			if (n && access(ix_node, X_OK) == 0)
				return true;
			p += n + (p[n] == ':');
		}
	}
	ix_node[0] = 0;
	return false;
}

/* Node and its ws package: true, with NODE_PATH set for the children, or false with why.
 * The directory is $CORIO_NPM_DIR, else build/npm of the source tree (scripts/deps.sh). */
static inline bool ix_node_ready(char *why, size_t len)
{
	const char *dir = getenv("CORIO_NPM_DIR");
	char mods[PATH_MAX], pkg[PATH_MAX + 32], out[512];

	ix_find_node();
	if (!ix_node[0]) {
		snprintf(why, len, "Node.js not installed (scripts/deps.sh installs nodejs)");
		return false;
	}
	if (!dir || !*dir)
		dir = CORIO_SOURCE_DIR "/build/npm";
	snprintf(mods, sizeof mods, "%s/node_modules", dir);
	snprintf(pkg, sizeof pkg, "%s/ws/package.json", mods);
	if (access(pkg, R_OK) != 0) {
		snprintf(why, len, "Node's ws package is not in %.300s (scripts/deps.sh installs it from "
			 "the npm registry; it could not?)", mods);
		return false;
	}
	setenv("NODE_PATH", mods, 1);
	if (!ix_runs_ok((char *const[]){ ix_node, "-e", "require('ws')", NULL }, out, sizeof out)) {
		snprintf(why, len, "%.200s cannot load ws from %.200s: %.160s", ix_node, mods, out);
		return false;
	}
	return true;
}

/* Debian's python3 with its websockets package (python3-websockets). */
static inline bool ix_python_ready(char *why, size_t len)
{
	char out[512];

	if (access(IX_PYTHON, X_OK) != 0) {
		snprintf(why, len, "%s not installed", IX_PYTHON);
		return false;
	}
	if (!ix_runs_ok((char *const[]){ IX_PYTHON, "-c", "import websockets", NULL }, out,
			sizeof out)) {
		snprintf(why, len, "python3-websockets not installed (scripts/deps.sh): %.160s", out);
		return false;
	}
	return true;
}

/* ---- a peer process and its stdout lines ---------------------------------------------- */

typedef struct ix_peer {
	pid_t pid;          /* 0 once reaped */
	int fd;             /* the read end of its stdout, -1 once closed */
	size_t len;         /* bytes of buf not yet returned as lines */
	char buf[16384];
	char last[512];     /* the last line read, for failure messages */
} ix_peer;

/* Starts argv with stdout into a pipe (stderr inherited: it lands in the test's log). The
 * child dies with this process (th_spawn). 0 or -errno. */
static inline int ix_start(ix_peer *p, char *const argv[])
{
	th_child c = th_child_of(argv);
	int fds[2];

	p->pid = 0;
	p->fd = -1;
	p->len = 0;
	p->last[0] = 0;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -errno;
	c.std[0] = TH_FD_NULL;
	c.std[1] = fds[1];
	p->pid = th_spawn(&c);
	close(fds[1]);
	if (p->pid < 0) {
		int e = errno;

		close(fds[0]);
		p->pid = 0;
		return -e;
	}
	p->fd = fds[0];
	return 0;
}

/* The next line of the peer's stdout into p->last (without the newline). 0, -EPIPE at
 * its end, -ETIMEDOUT after IX_LINE_NS, or -errno. Parks. */
static inline int ix_line(ix_peer *p)
{
	corio_timeout t;
	int rc = 0;

	corio_timeout_enter(&t, IX_LINE_NS);
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		ssize_t n;

		if (nl) {
			size_t k = (size_t)(nl - p->buf);

			snprintf(p->last, sizeof p->last, "%.*s", (int)k, p->buf);
			memmove(p->buf, nl + 1, p->len - k - 1);
			p->len -= k + 1;
			fprintf(stderr, "peer %d: %s\n", (int)p->pid, p->last);
			break;
		}
		if (p->len == sizeof p->buf) {
			rc = -E2BIG;
			break;
		}
		n = corio_read(p->fd, p->buf + p->len, sizeof p->buf - p->len, -1);
		if (n <= 0) {
			rc = n == 0 ? -EPIPE : (int)n;
			break;
		}
		p->len += (size_t)n;
	}
	corio_timeout_exit(&t);
	return rc;
}

/* Reads lines until one starts with prefix (0), skipping others; a "fail ..." line from a
 * client script, the end of the output or the deadline: -EPROTO, -EPIPE, -ETIMEDOUT. */
static inline int ix_expect(ix_peer *p, const char *prefix)
{
	for (;;) {
		int rc = ix_line(p);

		if (rc < 0)
			return rc;
		if (strncmp(p->last, prefix, strlen(prefix)) == 0)
			return 0;
		if (strncmp(p->last, "fail ", 5) == 0)
			return -EPROTO;
	}
}

/* ix_expect, then a whole-line comparison with want. */
static inline bool ix_expect_line(ix_peer *p, const char *prefix, const char *want)
{
	return ix_expect(p, prefix) == 0 && strcmp(p->last, want) == 0;
}

/* Reads to the end of the peer's output, then reaps it (killing it if it does not exit
 * within 10 s): its exit code (th_exit_code), or -errno when its output did not end. */
static inline int ix_finish(ix_peer *p)
{
	int rc, status = 0;

	while ((rc = ix_line(p)) == 0)
		;
	if (rc != -EPIPE)
		return rc;
	close(p->fd);
	p->fd = -1;
	th_wait_exit(p->pid, 10, &status);
	p->pid = 0;
	return th_exit_code(status);
}

/* Kills the peer (SIGKILL, by its pid) if it is still there, reaps it, closes the pipe. */
static inline void ix_stop(ix_peer *p)
{
	th_stop(&p->pid, SIGKILL, NULL);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* A server peer's port from its first "listening PORT" line: the port or -errno. */
static inline int ix_listening(ix_peer *p)
{
	int rc = ix_expect(p, "listening ");

	return rc < 0 ? rc : atoi(p->last + 10);
}

/* ---- corio's server ---------------------------------------------------------------------- */

/* What the handler saw on its last WebSocket connection. */
typedef struct ix_seen {
	int accept_rc;
	long recv_rc;         /* the receive that ended the echo loop */
	int send_rc;          /* a send that failed (0: none did) */
	int close_rc;         /* corio_ws_close's result */
	int close_code;       /* corio_ws_close_code after the end */
	char reason[128];     /* corio_ws_close_reason */
	char protocol[64];    /* corio_ws_protocol ("-": none) */
	int echoed;           /* messages echoed */
	corio_event done;     /* set when the handler is done with the connection */
} ix_seen;

static ix_seen ix_seen_last;

/* Echoes every message with its opcode until a receive fails. */
static inline void ix_echo(corio_ws *ws, ix_seen *s)
{
	for (;;) {
		const void *data;
		int op = 0;
		ssize_t n = corio_ws_recv_msg(ws, &op, &data);

		if (n < 0) {
			s->recv_rc = (long)n;
			return;
		}
		if ((s->send_rc = corio_ws_send(ws, op, data, (size_t)n)) < 0)
			return;
		s->echoed++;
	}
}

/* The handler: GET /echo echoes (permessage-deflate declined), /deflate echoes with
 * permessage-deflate accepted when offered, /proto echoes with the subprotocols
 * "superchat, chat" on offer, /close closes with 1001 "corio going away". */
static inline void ix_handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	const char *path = corio_http_in_path(req);
	ix_seen *s = &ix_seen_last;
	corio_ws_opts o;
	corio_ws *ws = NULL;

	(void)ud;
	corio_ws_opts_init(&o);
	o.deflate = strcmp(path, "/deflate") == 0;
	if (strcmp(path, "/proto") == 0)
		o.protocols = "superchat, chat";
	s->accept_rc = corio_ws_accept_opts(req, resp, &o, &ws);
	if (s->accept_rc == 0) {
		const char *proto = corio_ws_protocol(ws);

		snprintf(s->protocol, sizeof s->protocol, "%s", proto ? proto : "-");
		if (strcmp(path, "/close") == 0) {
			s->close_rc = corio_ws_close(ws, CORIO_WS_GOING_AWAY, "corio going away");
		} else {
			ix_echo(ws, s);
			s->close_rc = corio_ws_close(ws, 0, NULL); /* 0 after the peer's close */
		}
		s->close_code = corio_ws_close_code(ws);
		snprintf(s->reason, sizeof s->reason, "%s", corio_ws_close_reason(ws));
		corio_ws_free(ws);
	}
	corio_event_set(&s->done);
}

typedef struct ix_server {
	corio_http_server *srv;
	corio_task *task;
	int port;
} ix_server;

static inline void *ix_serve_task(void *arg)
{
	return (void *)(intptr_t)corio_http_server_serve(arg);
}

/* corio's server on 127.0.0.1 port 0 (TLS with certs' good leaf when certs is not NULL),
 * serving ix_handler in a task; ix_seen_last reset. 0 or -errno. */
static inline int ix_server_start(ix_server *s, const th_certs *certs)
{
	corio_http_server_opts o;
	corio_tls_config *tls = certs ? th_tls_server(certs, CERT_GOOD) : NULL;
	int rc;

	memset(&ix_seen_last, 0, sizeof ix_seen_last);
	corio_event_init(&ix_seen_last.done);
	memset(s, 0, sizeof *s);
	if (certs && !tls)
		return -EINVAL;
	corio_http_server_opts_init(&o);
	o.tls = tls;
	s->srv = corio_http_server_new(&o, ix_handler, NULL);
	corio_tls_config_free(tls); /* the server holds its own reference */
	if (!s->srv)
		return -ENOMEM;
	if ((rc = corio_http_server_listen(s->srv, "127.0.0.1", 0)) != 0)
		return rc;
	s->port = corio_http_server_port(s->srv);
	s->task = corio_spawn(ix_serve_task, s->srv);
	return s->task ? 0 : -ENOMEM;
}

/* Stops the server and returns serve's result (0 when it was not started). */
static inline int ix_server_stop(ix_server *s)
{
	void *res = NULL;

	if (!s->srv)
		return 0;
	corio_http_server_shutdown(s->srv, CORIO_MS(100));
	if (s->task)
		corio_join(s->task, &res);
	corio_http_server_free(s->srv);
	s->srv = NULL;
	return (int)(intptr_t)res;
}

/* Waits (IX_LINE_NS at most) for the handler to finish its connection: 0 or -ETIMEDOUT. */
static inline int ix_wait_handler(void)
{
	corio_timeout t;
	int rc;

	corio_timeout_enter(&t, IX_LINE_NS);
	rc = corio_event_wait(&ix_seen_last.done);
	corio_timeout_exit(&t);
	return rc;
}

/* ---- a peer as the client of corio's server -------------------------------------------- */

static th_certs ix_certs; /* made by ix_certs_setup for each test (a checked fixture) */

static inline void ix_certs_setup(void)
{
	ck_assert_msg(th_certs_make(&ix_certs), "could not make the test certificates");
}

static inline void ix_certs_teardown(void)
{
	th_certs_remove(&ix_certs);
}

/* One case: corio's server (TLS when tls) at path, a client peer started with the argv
 * that argv() builds for the URL, the lines it must print in order (by prefix), then its
 * exit status 0, then check() on what corio's handler saw, with the expected number of
 * echoed messages (-1: any) and close code and reason where check uses them. */
typedef struct ix_ccase {
	const char *path, *scenario;
	bool tls;
	const char *lines[6];
	const char *(*check)(const struct ix_ccase *k, const ix_seen *s, const ix_peer *p);
	int echoed;
	int code;
	const char *reason;
	void (*argv)(const struct ix_ccase *k, char *url, char **argv);
} ix_ccase;

/* The peer closed with k->code and k->reason after k->echoed echoes. */
static inline const char *ix_seen_peer_closed(const ix_ccase *k, const ix_seen *s, const ix_peer *p)
{
	(void)p;
	if (s->accept_rc != 0)
		return ix_fail("corio_ws_accept: %s", strerror(-s->accept_rc));
	if (s->send_rc != 0)
		return ix_fail("an echo's send failed: %s", strerror(-s->send_rc));
	if (s->recv_rc != -EPIPE)
		return ix_fail("the echo loop ended with %ld, not -EPIPE", s->recv_rc);
	if (s->close_code != k->code || strcmp(s->reason, k->reason) != 0)
		return ix_fail("corio saw close %d '%s'; the peer sent %d '%s'", s->close_code,
			       s->reason, k->code, k->reason);
	if (s->close_rc != 0)
		return ix_fail("corio_ws_close after the peer's close: %s", strerror(-s->close_rc));
	if (k->echoed >= 0 && s->echoed != k->echoed)
		return ix_fail("%d messages echoed, %d sent", s->echoed, k->echoed);
	return NULL;
}

/* corio failed the connection: the echo loop's receive returned k->echoed (an -errno here)
 * and corio sent close k->code. */
static inline const char *ix_seen_failed(const ix_ccase *k, const ix_seen *s, const ix_peer *p)
{
	(void)p;
	if (s->accept_rc != 0)
		return ix_fail("corio_ws_accept: %s", strerror(-s->accept_rc));
	if (s->recv_rc != k->echoed)
		return ix_fail("the receive returned %ld, want %d", s->recv_rc, k->echoed);
	if (s->close_code != k->code)
		return ix_fail("corio_ws_close_code %d, want %d", s->close_code, k->code);
	return NULL;
}

/* The upgrade worked (what else there is to check, the peer checked). */
static inline const char *ix_seen_closed_any(const ix_ccase *k, const ix_seen *s, const ix_peer *p)
{
	(void)k;
	(void)p;
	return s->accept_rc == 0 ? NULL : ix_fail("corio_ws_accept: %s", strerror(-s->accept_rc));
}

/* corio's handler closed (1001): its close handshake finished with 0. */
static inline const char *ix_seen_closed_here(const ix_ccase *k, const ix_seen *s, const ix_peer *p)
{
	(void)k;
	(void)p;
	if (s->accept_rc != 0)
		return ix_fail("corio_ws_accept: %s", strerror(-s->accept_rc));
	if (s->close_rc != 0)
		return ix_fail("corio_ws_close(1001): %s", strerror(-s->close_rc));
	return NULL;
}

/* Runs the client peer of k to its end: NULL, or why it failed. */
static inline const char *ix_run_client(const ix_server *srv, const ix_ccase *k, ix_peer *p)
{
	char url[128], *argv[12];
	int rc;

	snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", k->tls ? "wss" : "ws", srv->port, k->path);
	k->argv(k, url, argv);
	if ((rc = ix_start(p, argv)) < 0)
		return ix_fail("cannot start %s: %s", argv[0], strerror(-rc));
	for (int i = 0; i < 6 && k->lines[i]; i++) {
		rc = ix_expect(p, k->lines[i]);
		if (rc < 0)
			return ix_fail("client peer (%s %s): waiting for '%s': %s; last line '%s'",
				       k->path, k->scenario ? k->scenario : "", k->lines[i],
				       strerror(-rc), p->last);
	}
	rc = ix_finish(p);
	if (rc != 0)
		return ix_fail("client peer (%s %s) exited with %d; last line '%s'", k->path,
			       k->scenario ? k->scenario : "", rc, p->last);
	rc = ix_wait_handler();
	return rc < 0 ? ix_fail("corio's handler did not finish: %s", strerror(-rc)) : NULL;
}

/* A task: the server, the case, the checks; the peer and the server stopped whatever
 * failed. Returns NULL (TH_OK) or why it failed. */
static inline void *ix_client_case(void *arg)
{
	const ix_ccase *k = arg;
	ix_server srv;
	ix_peer p = { .fd = -1 };
	const char *res;
	int rc = ix_server_start(&srv, k->tls ? &ix_certs : NULL);

	if (rc < 0)
		res = ix_fail("server: %s", strerror(-rc));
	else if (!(res = ix_run_client(&srv, k, &p)))
		res = k->check(k, &ix_seen_last, &p);
	ix_stop(&p);
	rc = ix_server_stop(&srv);
	if (!res && rc != 0)
		res = ix_fail("serve returned %d", rc);
	return (void *)res;
}

/* ---- corio's client ---------------------------------------------------------------------- */

/* A client trusting certs' CA (certs NULL: the defaults). */
static inline corio_http_client *ix_client(const th_certs *certs)
{
	corio_http_client_opts o = { 0 };
	corio_http_client *c;

	if (certs && !(o.tls = th_tls_client(certs, CERT_CA)))
		return NULL;
	c = corio_http_client_new(&o);
	corio_tls_config_free(o.tls);
	return c;
}

/* n bytes of a pattern: printable ASCII (text) or every byte value (binary), as the Node
 * client script makes them. */
static inline void ix_pattern(unsigned char *b, size_t n, bool text)
{
	for (size_t i = 0; i < n; i++)
		b[i] = text ? (unsigned char)(0x20 + (i * 7) % 95)
			    : (unsigned char)((i * 31 + 7) & 0xff);
}

/* Sends n pattern bytes and checks that the same message comes back: NULL or why not. */
static inline const char *ix_echo_one(corio_ws *ws, size_t n, bool text)
{
	unsigned char *b = malloc(n ? n : 1);
	const void *got;
	int op = 0, rc;
	ssize_t m;

	if (!b)
		return "out of memory";
	ix_pattern(b, n, text);
	rc = corio_ws_send(ws, text ? CORIO_WS_TEXT : CORIO_WS_BINARY, b, n);
	m = rc < 0 ? rc : corio_ws_recv_msg(ws, &op, &got);
	if (rc < 0 || m < 0) {
		free(b);
		return ix_fail("echo of %zu %s bytes: %s %s", n, text ? "text" : "binary",
			       rc < 0 ? "send" : "recv", strerror(rc < 0 ? -rc : (int)-m));
	}
	rc = (size_t)m == n && op == (text ? CORIO_WS_TEXT : CORIO_WS_BINARY) &&
	     (n == 0 || memcmp(got, b, n) == 0);
	free(b);
	return rc ? NULL : ix_fail("echo of %zu %s bytes: %zd bytes, opcode %d came back", n,
				   text ? "text" : "binary", m, op);
}

#endif
