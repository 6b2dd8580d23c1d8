/* tests/http/test_ws_client.c: the WebSocket client (corio_ws_connect) against the corio
 * server over ws:// and wss:// (messages of 0 B to 1 MiB, text and binary, both close
 * directions, subprotocols, a receiver and a sender in two tasks, a close from another task
 * while one receives), and against a raw fake server that answers wrong: masked frames, a
 * wrong Accept, a 200, an extension or a protocol never offered, silence. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>

#include <corio/http.h>
#include <corio/http_server.h>
#include <corio/tls.h>
#include <corio/ws.h>

#include "tests/support/helpers.h"
#include "tests/support/certs.h"
#include "tests/http/ws_helpers.h"
#include "http/ws/ws_internal.h" /* white-box: the Accept value a fake server must send */

static th_certs g_certs;

/* A server with TLS (the good certificate) when tls. */
static int start(wssrv *s, wsctx *x, bool tls)
{
	corio_http_server_opts o;
	int rc;

	corio_http_server_opts_init(&o);
	if (tls && !(o.tls = th_tls_server(&g_certs, CERT_GOOD)))
		return -EINVAL;
	rc = wssrv_start(s, &o, x);
	corio_tls_config_free(o.tls); /* the server holds its own reference */
	return rc;
}

static corio_http_client *client(bool tls)
{
	corio_http_client_opts o = { 0 };
	corio_http_header h[2] = { { "X-Default", "1" }, { "Accept-Encoding", "gzip" } };
	corio_http_client *c;

	o.headers = h;
	o.nheaders = 2;
	if (tls && !(o.tls = th_tls_client(&g_certs, CERT_CA)))
		return NULL;
	c = corio_http_client_new(&o);
	corio_tls_config_free(o.tls);
	return c;
}

static void url_of(char *u, size_t cap, bool tls, int port, const char *path)
{
	snprintf(u, cap, "%s://%s:%d%s", tls ? "wss" : "ws", tls ? "localhost" : "127.0.0.1", port,
		 path);
}

/* Each size as text and as binary, echoed by the server. */
static const char *echo_sizes(corio_ws *ws)
{
	static const size_t sizes[] = { 0, 1, 125, 126, 65535, 65536, 1u << 20 };
	char *p = malloc(1u << 20), *q = malloc(1u << 20);

	TH_CHECK(p && q);
	for (size_t i = 0; i < (1u << 20); i++)
		p[i] = (char)('a' + i % 26);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		for (int op = CORIO_WS_TEXT; op <= CORIO_WS_BINARY; op++) {
			int got = 0;

			TH_CHECK(corio_ws_send(ws, op, p, sizes[i]) == 0);
			TH_CHECK(corio_ws_recv(ws, &got, q, 1u << 20) == (ssize_t)sizes[i]);
			TH_CHECK(got == op && memcmp(p, q, sizes[i]) == 0);
		}
	/* a buffer too small: the message is dropped, the connection goes on */
	TH_CHECK(corio_ws_send(ws, CORIO_WS_BINARY, p, 100) == 0);
	TH_CHECK(corio_ws_recv(ws, &(int){ 0 }, q, 99) == -EMSGSIZE);
	TH_CHECK(corio_ws_send(ws, CORIO_WS_BINARY, p, 3) == 0);
	TH_CHECK(corio_ws_recv(ws, &(int){ 0 }, q, 3) == 3);
	free(p);
	free(q);
	return TH_OK;
}

enum { E_TLS = 1, E_ZIP_CLIENT = 2, E_ZIP_SERVER = 4 };

