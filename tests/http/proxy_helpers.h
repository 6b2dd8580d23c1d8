/* tests/http/proxy_helpers.h: what the proxy and tracing suites (tests/http/test_client_proxy.c,
 * test_client_trace.c) share: origin servers (corio's HTTP server, plain or TLS with the test
 * CA's "localhost" certificate) whose handler echoes what a proxy must not leak, and a
 * forward proxy written here as corio tasks on 127.0.0.1 port 0: absolute-form requests
 * forwarded one by one (Content-Length framed answers) over an upstream connection per
 * origin, CONNECT answered with 200 and spliced both ways, and misbehaving modes (407
 * with and without a body, 403, garbage, a cut head, silence, a head in two pieces, a head
 * without end). Every task is tracked and cancelled at the end; no test waits a fixed time. */
#ifndef CORIO_TESTS_HTTP_PROXY_HELPERS_H
#define CORIO_TESTS_HTTP_PROXY_HELPERS_H

#include "tests/support/helpers.h" /* first: _GNU_SOURCE */

#include <strings.h>

#include <corio/http.h>
#include <corio/http_server.h>
#include <corio/net.h>
#include <corio/tls.h>

#include "tests/support/certs.h"

static th_certs g_certs;

/* ---- origin servers ------------------------------------------------------------------- */

static int g_redirect_port; /* /redir: 302 to http://127.0.0.1:<this>/h */

static void origin_handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	const char *path = corio_http_in_path(req);
	char tmp[1024];

	(void)ud;
	if (!strcmp(path, "/h")) { /* what reached the origin */
		const char *pa = corio_http_in_header(req, "Proxy-Authorization");
		const char *h = corio_http_in_header(req, "Host");

		snprintf(tmp, sizeof tmp, "PA=%s|Host=%s", pa ? pa : "(none)", h ? h : "(none)");
		corio_http_out_send(resp, tmp, strlen(tmp));
	} else if (!strcmp(path, "/redir")) {
		snprintf(tmp, sizeof tmp, "http://127.0.0.1:%d/h", g_redirect_port);
		corio_http_out_status(resp, 302);
		corio_http_out_header(resp, "Location", tmp);
		corio_http_out_send(resp, "", 0);
	} else {
		corio_http_out_send(resp, "hello", 5);
	}
}

typedef struct origin {
	corio_http_server *srv;
	corio_task *task;
	int port;
} origin;

static void *origin_serve(void *arg)
{
	return (void *)(intptr_t)corio_http_server_serve(arg);
}

/* A server on 127.0.0.1 port 0 with handler h (TLS with the "localhost" certificate when
 * tls), serving in a task. */
static bool origin_start_with(origin *s, bool tls, corio_http_handler h)
{
	corio_http_server_opts o;
	corio_tls_config *cfg = tls ? th_tls_server(&g_certs, CERT_GOOD) : NULL;

	corio_http_server_opts_init(&o);
	if (tls && !cfg)
		return false;
	o.tls = cfg;
	s->srv = corio_http_server_new(&o, h, NULL);
	corio_tls_config_free(cfg);
	if (!s->srv || corio_http_server_listen(s->srv, "127.0.0.1", 0) != 0)
		return false;
	s->port = corio_http_server_port(s->srv);
	s->task = corio_spawn(origin_serve, s->srv);
	return s->task != NULL;
}

static bool origin_start(origin *s, bool tls)
{
	return origin_start_with(s, tls, origin_handler);
}

static void origin_stop(origin *s)
{
	if (!s->srv)
		return;
	corio_http_server_shutdown(s->srv, CORIO_MS(50));
	if (s->task)
		corio_join(s->task, NULL);
	corio_http_server_free(s->srv);
	s->srv = NULL;
}

/* ---- the proxy ------------------------------------------------------------------------ */

enum pmode {
	PM_GOOD, PM_407, PM_407_BODY, PM_403, PM_GARBAGE, PM_CUT, PM_SILENT, PM_SPLIT,
	PM_ENDLESS, /* a head without end: fields until the client goes */
};

