/* tests/net/test_tls.c: TLS over corio sockets (runtime/net/tls*.c): handshake and echo
 * both ways between a client and a server task on one loop (small and 1 MiB), ALPN, name
 * and IP verification, verification failures (untrusted CA, expired, wrong name: client
 * -EKEYREJECTED with a reason, server told by the alert), plain bytes to a TLS server, a cut
 * without close_notify, close_notify, a read timing out and the connection going on with
 * no byte lost, a cancelled read losing none, configs shared and immutable in use, client
 * certificates, TLS 1.2, a TLS client meeting a plain server, buffered streams over TLS, bad
 * arguments, a handshake outside a task, the reader answering TLS 1.3 KeyUpdates while the
 * writer is busy, gathered writes with what is left buffered, and the kTLS probe agreeing
 * with the kernel's list of ULPs while connections go on without it. Certificates are made at start in a temporary
 * directory (tests/support/certs.h). Servers bind 127.0.0.1 port 0. */
#include "tests/support/helpers.h"
#include "tests/net/net_helpers.h"
#include "tests/support/certs.h"
#include "runtime/net/tls_ext.h"
#include "runtime/net/tls_internal.h" /* white-box: the protocol version in use */

static th_certs g_certs;
/* The highest version server_config allows (0: OpenSSL's, TLS 1.3), and the version the
 * last handshake of serve() agreed on. */
static int g_server_max, g_server_version;

/* A server task: accepts one connection on lfd, runs the handshake with cfg, then body. */
typedef struct srv {
	int lfd, fd;
	corio_tls_config *cfg;
	int rc;                 /* the handshake's result */
	char err[256];          /* its reason when it failed */
	char alpn[64];
	void *(*body)(struct srv *, corio_tls *);
	void *res;              /* body's result (TH_OK or a message) */
	size_t len;             /* body parameter */
} srv;

static void *serve(void *arg)
{
	srv *s = arg;
	corio_tls *t = NULL;

	s->fd = corio_accept(s->lfd, NULL, NULL);
	if (s->fd < 0)
		return NULL;
	s->rc = corio_tls_accept(s->fd, s->cfg, &t);
	snprintf(s->err, sizeof s->err, "%s", corio_tls_error(t));
	if (t) {
		g_server_version = SSL_version(t->ssl);
		snprintf(s->alpn, sizeof s->alpn, "%s", corio_tls_alpn(t));
		if (s->body)
			s->res = s->body(s, t);
		if (s->fd >= 0) /* -1: a stream took both */
			corio_tls_free(t);
	}
	if (s->fd >= 0)
		corio_close(s->fd);
	return NULL;
}

static corio_tls_config *server_config(int crt)
{
	corio_tls_config *c = th_tls_server(&g_certs, crt);

	if (c && g_server_max)
		SSL_CTX_set_max_proto_version(c->ctx, g_server_max);
	return c;
}

static corio_tls_config *client_config(int ca)
{
	return th_tls_client(&g_certs, ca);
}

/* Listens, starts serve(s) and connects a plain socket to it: the client's fd or -errno. */
static int start(srv *s, corio_task **task)
{
	char port[PORTLEN];

	*task = NULL;
	s->lfd = listen_local(4);
	if (s->lfd < 0)
		return s->lfd;
	port_str(s->lfd, port);
	*task = corio_spawn(serve, s);
	return corio_tcp_connect("127.0.0.1", port);
}

static void stop(srv *s, corio_task *task, int cfd)
{
	corio_join(task, NULL);
	corio_close(cfd);
	corio_listen_close(s->lfd);
	corio_tls_config_free(s->cfg);
}

/* ---- echo ---- */

/* Echoes until close_notify, then answers it with its own. */
static void *echo_body(srv *s, corio_tls *t)
{
	static char buf[20000];
	ssize_t n;

	while ((n = corio_tls_read(t, buf, sizeof buf)) > 0)
		if (corio_tls_write(t, buf, (size_t)n) != n)
			return "server write";
	if (n != 0)
		return "server read did not end with close_notify";
	return corio_tls_shutdown(t) == 0 ? TH_OK : "server shutdown";
}

typedef struct wjob {
	corio_tls *t;
	const unsigned char *p;
	size_t len;
	ssize_t rc;
} wjob;