/* arg: E_* flags (TLS; permessage-deflate offered by the client, accepted by the server) */
static void *t_echo(void *arg)
{
	int fl = (int)(intptr_t)arg;
	bool tls = fl & E_TLS;
	wsctx x;
	wssrv s;
	corio_http_client *c;
	corio_ws *ws;
	corio_ws_opts o;
	char url[128];
	const char *why;

	wsctx_init(&x);
	x.o.deflate = fl & E_ZIP_SERVER;
	corio_ws_opts_init(&o);
	o.deflate = fl & E_ZIP_CLIENT;
	TH_CHECK(start(&s, &x, tls) == 0);
	TH_CHECK((c = client(tls)) != NULL);
	url_of(url, sizeof url, tls, s.port, "/echo");
	TH_CHECK(corio_ws_connect_opts(c, url, &o, &ws) == 0);
	TH_CHECK(corio_ws_protocol(ws) == NULL && corio_ws_close_code(ws) == 0);
	/* white-box: compression is on only when both sides wanted it */
	TH_CHECK((ws->zip != NULL) == ((fl & E_ZIP_CLIENT) && (fl & E_ZIP_SERVER)));
	/* bad arguments */
	TH_CHECK(corio_ws_send(ws, CORIO_WS_TEXT, "\xff", 1) == -EINVAL);
	TH_CHECK(corio_ws_send(ws, CORIO_WS_CLOSE, "", 0) == -EINVAL);
	TH_CHECK(corio_ws_send(ws, CORIO_WS_PING, url, 126) == -EINVAL);
	TH_CHECK(corio_ws_close(ws, 1005, NULL) == -EINVAL);
	TH_CHECK(corio_ws_close(ws, 0, "reason") == -EINVAL);
	if ((why = echo_sizes(ws)))
		return (void *)why;
	TH_CHECK(corio_ws_send(ws, CORIO_WS_PING, "p", 1) == 0); /* its pong is consumed */
	TH_CHECK(corio_ws_close(ws, 4001, "done \xe2\x9c\x93") == 0);
	TH_CHECK(corio_ws_close_code(ws) == 4001); /* the server echoed our code */
	TH_CHECK(corio_ws_send(ws, CORIO_WS_TEXT, "x", 1) == -EPIPE);
	TH_CHECK(corio_ws_recv(ws, &(int){ 0 }, url, sizeof url) == -EPIPE);
	TH_CHECK(corio_ws_close(ws, 1000, NULL) == 0);
	corio_ws_free(ws);
	TH_CHECK(corio_event_wait(&x.done) == 0);
	TH_CHECK(x.recv_rc == -EPIPE && x.close_code == 4001 && x.echoed == 16);
	corio_http_client_free(c);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}

START_TEST(ws_client_echo_plain)
{
	TH_RUN_EXPECT_OK(NULL, t_echo, NULL);
}
END_TEST

START_TEST(ws_client_echo_tls)
{
	TH_RUN_EXPECT_OK(NULL, t_echo, (void *)E_TLS);
}
END_TEST

/* permessage-deflate on both sides (over ws:// and wss://), and offered or accepted by one
 * side only (then not used) */
START_TEST(ws_client_echo_deflate)
{
	TH_RUN_EXPECT_OK(NULL, t_echo, (void *)(E_ZIP_CLIENT | E_ZIP_SERVER));
	TH_RUN_EXPECT_OK(NULL, t_echo, (void *)(E_TLS | E_ZIP_CLIENT | E_ZIP_SERVER));
	TH_RUN_EXPECT_OK(NULL, t_echo, (void *)E_ZIP_CLIENT);
	TH_RUN_EXPECT_OK(NULL, t_echo, (void *)E_ZIP_SERVER);
}
END_TEST

/* The server closes (1000 "bye"): the client's receive answers it and returns -EPIPE. */
static void *t_server_closes(void *arg)
{
	bool tls = arg != NULL;
	wsctx x;
	wssrv s;
	corio_http_client *c;
	corio_ws *ws;
	corio_ws_opts o;
	char url[128], buf[16];

	wsctx_init(&x);
	x.o.protocols = "b, a";
	TH_CHECK(start(&s, &x, tls) == 0);
	TH_CHECK((c = client(tls)) != NULL);
	url_of(url, sizeof url, tls, s.port, "/close");
	corio_ws_opts_init(&o);
	o.protocols = "a, b";
	TH_CHECK(corio_ws_connect_opts(c, url, &o, &ws) == 0);
	TH_CHECK(corio_ws_protocol(ws) && !strcmp(corio_ws_protocol(ws), "b"));
	TH_CHECK(corio_ws_recv(ws, &(int){ 0 }, buf, sizeof buf) == -EPIPE);
	TH_CHECK(corio_ws_close_code(ws) == 1000 && !strcmp(corio_ws_close_reason(ws), "bye"));
	TH_CHECK(corio_ws_close(ws, 1000, NULL) == 0);
	corio_ws_free(ws);
	TH_CHECK(corio_event_wait(&x.done) == 0);
	TH_CHECK(x.close_rc == 0 && x.close_code == 1000);
	corio_http_client_free(c);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}

START_TEST(ws_client_server_closes)
{
	TH_RUN_EXPECT_OK(NULL, t_server_closes, NULL);
	TH_RUN_EXPECT_OK(NULL, t_server_closes, (void *)1);
}
END_TEST