#define PTASKS 128
#define PBUF 65536

typedef struct tproxy {
	int lfd, port;
	char url[64];        /* http://127.0.0.1:port */
	enum pmode mode;
	int accepts, connects, forwards;
	char head[4096];     /* the last request head received (CONNECT or forwarded) */
	char connect_target[256];
	corio_task *acceptor;
	corio_task *tasks[PTASKS];
	size_t ntasks;
} tproxy;

static inline void ptrack(tproxy *p, corio_task *t)
{
	if (t && p->ntasks < PTASKS)
		p->tasks[p->ntasks++] = t;
	else if (t)
		corio_detach(t);
}

/* Receives until buf[0..*have) holds a head; its length, or -1. */
static inline ssize_t p_read_head(int fd, char *buf, size_t *have)
{
	char *end;

	while (!(end = memmem(buf, *have, "\r\n\r\n", 4))) {
		ssize_t n = corio_recv(fd, buf + *have, PBUF - 1 - *have, 0);

		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
	return end - buf + 4;
}

/* A header's value in head (case-insensitive name), copied to out; false when absent. */
static inline bool p_header(const char *head, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (const char *l = strstr(head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n"))
		if (!strncasecmp(l + 2, name, nl) && l[2 + nl] == ':') {
			const char *v = l + 3 + nl, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, cap, "%.*s", (int)(e - v), v);
			return true;
		}
	return false;
}

/* One direction of a tunnel; the second to finish closes both sockets. */
typedef struct ptunnel {
	int a, b;
	int refs;
} ptunnel;

typedef struct pump_arg {
	ptunnel *s;
	bool up; /* a -> b, else b -> a */
} pump_arg;

static void *p_pump(void *arg)
{
	pump_arg *pa = arg;
	ptunnel *s = pa->s;
	int from = pa->up ? s->a : s->b, to = pa->up ? s->b : s->a;
	char *buf = malloc(PBUF);
	ssize_t n;

	free(pa);
	while ((n = corio_recv(from, buf, PBUF, 0)) > 0)
		if (corio_send_all(to, buf, (size_t)n) < 0)
			break;
	shutdown(to, SHUT_WR);
	free(buf);
	if (--s->refs == 0) {
		corio_close(s->a);
		corio_close(s->b);
		free(s);
	}
	return NULL;
}

static inline void p_splice(tproxy *p, int client, int up)
{
	ptunnel *s = malloc(sizeof *s);

	*s = (ptunnel){client, up, 2};
	for (int i = 0; i < 2; i++) {
		pump_arg *pa = malloc(sizeof *pa);

		*pa = (pump_arg){s, i == 0};
		ptrack(p, corio_spawn(p_pump, pa));
	}
}

/* host:port of "CONNECT host:port ..." or of an absolute-form target; false when bad. */
static inline bool p_split(const char *hp, char *host, size_t hcap, char *port)
{
	const char *colon = strrchr(hp, ':');

	if (!colon || colon == hp)
		return false;
	snprintf(host, hcap, "%.*s", (int)(colon - hp), hp);
	snprintf(port, 8, "%s", colon + 1);
	if (host[0] == '[') { /* [v6] */
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	return true;
}

/* Waits for the client to go (whatever it sends), then closes. */
static inline void p_linger(int fd)
{
	char b[512];

	while (corio_recv(fd, b, sizeof b, 0) > 0)
		;
	corio_close(fd);
}

static inline void p_send(int fd, const char *s)
{
	corio_send_all(fd, s, strlen(s));
}

static void p_connect(tproxy *p, int fd, const char *buf, size_t hl, size_t have)
{
	char hp[256], host[256], port[8];
	int up;

	p->connects++;
	sscanf(buf, "CONNECT %255s", hp);
	snprintf(p->connect_target, sizeof p->connect_target, "%s", hp);
	switch (p->mode) {
	case PM_407:
		p_send(fd, "HTTP/1.1 407 Proxy Authentication Required\r\n"
			   "Proxy-Authenticate: Basic realm=\"t\"\r\nContent-Length: 0\r\n\r\n");
		return p_linger(fd);
	case PM_407_BODY:
		p_send(fd, "HTTP/1.1 407 Proxy Authentication Required\r\n"
			   "Proxy-Authenticate: Basic realm=\"t\"\r\nContent-Length: 12\r\n\r\n"
			   "auth needed\n");
		return p_linger(fd);
	case PM_403:
		p_send(fd, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
		return p_linger(fd);
	case PM_GARBAGE:
		p_send(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
		return p_linger(fd);
	case PM_CUT:
		p_send(fd, "HTTP/1.1 200 Connection est");
		corio_close(fd);
		return;
	case PM_SILENT:
		return p_linger(fd);
	case PM_ENDLESS:
		p_send(fd, "HTTP/1.1 200 Connection established\r\n");
		for (int i = 0; i < 100000; i++)
			if (corio_send_all(fd, "X-Pad: 0123456789abcdef0123456789abcdef\r\n", 41) < 0)
				break;
		return p_linger(fd);
	default:
		break;
	}
	if (!p_split(hp, host, sizeof host, port) || (up = corio_tcp_connect(host, port)) < 0) {
		p_send(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
		return p_linger(fd);
	}
	if (p->mode == PM_SPLIT) { /* the head in two segments, a yield apart */
		p_send(fd, "HTTP/1.1 200 Connection established\r\n");
		corio_yield();
		p_send(fd, "Proxy-Agent: t\r\n\r\n");
	} else {
		p_send(fd, "HTTP/1.1 200 Connection established\r\n\r\n");
	}
	if (have > hl)
		corio_send_all(up, buf + hl, have - hl);
	p_splice(p, fd, up);
}

/* Relays one Content-Length framed answer from up to fd. 0, or -1 (then both close). */
static int p_relay(int up, int fd, char *buf)
{
	size_t have = 0;
	ssize_t hl = p_read_head(up, buf, &have);
	char v[32];
	size_t need;

	if (hl < 0)
		return -1;
	buf[hl - 1] = 0;
	need = (size_t)hl + (p_header(buf, "Content-Length", v, sizeof v) ? strtoul(v, NULL, 10) : 0);
	buf[hl - 1] = '\n';
	while (have < need) {
		ssize_t n = corio_recv(up, buf + have, PBUF - have, 0);

		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
	return corio_send_all(fd, buf, need) < 0 ? -1 : 0;
}

/* One absolute-form request: rewritten to origin-form and sent upstream. */
static int p_forward(tproxy *p, int fd, char *buf, size_t hl, int *up, char *upkey)
{
	char method[16], target[1024], hp[300], host[256], port[8], *rest, *slash;
	char *out = malloc(PBUF);
	int n, rc = -1;

	p->forwards++;
	if (sscanf(buf, "%15s %1023s", method, target) != 2 || strncmp(target, "http://", 7))
		goto done;
	slash = strchr(target + 7, '/');
	snprintf(hp, sizeof hp, "%.*s", slash ? (int)(slash - target - 7) : (int)strlen(target + 7),
		 target + 7);
	if (!p_split(hp, host, sizeof host, port))
		goto done;
	if (strcmp(upkey, hp) != 0) {
		if (*up >= 0)
			corio_close(*up);
		if ((*up = corio_tcp_connect(host, port)) < 0)
			goto done;
		snprintf(upkey, 300, "%s", hp);
	}
	rest = strstr(buf, "\r\n");
	n = snprintf(out, PBUF, "%s %s HTTP/1.1%.*s", method, slash ? slash : "/",
		     (int)(buf + hl - rest), rest);
	if (corio_send_all(*up, out, (size_t)n) >= 0)
		rc = p_relay(*up, fd, out);
done:
	free(out);
	return rc;
}

typedef struct pconn_arg {
	tproxy *p;
	int fd;
} pconn_arg;

static void *p_conn(void *arg)
{
	pconn_arg *a = arg;
	tproxy *p = a->p;
	int fd = a->fd, up = -1;
	char *buf = malloc(PBUF), upkey[300] = "";
	size_t have = 0;

	free(a);
	for (;;) {
		ssize_t hl = p_read_head(fd, buf, &have);

		if (hl < 0)
			break;
		snprintf(p->head, sizeof p->head, "%.*s", (int)hl, buf);
		if (!strncmp(buf, "CONNECT ", 8)) {
			p_connect(p, fd, buf, (size_t)hl, have);
			fd = -1; /* the tunnel's now */
			break;
		}
		if (p_forward(p, fd, buf, (size_t)hl, &up, upkey) < 0)
			break;
		memmove(buf, buf + hl, have - (size_t)hl);
		have -= (size_t)hl;
	}
	if (fd >= 0)
		corio_close(fd);
	if (up >= 0)
		corio_close(up);
	free(buf);
	return NULL;
}

static void *p_accept(void *arg)
{
	tproxy *p = arg;

	for (;;) {
		int fd = corio_accept(p->lfd, NULL, NULL);
		pconn_arg *a;

		if (fd < 0)
			return NULL;
		p->accepts++;
		a = malloc(sizeof *a);
		*a = (pconn_arg){p, fd};
		ptrack(p, corio_spawn(p_conn, a));
	}
}

static inline bool proxy_start(tproxy *p, enum pmode mode)
{
	memset(p, 0, sizeof *p);
	p->mode = mode;
	p->lfd = corio_tcp_listen("127.0.0.1", "0", 64);
	if (p->lfd < 0)
		return false;
	p->port = corio_sock_port(p->lfd);
	snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", p->port);
	p->acceptor = corio_spawn(p_accept, p);
	return p->acceptor != NULL;
}

/* The proxy's URL with userinfo ("user:pass@"), into out. */
static inline const char *proxy_url_auth(const tproxy *p, const char *userinfo, char *out,
					 size_t cap)
{
	snprintf(out, cap, "http://%s@127.0.0.1:%d", userinfo, p->port);
	return out;
}

static inline void proxy_stop(tproxy *p)
{
	if (!p->acceptor)
		return;
	corio_listen_close(p->lfd);
	corio_join(p->acceptor, NULL);
	p->acceptor = NULL;
	/* Tasks spawned while others are cancelled are tracked too: walk to the end. */
	for (size_t i = 0; i < p->ntasks; i++) {
		corio_cancel(p->tasks[i]);
		corio_join(p->tasks[i], NULL);
	}
}

/* GET url with c (extra headers h[0..nh)); the status or -errno, the body into out. */
static inline int p_get(corio_http_client *c, const char *url, const char *proxy,
			const corio_http_header *h, size_t nh, char *out, size_t cap)
{
	struct corio_http_request q = {.url = url, .headers = h, .nheaders = nh, .proxy = proxy};
	corio_http_response *r = NULL;
	const char *body;
	size_t len;
	int rc = corio_http_request(c, &q, &r);

	if (out && cap)
		out[0] = 0;
	if (rc == 0 && (rc = corio_http_response_text(r, &body, &len)) == 0) {
		if (out)
			snprintf(out, cap, "%.*s", (int)len, body);
		rc = corio_http_response_status(r);
	}
	corio_http_response_free(r);
	return rc;
}

/* A client trusting the test CA, with o's other options. */
static inline corio_http_client *p_client(corio_http_client_opts o)
{
	corio_http_client *c;

	if (!(o.tls = th_tls_client(&g_certs, CERT_CA)))
		return NULL;
	c = corio_http_client_new(&o);
	corio_tls_config_free(o.tls);
	return c;
}

/* main(): the certificates around the suite. */
static inline int p_main(Suite *s)
{
	int rc;

	if (!th_certs_make(&g_certs)) {
		fprintf(stderr, "cannot make the test certificates\n");
		th_certs_remove(&g_certs);
		return 1;
	}
	rc = th_main(s);
	th_certs_remove(&g_certs);
	return rc;
}

#endif