/* Writes everything, then sends close_notify: the writing half of a full-duplex client. */
static void *writer(void *arg)
{
	wjob *w = arg;

	w->rc = corio_tls_write(w->t, w->p, w->len);
	if (w->rc == (ssize_t)w->len && corio_tls_shutdown(w->t) != 0)
		w->rc = -1;
	return NULL;
}

/* Sends len bytes through the echo server to name, reading them back at the same time. */
static const char *echo_through(const char *name, size_t len)
{
	srv s = { .cfg = server_config(CERT_GOOD), .body = echo_body };
	corio_tls_config *cc = client_config(CERT_CA);
	unsigned char *out = malloc(len), *in = malloc(len + 1);
	const char *err = NULL;
	corio_task *task, *wt;
	corio_tls *t = NULL;
	wjob w;
	int cfd;

	if (!s.cfg || !cc || !out || !in || corio_tls_config_alpn(s.cfg, "h2,http/1.1") ||
	    corio_tls_config_alpn(cc, "http/1.1,spdy/3"))
		return "setup";
	fill(out, len, (unsigned)len);
	cfd = start(&s, &task);
	if (cfd < 0 || corio_tls_connect(cfd, cc, name, &t) != 0)
		err = "client handshake";
	else if (strcmp(corio_tls_alpn(t), "http/1.1") != 0)
		err = "client ALPN";
	if (!err) {
		w = (wjob){ .t = t, .p = out, .len = len };
		wt = corio_spawn(writer, &w);
		if (th_tls_read_exact(t, in, len) != (ssize_t)len || memcmp(in, out, len) != 0)
			err = "echoed bytes";
		else if (corio_tls_read(t, in, len + 1) != 0)
			err = "no close_notify after the echo";
		corio_join(wt, NULL);
		if (!err && w.rc != (ssize_t)len)
			err = "client write";
		if (!err && corio_tls_write(t, "x", 1) != -EPIPE)
			err = "write after shutdown";
	}
	corio_tls_free(t);
	stop(&s, task, cfd);
	corio_tls_config_free(cc);
	if (!err && (s.rc != 0 || s.res != TH_OK))
		err = s.rc != 0 ? "server handshake" : s.res;
	if (!err && strcmp(s.alpn, "http/1.1") != 0)
		err = "server ALPN";
	free(out);
	free(in);
	return err;
}

static void *t_echo(void *arg)
{
	const char *e = echo_through("localhost", 5);

	TH_CHECK(e == NULL);
	e = echo_through("127.0.0.1", 1 << 20);
	TH_CHECK(e == NULL);
	return TH_OK;
}

TH_TASK_TEST(echo_both_ways, t_echo)

/* ---- verification ---- */

/* Connects to a server presenting crt with a client trusting ca, checking name: the client
 * fails with -EKEYREJECTED and a reason holding want, the server hears of it. */
static const char *rejected(int crt, int ca, const char *name, const char *want)
{
	srv s = { .cfg = server_config(crt) };
	corio_tls_config *cc = client_config(ca);
	corio_task *task;
	corio_tls *t = (corio_tls *)&s; /* must be reset to NULL */
	const char *err = NULL;
	int cfd, rc;

	if (!s.cfg || !cc)
		return "setup";
	cfd = start(&s, &task);
	rc = corio_tls_connect(cfd, cc, name, &t);
	if (rc != -EKEYREJECTED || t != NULL)
		err = "client did not reject";
	else if (!strstr(corio_tls_error(NULL), want))
		err = corio_tls_error(NULL);
	stop(&s, task, cfd);
	corio_tls_config_free(cc);
	if (!err && (s.rc != -EPROTO || !strstr(s.err, "alert")))
		err = "server not told by an alert";
	return err;
}

static void *t_verify(void *arg)
{
	const char *e;

	e = rejected(CERT_GOOD, CERT_OTHER_CA, "localhost", "issuer");
	TH_CHECK(e == NULL);
	e = rejected(CERT_EXPIRED, CERT_CA, "localhost", "expired");
	TH_CHECK(e == NULL);
	e = rejected(CERT_WRONG, CERT_CA, "localhost", "hostname mismatch");
	TH_CHECK(e == NULL);
	e = rejected(CERT_GOOD, CERT_CA, "127.0.0.2", "IP address mismatch");
	TH_CHECK(e == NULL);
	return TH_OK;
}