/* Short reads and writes (CORIO_FAULTS "short": receives, sends and TLS records cut
 * anywhere; the injector leaves sendmsg whole), over plain TCP, TLS and with compression. */
static const char *const fault_specs[] = { "1:short@0.5", "2:short@0.9", "3:short@0.3" };

START_TEST(ws_client_echo_short_io)
{
	corio_config cfg = th_config();

	cfg.faults = fault_specs[_i];
	TH_RUN_EXPECT_OK(&cfg, t_echo, NULL);
	TH_RUN_EXPECT_OK(&cfg, t_echo, (void *)E_TLS);
	TH_RUN_EXPECT_OK(&cfg, t_echo, (void *)(E_ZIP_CLIENT | E_ZIP_SERVER));
}
END_TEST

/* ---- behind the router ----------------------------------------------------------------- */

/* A middleware that adds a header to every answer, the 101 included. */
static void tag(corio_http_in *req, corio_http_out *resp, corio_http_handler next, void *nud,
		void *ud)
{
	(void)ud;
	corio_http_out_header(resp, "X-Tag", "1");
	next(req, resp, nud);
}

/* A room's WebSocket: the first message gets the room's name back. */
static void room(corio_http_in *req, corio_http_out *resp, void *ud)
{
	corio_ws *ws;
	char buf[64];

	(void)ud;
	if (corio_ws_accept(req, resp, &ws) != 0)
		return;
	if (corio_ws_recv(ws, &(int){ 0 }, buf, sizeof buf) >= 0) {
		const char *r = corio_http_in_param(req, "room");

		corio_ws_send(ws, CORIO_WS_TEXT, r, strlen(r));
		corio_ws_close(ws, CORIO_WS_NORMAL, NULL);
	}
	corio_ws_free(ws);
}

/* corio_ws_accept from a routed handler behind middleware. */
static void *t_router(void *arg)
{
	corio_http_router *r = corio_http_router_new();
	wssrv s;
	corio_http_client *c;
	corio_ws *ws;
	char url[128], buf[64];

	(void)arg;
	TH_CHECK(r && corio_http_route(r, "GET", "/rooms/{room}", room, NULL) == 0);
	TH_CHECK(corio_http_router_use(r, tag, NULL) == 0);
	/* a compressor armed on the response is never used: the 101 bypasses the writer */
	TH_CHECK(corio_http_router_use(r, corio_http_compress_middleware, NULL) == 0);
	memset(&s, 0, sizeof s);
	TH_CHECK((s.srv = corio_http_server_new(NULL, corio_http_router_handler, r)) != NULL);
	TH_CHECK(corio_http_server_listen(s.srv, "127.0.0.1", 0) == 0);
	s.port = corio_http_server_port(s.srv);
	TH_CHECK((s.task = corio_spawn(wssrv_task, &s)) != NULL);
	TH_CHECK((c = client(false)) != NULL);
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/rooms/kitchen", s.port);
	TH_CHECK(corio_ws_connect(c, url, &ws) == 0);
	TH_CHECK(corio_ws_send(ws, CORIO_WS_TEXT, "which?", 6) == 0);
	TH_CHECK(corio_ws_recv(ws, &(int){ 0 }, buf, sizeof buf) == 7 && !memcmp(buf, "kitchen", 7));
	TH_CHECK(corio_ws_recv(ws, &(int){ 0 }, buf, sizeof buf) == -EPIPE);
	corio_ws_free(ws);
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/nowhere", s.port);
	TH_CHECK(corio_ws_connect(c, url, &ws) == -EPROTO && ws == NULL); /* a 404 */
	corio_http_client_free(c);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	corio_http_router_free(r);
	return TH_OK;
}
TH_TASK_TEST(ws_client_router, t_router)

/* ---- two tasks on one corio_ws ------------------------------------------------------------ */

typedef struct duo {
	corio_ws *ws;
	int n, rc;
	int want;           /* got is set after this many messages */
	corio_event got;
} duo;

static void *reader(void *arg)
{
	duo *d = arg;
	char buf[64];
	ssize_t r;

	while ((r = corio_ws_recv(d->ws, &(int){ 0 }, buf, sizeof buf)) >= 0)
		if (++d->n == d->want)
			corio_event_set(&d->got);
	d->rc = (int)r;
	return NULL;
}

/* One task receives while this one sends, then closes: the reader sees the peer's close
 * answer and both end cleanly. */
static void *t_duo(void *arg)
{
	wsctx x;
	wssrv s;
	corio_http_client *c;
	duo d = { 0 };
	corio_task *t;
	char url[128];

	(void)arg;
	wsctx_init(&x);
	TH_CHECK(start(&s, &x, false) == 0);
	TH_CHECK((c = client(false)) != NULL);
	url_of(url, sizeof url, false, s.port, "/echo");
	TH_CHECK(corio_ws_connect(c, url, &d.ws) == 0);
	d.want = 100;
	corio_event_init(&d.got);
	TH_CHECK((t = corio_spawn(reader, &d)) != NULL);
	for (int i = 0; i < 100; i++)
		TH_CHECK(corio_ws_send(d.ws, CORIO_WS_TEXT, "message", 7) == 0);
	TH_CHECK(corio_event_wait(&d.got) == 0); /* the echoes came back to the reader */
	TH_CHECK(d.n == 100);
	TH_CHECK(corio_ws_recv(d.ws, &(int){ 0 }, url, sizeof url) == -EBUSY);
	TH_CHECK(corio_ws_close(d.ws, 1000, NULL) == 0);
	TH_CHECK(corio_join(t, NULL) == 0);
	TH_CHECK(d.rc == -EPIPE && corio_ws_close_code(d.ws) == 1000);
	corio_ws_free(d.ws);
	TH_CHECK(corio_event_wait(&x.done) == 0 && x.recv_rc == -EPIPE);
	corio_http_client_free(c);
	TH_CHECK(wssrv_stop(&s, CORIO_SEC(5)) == 0);
	return TH_OK;
}
TH_TASK_TEST(ws_client_reader_and_sender, t_duo)

/* ---- a fake server that answers wrong ------------------------------------------------------ */

enum { FAKE_MASKED, FAKE_BAD_ACCEPT, FAKE_200, FAKE_EXTENSION, FAKE_PROTOCOL, FAKE_SILENT,
       FAKE_NO_UPGRADE, FAKE_DEAF };

typedef struct fake {
	int lfd, port, mode;
	int close_code; /* what the client's close said (FAKE_MASKED) */
	char request[2048];
} fake;

static void *fake_task(void *arg)
{
	fake *f = arg;
	raw c = { .fd = corio_accept(f->lfd, NULL, NULL), .buf = malloc(RAW_CAP) };
	char acc[29], resp[512], *k;
	const char *key;

	if (c.fd < 0 || raw_head(&c, f->request, sizeof f->request) < 0)
		goto out;
	key = (k = strcasestr(f->request, "Sec-WebSocket-Key: ")) ? k + 19 : "";
	snprintf(resp, sizeof resp, "%.24s", key);
	corio__ws_accept_key(resp, acc);
	if (f->mode == FAKE_BAD_ACCEPT)
		acc[3] ^= 1;
	snprintf(resp, sizeof resp, "%s\r\n%sConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
		 f->mode == FAKE_200 ? "HTTP/1.1 200 OK\r\nContent-Length: 0"
				     : "HTTP/1.1 101 Switching Protocols",
		 f->mode == FAKE_NO_UPGRADE ? "" : "Upgrade: websocket\r\n", acc,
		 f->mode == FAKE_EXTENSION ? "Sec-WebSocket-Extensions: permessage-deflate\r\n"
		 : f->mode == FAKE_PROTOCOL ? "Sec-WebSocket-Protocol: chat\r\n" : "");
	if (f->mode == FAKE_SILENT) {
		raw_eof(&c);
		goto out;
	}
	if (raw_send(&c, resp, strlen(resp)) < 0)
		goto out;
	if (f->mode == FAKE_DEAF) { /* reads the client's close and never answers it */
		f->close_code = raw_expect_close(&c);
		raw_eof(&c);
		goto out;
	}
	if (f->mode != FAKE_MASKED)
		goto out;
	raw_frame(&c, true, 0, 1, true, "masked", 6); /* a server must not mask */
	f->close_code = raw_expect_close(&c);
	raw_eof(&c);
out:
	raw_close(&c);
	return NULL;
}