TH_TASK_TEST(verification_failures, t_verify)

/* ---- failures of the peer ---- */

static void *t_plain(void *arg)
{
	srv s = { .cfg = server_config(CERT_GOOD) };
	static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
	corio_task *task;
	char buf[512];
	int cfd;

	TH_CHECK(s.cfg);
	cfd = start(&s, &task);
	TH_CHECK(cfd >= 0);
	TH_CHECK(corio_send_all(cfd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
	while (corio_recv(cfd, buf, sizeof buf, 0) > 0)
		; /* the server's alert, then EOF */
	stop(&s, task, cfd);
	TH_CHECK(s.rc == -EPROTO);
	TH_CHECK(s.err[0] != '\0');
	return TH_OK;
}

TH_TASK_TEST(plain_bytes_to_tls_server, t_plain)

static void *cut_body(srv *s, corio_tls *t)
{
	return corio_tls_write(t, "partial", 7) == 7 ? TH_OK : "server write";
}

static void *t_cut(void *arg)
{
	srv s = { .cfg = server_config(CERT_GOOD), .body = cut_body };
	corio_tls_config *cc = client_config(CERT_CA);
	corio_task *task;
	corio_tls *t;
	char buf[16];
	int cfd;

	TH_CHECK(s.cfg && cc);
	cfd = start(&s, &task);
	TH_CHECK(corio_tls_connect(cfd, cc, "localhost", &t) == 0);
	TH_CHECK(corio_tls_read(t, buf, sizeof buf) == 7);
	/* The server closed its socket without close_notify: truncation, not EOF. */
	TH_CHECK(corio_tls_read(t, buf, sizeof buf) == -EPROTO);
	TH_CHECK(strstr(corio_tls_error(t), "close_notify") != NULL);
	corio_tls_free(t);
	stop(&s, task, cfd);
	corio_tls_config_free(cc);
	TH_CHECK(s.rc == 0 && s.res == TH_OK);
	return TH_OK;
}

TH_TASK_TEST(cut_without_close_notify, t_cut)

/* ---- a read that times out ---- */

static void *late_body(srv *s, corio_tls *t)
{
	char go[2];

	if (corio_tls_write(t, "hello world", 11) != 11)
		return "server first write";
	if (corio_tls_read(t, go, 2) != 2 || memcmp(go, "go", 2) != 0)
		return "server read go";
	if (corio_tls_write(t, "late", 4) != 4 || corio_tls_shutdown(t) != 0)
		return "server second write";
	return TH_OK;
}

static void *t_timeout(void *arg)
{
	srv s = { .cfg = server_config(CERT_GOOD), .body = late_body };
	corio_tls_config *cc = client_config(CERT_CA);
	corio_timeout to;
	corio_task *task;
	corio_tls *t;
	char buf[32];
	int cfd;

	TH_CHECK(s.cfg && cc);
	cfd = start(&s, &task);
	TH_CHECK(corio_tls_connect(cfd, cc, "localhost", &t) == 0);
	TH_CHECK(corio_tls_read(t, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0);
	/* Nothing more comes until we say "go": the read times out... */
	corio_timeout_enter(&to, CORIO_MS(50));
	TH_CHECK(corio_tls_read(t, buf + 5, sizeof buf - 5) == 6); /* buffered: no wait */
	TH_CHECK(corio_tls_read(t, buf + 11, sizeof buf - 11) == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&to));
	/* ...and the connection goes on. */
	TH_CHECK(corio_tls_write(t, "go", 2) == 2);
	TH_CHECK(th_tls_read_exact(t, (unsigned char *)buf + 11, 4) == 4);
	TH_CHECK(memcmp(buf, "hello worldlate", 15) == 0);
	TH_CHECK(corio_tls_read(t, buf, sizeof buf) == 0);
	corio_tls_free(t);
	stop(&s, task, cfd);
	corio_tls_config_free(cc);
	TH_CHECK(s.rc == 0 && s.res == TH_OK);
	return TH_OK;
}

TH_TASK_TEST(read_timeout_loses_nothing, t_timeout)

/* ---- cancellation ---- */

static void *cancel_body(srv *s, corio_tls *t)
{
	char go[2];

	for (int round = 0; round < 2; round++) {
		if (corio_tls_read(t, go, 2) != 2 || corio_tls_write(t, "defgh", 5) != 5)
			return "server round";
	}
	return corio_tls_shutdown(t) == 0 ? TH_OK : "server shutdown";
}

typedef struct rjob {
	corio_tls *t;
	char buf[16];
	ssize_t rc;
} rjob;

static void *reader(void *arg)
{
	rjob *r = arg;

	r->rc = corio_tls_read(r->t, r->buf, sizeof r->buf);
	return NULL;
}

/* A reader cancelled while parked loses nothing: what it did not return, the next read
 * returns. race: the data is on its way when the cancellation comes. */
static const char *cancel_round(corio_tls *t, bool race)
{
	rjob r = { .t = t };
	corio_task *rt = corio_spawn(reader, &r);
	char got[16];
	size_t n = 0;

	corio_yield(); /* the reader parks in its receive */
	if (race && corio_tls_write(t, "go", 2) != 2)
		return "write go";
	corio_cancel(rt);
	corio_join(rt, NULL);
	if (!race && r.rc != -ECANCELED)
		return "idle reader not cancelled";
	if (r.rc > 0) {
		memcpy(got, r.buf, (size_t)r.rc);
		n = (size_t)r.rc;
	} else if (r.rc != -ECANCELED) {
		return "reader failed";
	}
	if (!race && corio_tls_write(t, "go", 2) != 2)
		return "write go";
	if (th_tls_read_exact(t, (unsigned char *)got + n, 5 - n) != (ssize_t)(5 - n))
		return "rest";
	return memcmp(got, "defgh", 5) == 0 ? NULL : "bytes differ";
}

static void *t_cancel(void *arg)
{
	srv s = { .cfg = server_config(CERT_GOOD), .body = cancel_body };
	corio_tls_config *cc = client_config(CERT_CA);
	corio_task *task;
	corio_tls *t;
	const char *e;
	char b;
	int cfd;

	TH_CHECK(s.cfg && cc);
	cfd = start(&s, &task);
	TH_CHECK(corio_tls_connect(cfd, cc, "localhost", &t) == 0);
	e = cancel_round(t, false);
	TH_CHECK(e == NULL);
	e = cancel_round(t, true);
	TH_CHECK(e == NULL);
	TH_CHECK(corio_tls_read(t, &b, 1) == 0);
	corio_tls_free(t);
	stop(&s, task, cfd);
	corio_tls_config_free(cc);
	TH_CHECK(s.rc == 0 && s.res == TH_OK);
	return TH_OK;
}

TH_TASK_TEST(cancelled_read_loses_nothing, t_cancel)

/* ---- configs ---- */

static void *hello_body(srv *s, corio_tls *t)
{
	if (corio_tls_write(t, "hi", 2) != 2 || corio_tls_shutdown(t) != 0)
		return "server hello";
	return TH_OK;
}

/* Connects to a server requiring client certificates signed by CERT_CA, with or without one. */
static const char *client_cert_round(bool with_cert)
{
	srv s = { .cfg = server_config(CERT_GOOD), .body = hello_body };
	corio_tls_config *cc = client_config(CERT_CA);
	const char *err = NULL;
	corio_task *task;
	corio_tls *t = NULL;
	char buf[4];
	int cfd;

	if (!s.cfg || !cc || corio_tls_config_ca(s.cfg, g_certs.path[CERT_CA], NULL) != 0)
		return "setup";
	corio_tls_config_verify(s.cfg, true);
	if (with_cert &&
	    corio_tls_config_cert(cc, g_certs.path[CERT_GOOD], g_certs.path[CERT_GOOD_KEY]) != 0)
		return "client cert";
	cfd = start(&s, &task);
	/* TLS 1.3: the client is done before the server checks; it hears of it on read. */
	int rc = corio_tls_connect(cfd, cc, "localhost", &t);
	ssize_t n = rc == 0 ? th_tls_read_exact(t, (unsigned char *)buf, 2) : rc;
	if (with_cert && (n != 2 || memcmp(buf, "hi", 2) != 0))
		err = "with a certificate";
	if (!with_cert && n != -EPROTO)
		err = "without a certificate: client";
	corio_tls_free(t);
	stop(&s, task, cfd);
	corio_tls_config_free(cc);
	if (!err && with_cert && (s.rc != 0 || s.res != TH_OK))
		err = "server with a certificate";
	if (!err && !with_cert && (s.rc != -EKEYREJECTED || !strstr(s.err, "none"))) {
		static char msg[300];

		snprintf(msg, sizeof msg, "server without a certificate: %d %s", s.rc, s.err);
		err = msg;
	}
	return err;
}

static void *t_configs(void *arg)
{
	srv s = { .cfg = server_config(CERT_GOOD), .body = hello_body };
	corio_tls_config *cc = client_config(CERT_CA);
	corio_task *task;
	corio_tls *t;
	const char *e;
	char buf[4];
	int cfd;

	TH_CHECK(s.cfg && cc);
	cfd = start(&s, &task);
	TH_CHECK(corio_tls_connect(cfd, cc, "localhost", &t) == 0);
	/* In use: immutable. */
	TH_CHECK(corio_tls_config_alpn(cc, "h2") == -EBUSY);
	TH_CHECK(corio_tls_config_ca(cc, g_certs.path[CERT_CA], NULL) == -EBUSY);
	/* The connection keeps its config alive after the owner let go. */
	corio_tls_config_free(cc);
	TH_CHECK(th_tls_read_exact(t, (unsigned char *)buf, 2) == 2 && memcmp(buf, "hi", 2) == 0);
	TH_CHECK(corio_tls_read(t, buf, sizeof buf) == 0);
	corio_tls_free(t);
	stop(&s, task, cfd);
	TH_CHECK(s.rc == 0 && s.res == TH_OK);
	e = client_cert_round(true);
	TH_CHECK(e == NULL);
	e = client_cert_round(false);
	TH_CHECK(e == NULL);
	return TH_OK;
}

TH_TASK_TEST(configs_shared_and_client_certs, t_configs)

/* ---- TLS 1.2 ---- */

/* The same paths with a server capped at TLS 1.2: there the client hears of a refused
 * client certificate during its own handshake. */
static void *t_tls12(void *arg)
{
	const char *e;

	g_server_max = TLS1_2_VERSION;
	e = echo_through("localhost", 100000);
	TH_CHECK(e == NULL);
	TH_CHECK(g_server_version == TLS1_2_VERSION);
	e = rejected(CERT_EXPIRED, CERT_CA, "localhost", "expired");
	TH_CHECK(e == NULL);
	e = client_cert_round(true);
	TH_CHECK(e == NULL);
	e = client_cert_round(false);
	TH_CHECK(e == NULL);
	g_server_max = 0;
	e = echo_through("localhost", 10);
	TH_CHECK(e == NULL);
	TH_CHECK(g_server_version == TLS1_3_VERSION);
	return TH_OK;
}

TH_TASK_TEST(tls12, t_tls12)

/* ---- a TLS client meeting a plain server ---- */

static void *plain_server(void *arg)
{
	srv *s = arg;
	char buf[4096];

	s->fd = corio_accept(s->lfd, NULL, NULL);
	if (s->fd < 0)
		return NULL;
	/* Take the ClientHello, answer in plain text, wait for the client to hang up (closing
	 * first with its bytes unread could reset the connection before it reads ours). */
	if (corio_recv(s->fd, buf, sizeof buf, 0) > 0)
		corio_send_all(s->fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
	while (corio_recv(s->fd, buf, sizeof buf, 0) > 0)
		;
	corio_close(s->fd);
	return NULL;
}

static void *t_plain_server(void *arg)
{
	srv s = { 0 };
	corio_tls_config *cc = client_config(CERT_CA);
	char port[PORTLEN];
	corio_task *task;
	corio_tls *t;
	int cfd;

	TH_CHECK(cc);
	s.lfd = listen_local(4);
	TH_CHECK(s.lfd >= 0);
	port_str(s.lfd, port);
	task = corio_spawn(plain_server, &s);
	cfd = corio_tcp_connect("127.0.0.1", port);
	TH_CHECK(cfd >= 0);
	TH_CHECK(corio_tls_connect(cfd, cc, "localhost", &t) == -EPROTO);
	TH_CHECK(corio_tls_error(NULL)[0] != '\0');
	corio_close(cfd);
	corio_join(task, NULL);
	corio_listen_close(s.lfd);
	corio_tls_config_free(cc);
	return TH_OK;
}

TH_TASK_TEST(tls_client_to_plain_server, t_plain_server)

/* ---- streams ---- */

/* Answers one line with "re: " + the line, over a stream that then sends close_notify. */
static void *stream_body(srv *s, corio_tls *t)
{
	corio_stream *st = corio_stream_new_tls(t, s->fd);
	char line[64];
	ssize_t n;

	if (!st)
		return "stream_new_tls";
	n = corio_stream_read_until(st, "\n", 1, line, sizeof line);
	if (n <= 0 || corio_stream_write(st, "re: ", 4) != 4 ||
	    corio_stream_write(st, line, (size_t)n) != n)
		return "server stream";
	s->fd = -1; /* the stream owns it (and t: serve must not free it) */
	return corio_stream_close(st) == 0 ? "stream closed" : "server stream close";
}

static void *t_stream(void *arg)
{
	srv s = { .cfg = server_config(CERT_GOOD), .body = stream_body };
	corio_tls_config *cc = client_config(CERT_CA);
	corio_stream *st;
	corio_task *task;
	corio_tls *t;
	char buf[64];
	int cfd;

	TH_CHECK(s.cfg && cc);
	cfd = start(&s, &task);
	TH_CHECK(corio_tls_connect(cfd, cc, "localhost", &t) == 0);
	TH_CHECK((st = corio_stream_new_tls(t, cfd)) != NULL);
	TH_CHECK(corio_stream_new_tls(NULL, cfd) == NULL);
	TH_CHECK(corio_stream_write(st, "hello\n", 6) == 6);
	TH_CHECK(corio_stream_flush(st) == 0);
	TH_CHECK(corio_stream_read_exact(st, buf, sizeof buf) == 10);
	TH_CHECK(memcmp(buf, "re: hello\n", 10) == 0);
	TH_CHECK(corio_stream_read_some(st, buf, sizeof buf) == 0); /* close_notify: the end */
	/* The server closed its socket: our close_notify may meet a reset; that is reported. */
	int rc = corio_stream_close(st);
	TH_CHECK(rc == 0 || rc == -ECONNRESET);
	corio_join(task, NULL);
	corio_listen_close(s.lfd);
	corio_tls_config_free(s.cfg);
	corio_tls_config_free(cc);
	TH_CHECK(s.rc == 0 && strcmp(s.res, "stream closed") == 0);
	return TH_OK;
}

TH_TASK_TEST(stream_over_tls, t_stream)

/* ---- the reader writes while the writer sends ---- */

/* Echoes like echo_body, asking for a KeyUpdate every 64 KiB: the client's reader must
 * answer with a record of its own (queued beside the writer's, sent by whoever holds the
 * send lock) while the client's writer may be parked in a send, and both sides switch
 * keys mid-stream without losing or reordering a byte. */
static void *key_update_body(srv *s, corio_tls *t)
{
	static char buf[20000];
	size_t since = 0;
	ssize_t n;

	while ((n = corio_tls_read(t, buf, sizeof buf)) > 0) {
		since += (size_t)n;
		if (since >= 65536) {
			since = 0;
			if (SSL_key_update(t->ssl, SSL_KEY_UPDATE_REQUESTED) != 1)
				return "SSL_key_update";
		}
		if (corio_tls_write(t, buf, (size_t)n) != n)
			return "server write";
	}
	if (n != 0)
		return "server read did not end with close_notify";
	return corio_tls_shutdown(t) == 0 ? TH_OK : "server shutdown";
}

static void *t_key_update(void *arg)
{
	srv s = { .cfg = server_config(CERT_GOOD), .body = key_update_body };
	corio_tls_config *cc = client_config(CERT_CA);
	size_t len = 2u << 20;
	unsigned char *out = malloc(len), *in = malloc(len);
	corio_task *task, *wt;
	corio_tls *t;
	wjob w;
	int cfd;

	TH_CHECK(s.cfg && cc && out && in);
	fill(out, len, 7);
	cfd = start(&s, &task);
	TH_CHECK(corio_tls_connect(cfd, cc, "localhost", &t) == 0);
	w = (wjob){ .t = t, .p = out, .len = len };
	wt = corio_spawn(writer, &w);
	TH_CHECK(th_tls_read_exact(t, in, len) == (ssize_t)len);
	TH_CHECK(memcmp(in, out, len) == 0);
	TH_CHECK(corio_tls_read(t, in, 1) == 0);
	corio_join(wt, NULL);
	TH_CHECK(w.rc == (ssize_t)len);
	corio_tls_free(t);
	stop(&s, task, cfd);
	corio_tls_config_free(cc);
	TH_CHECK(s.rc == 0);
	TH_CHECK(s.res == TH_OK);
	free(out);
	free(in);
	return TH_OK;
}

TH_TASK_TEST(key_updates_while_writing, t_key_update)

/* ---- gathered writes ---- */

/* Reads n pieces' worth (known total), then answers with one byte and close_notify. */
static void *gather_body(srv *s, corio_tls *t)
{
	unsigned char *buf = malloc(s->len);
	void *res = TH_OK;

	if (!buf || th_tls_read_exact(t, buf, s->len) != (ssize_t)s->len)
		res = "server read";
	for (size_t i = 0; res == TH_OK && i < s->len; i++)
		if (buf[i] != (unsigned char)(i % 251))
			res = "server bytes";
	free(buf);
	if (res == TH_OK && (corio_tls_write(t, "k", 1) != 1 || corio_tls_shutdown(t) != 0))
		res = "server answer";
	return res;
}

/* 300 pieces of odd sizes (some empty, some over a record) through corio__tls_writev:
 * records pile up past the first size of the send queue before a flush. */
static void *t_writev(void *arg)
{
	srv s = { .cfg = server_config(CERT_GOOD), .body = gather_body };
	corio_tls_config *cc = client_config(CERT_CA);
	struct iovec iov[300];
	unsigned char *data;
	corio_task *task;
	corio_tls *t;
	size_t total = 0;
	char b;
	int cfd;

	for (int i = 0; i < 300; i++)
		total += (size_t)(i * 37 % 1000) + (i % 50 == 0 ? 40000 : 0);
	data = malloc(total);
	TH_CHECK(s.cfg && cc && data);
	s.len = total;
	for (size_t i = 0, off = 0; i < 300; i++) {
		iov[i].iov_base = data + off;
		iov[i].iov_len = (i * 37 % 1000) + (i % 50 == 0 ? 40000 : 0);
		off += iov[i].iov_len;
	}
	for (size_t i = 0; i < total; i++)
		data[i] = (unsigned char)(i % 251);
	cfd = start(&s, &task);
	TH_CHECK(corio_tls_connect(cfd, cc, "localhost", &t) == 0);
	TH_CHECK(corio__tls_writev(t, iov, 300) == (ssize_t)total);
	TH_CHECK(t->wq.len == 0);
	TH_CHECK(corio_tls_read(t, &b, 1) == 1 && b == 'k');
	TH_CHECK(corio_tls_read(t, &b, 1) == 0);
	TH_CHECK(!corio__tls_buffered(t));
	corio_tls_free(t);
	stop(&s, task, cfd);
	corio_tls_config_free(cc);
	free(data);
	TH_CHECK(s.rc == 0);
	TH_CHECK(s.res == TH_OK);
	return TH_OK;
}

TH_TASK_TEST(gathered_writes, t_writev)

/* ---- kernel TLS ---- */

/* Whether net.ipv4.tcp_available_ulp lists "tls" (1), not (0), or cannot be read (-1). */
static int ulp_listed(void)
{
	char buf[256] = "";
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
	bool found = false;

	if (!f)
		return -1;
	if (fgets(buf, sizeof buf, f))
		for (char *w = strtok(buf, " \n"); w; w = strtok(NULL, " \n"))
			found |= strcmp(w, "tls") == 0;
	fclose(f);
	return found;
}

/* The probe agrees with the kernel's list (a module it loaded shows up there afterwards),
 * answers the same twice, leaks no descriptor (TH_RUN counts them), and connections keep
 * working through the BIO whatever it said. */
static void *t_ktls(void *arg)
{
	int before = ulp_listed(), rc = corio__tls_ktls_probe(), after = ulp_listed();
	const char *e;

	TH_CHECK(rc <= 0);
	TH_CHECK(corio__tls_ktls_probe() == rc);
	if (before == 1)
		TH_CHECK(rc == 0);
	if (rc == 0 && after >= 0)
		TH_CHECK(after == 1);
	if (rc < 0 && after >= 0) {
		TH_CHECK(after == 0);
		TH_CHECK(rc == -ENOENT);
	}
	e = echo_through("localhost", 100000);
	TH_CHECK(e == NULL);
	return TH_OK;
}

TH_TASK_TEST(ktls_probe_and_fallback, t_ktls)

/* ---- arguments ---- */

static void *t_args(void *arg)
{
	corio_tls_config *sc = corio_tls_config_new(true), *cc = corio_tls_config_new(false);
	corio_tls *t = NULL;
	char b;

	TH_CHECK(sc && cc);
	TH_CHECK(corio_tls_connect(0, NULL, "localhost", &t) == -EINVAL);
	TH_CHECK(corio_tls_connect(0, sc, "localhost", &t) == -EINVAL);
	TH_CHECK(corio_tls_connect(0, cc, "localhost", NULL) == -EINVAL);
	TH_CHECK(corio_tls_connect(0, cc, NULL, &t) == -EINVAL); /* verifying needs a name */
	TH_CHECK(corio_tls_connect(-1, cc, "localhost", &t) == -EBADF);
	TH_CHECK(corio_tls_accept(0, cc, &t) == -EINVAL);
	TH_CHECK(corio_tls_accept(0, sc, &t) == -EINVAL); /* no certificate */
	TH_CHECK(t == NULL);
	TH_CHECK(corio_tls_read(NULL, &b, 1) == -EINVAL);
	TH_CHECK(corio_tls_write(NULL, &b, 1) == -EINVAL);
	TH_CHECK(corio_tls_shutdown(NULL) == -EINVAL);
	TH_CHECK(corio_tls_config_alpn(cc, "") == -EINVAL);
	TH_CHECK(corio_tls_config_alpn(cc, "h2,,http/1.1") == -EINVAL);
	TH_CHECK(corio_tls_config_alpn(cc, NULL) == -EINVAL);
	TH_CHECK(corio_tls_config_ca(cc, NULL, NULL) == -EINVAL);
	TH_CHECK(corio_tls_config_ca(cc, "/nonexistent/ca.pem", NULL) == -ENOENT);
	TH_CHECK(corio_tls_config_cert(sc, "/nonexistent/a.pem", "/nonexistent/a.key") == -ENOENT);
	TH_CHECK(corio_tls_config_cert(sc, g_certs.path[CERT_GOOD], g_certs.path[CERT_WRONG_KEY]) ==
		 -EKEYREJECTED);
	corio_tls_free(NULL);
	corio_tls_config_free(NULL);
	corio_tls_config_free(sc);
	corio_tls_config_free(cc);
	return TH_OK;
}

TH_TASK_TEST(bad_arguments, t_args)

START_TEST(outside_a_task)
{
	corio_tls_config *cc = client_config(CERT_CA);
	corio_tls *t = NULL;
	int sv[2];

	ck_assert_ptr_nonnull(cc);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(corio_tls_connect(sv[0], cc, "localhost", &t), -EPERM);
	ck_assert_ptr_null(t);
	close(sv[0]);
	close(sv[1]);
	corio_tls_config_free(cc);
}
END_TEST

int main(void)
{
	int rc;

	if (!th_certs_make(&g_certs)) {
		fprintf(stderr, "test_tls: cannot make the test certificates\n");
		th_certs_remove(&g_certs);
		return 1;
	}
	rc = th_main(TH_SUITE("tls", TH_TIMEOUT, echo_both_ways, verification_failures,
			      plain_bytes_to_tls_server, cut_without_close_notify,
			      read_timeout_loses_nothing, cancelled_read_loses_nothing,
			      configs_shared_and_client_certs, tls12, tls_client_to_plain_server,
			      stream_over_tls, key_updates_while_writing, gathered_writes,
			      ktls_probe_and_fallback, bad_arguments, outside_a_task));
	th_certs_remove(&g_certs);
	return rc;
}