static const char *fake_run(int mode, int want_rc, uint64_t handshake_ns)
{
	fake f = { .mode = mode };
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	corio_http_client *c;
	corio_task *t;
	corio_ws *ws = NULL;
	corio_ws_opts o;
	char url[128], buf[16];
	int rc;

	TH_CHECK((f.lfd = corio_tcp_listen("127.0.0.1", "0", 8)) >= 0);
	TH_CHECK(getsockname(f.lfd, (struct sockaddr *)&a, &al) == 0);
	f.port = ntohs(a.sin_port);
	TH_CHECK((t = corio_spawn(fake_task, &f)) != NULL);
	TH_CHECK((c = client(false)) != NULL);
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/x?q=1", f.port);
	corio_ws_opts_init(&o);
	o.handshake_ns = handshake_ns;
	o.close_timeout_ns = CORIO_MS(200);
	rc = corio_ws_connect_opts(c, url, &o, &ws);
	if (mode == FAKE_DEAF) {
		duo d = { .ws = ws, .want = -1 };
		corio_task *rd;

		/* a close while another task receives, to a server that never answers: the
		 * close times out, the connection goes, the reader sees the end */
		TH_CHECK(rc == 0 && (rd = corio_spawn(reader, &d)) != NULL);
		corio_yield(); /* the reader parks in its receive */
		TH_CHECK(corio_ws_close(ws, 1001, "away") == -ETIMEDOUT);
		TH_CHECK(corio_join(rd, NULL) == 0 && d.rc == -EPIPE && d.n == 0);
		TH_CHECK(corio_ws_close_code(ws) == CORIO_WS_ABNORMAL);
		corio_ws_free(ws);
	} else if (mode == FAKE_MASKED) {
		TH_CHECK(rc == 0);
		TH_CHECK(corio_ws_recv(ws, &(int){ 0 }, buf, sizeof buf) == -EPROTO);
		TH_CHECK(corio_ws_close_code(ws) == CORIO_WS_PROTOCOL_ERROR);
		corio_ws_free(ws);
	} else if (rc != want_rc || ws) {
		return "connect's result";
	}
	corio_http_client_free(c);
	TH_CHECK(corio_join(t, NULL) == 0);
	corio_listen_close(f.lfd);
	TH_CHECK(strstr(f.request, "GET /x?q=1 HTTP/1.1\r\n") == f.request);
	TH_CHECK(strcasestr(f.request, "\r\nX-Default: 1\r\n") != NULL);
	TH_CHECK(strcasestr(f.request, "\r\nHost: 127.0.0.1:") != NULL);
	TH_CHECK(strcasestr(f.request, "\r\nSec-WebSocket-Version: 13\r\n") != NULL);
	TH_CHECK(!strcasestr(f.request, "Sec-WebSocket-Extensions"));
	TH_CHECK(mode != FAKE_MASKED || f.close_code == CORIO_WS_PROTOCOL_ERROR);
	TH_CHECK(mode != FAKE_DEAF || f.close_code == 1001);
	return TH_OK;
}

static void *t_fakes(void *arg)
{
	static const struct {
		int mode, rc;
	} k[] = { { FAKE_MASKED, 0 },         { FAKE_BAD_ACCEPT, -EPROTO },
		  { FAKE_200, -EPROTO },      { FAKE_EXTENSION, -EPROTO },
		  { FAKE_PROTOCOL, -EPROTO }, { FAKE_NO_UPGRADE, -EPROTO },
		  { FAKE_SILENT, -ETIMEDOUT }, { FAKE_DEAF, 0 } };

	(void)arg;
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
		const char *why = fake_run(k[i].mode, k[i].rc, CORIO_MS(300));

		if (why)
			return (void *)why;
	}
	return TH_OK;
}
TH_TASK_TEST(ws_client_bad_servers, t_fakes)

int main(void)
{
	int rc;

	if (!th_certs_make(&g_certs)) {
		fprintf(stderr, "test_ws_client: cannot make the test certificates\n");
		th_certs_remove(&g_certs);
		return 1;
	}
	{
		Suite *s = TH_SUITE_EACH("ws_client", 60, ws_client_echo_plain, ws_client_echo_tls,
					 ws_client_echo_deflate, ws_client_router,
					 ws_client_server_closes, ws_client_reader_and_sender,
					 ws_client_bad_servers);
		TCase *tc = tcase_create("faults");

		tcase_set_timeout(tc, 60);
		tcase_add_loop_test(tc, ws_client_echo_short_io, 0,
				    (int)(sizeof fault_specs / sizeof fault_specs[0]));
		suite_add_tcase(s, tc);
		rc = th_main(s);
	}
	th_certs_remove(&g_certs);
	return rc;
}
