/* tests/http/test_client_proxy.c: the HTTP client through proxies: no_proxy matching
 * (domains, "*", IP literals and CIDR, host:port, IPv6), the configuration from the options
 * and the environment (lowercase first, HTTP_PROXY ignored under CGI, explicit beats the
 * environment, a bad proxy in the environment fails requests instead of going direct),
 * http:// forwarded as absolute-form requests with the proxy's Basic credentials and a
 * pool of its own (never shared with direct connections), https:// through a CONNECT
 * tunnel with TLS end to end (SNI and verification of the origin), a per-request proxy
 * ("" goes direct), the caller's Proxy-Authorization kept from origins, redirects leaving
 * the proxy, ws:// and wss:// through CONNECT, and misbehaving proxies (407 with and
 * without a body, 403, garbage, a cut head, a silent proxy bounded by the connect timeout,
 * a head in pieces, a head without end, the tunnel's first bytes in the answer's segment),
 * and forwarding and tunnelling under seeded short I/O. The proxy is a corio task of the
 * test (tests/http/proxy_helpers.h); everything stays on 127.0.0.1. */
#include "tests/http/proxy_helpers.h"

#include <corio/ws.h>

#include "http/client/client_internal.h" /* white-box: no_proxy, the config, the tunnel */

/* ---- no_proxy and configuration (no loop needed) ------------------------------------------ */

typedef struct np_case {
	const char *list, *host;
	uint16_t port;
	bool match;
} np_case;

static const np_case np_cases[] = {
	{"localhost", "localhost", 80, true},
	{"localhost", "a.localhost", 80, true},
	{"localhost", "localhostx", 80, false},
	{".example.com", "example.com", 80, true},
	{".example.com", "www.example.com", 443, true},
	{"example.com", "a.b.example.com", 443, true},
	{"*.example.com", "a.example.com", 443, true},
	{".example.com", "badexample.com", 80, false},
	{"example.com", "example.com.evil", 80, false},
	{"EXAMPLE.com", "example.com", 80, true},
	{"*", "anything.at.all", 1, true},
	{"10.0.0.0/8", "10.1.2.3", 80, true},
	{"10.0.0.0/8", "11.0.0.1", 80, false},
	{"10.0.0.0/8", "ten.example", 80, false}, /* names are never resolved */
	{"192.168.1.0/25", "192.168.1.127", 80, true},
	{"192.168.1.0/25", "192.168.1.128", 80, false},
	{"192.168.1.1", "192.168.1.1", 80, true},
	{"192.168.1.1", "192.168.1.2", 80, false},
	{"host.lan:8080", "host.lan", 8080, true},
	{"host.lan:8080", "host.lan", 80, false},
	{"::1", "::1", 80, true},
	{"[::1]", "::1", 80, true},
	{"[::1]:8443", "::1", 8443, true},
	{"[::1]:8443", "::1", 443, false},
	{"fe80::/10", "fe80::1", 80, true},
	{"fe80::/10", "fec0::1", 80, false},
	{"[2001:db8::]/32", "2001:db8:1::5", 80, true},
	{"::1", "127.0.0.1", 80, false},
	{" a.com , ,b.com\t", "b.com", 80, true},
	{" a.com , ,b.com", "c.com", 80, false},
	{"", "a.com", 80, false},
	{"10.0.0.0/99,host:0,host:x,[::1", "10.0.0.1", 80, false},
};

START_TEST(no_proxy_matching)
{
	for (size_t i = 0; i < sizeof np_cases / sizeof np_cases[0]; i++) {
		const np_case *k = &np_cases[i];

		ck_assert_msg(corio__hclient_no_proxy_match(k->list, k->host, k->port) == k->match,
			      "no_proxy \"%s\" host %s:%u", k->list, k->host, k->port);
	}
}
END_TEST

static void clear_env(void)
{
	static const char *const v[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
					"no_proxy", "NO_PROXY", "REQUEST_METHOD"};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		unsetenv(v[i]);
}

static corio__hclient_proxies cfg(const char *http, const char *https, const char *no,
				  unsigned flags, int *rc)
{
	corio_http_client_opts o = {.proxy_http = http, .proxy_https = https, .no_proxy = no,
				    .flags = flags};
	corio__hclient_proxies px;

	*rc = corio__hclient_proxies_init(&px, &o);
	return px;
}

/* Each test runs in its own process (CK_FORK): the environment set here dies with it. */
START_TEST(proxy_configuration)
{
	corio__hclient_proxies px;
	corio__hclient_proxy *p;
	int rc;

	clear_env();
	setenv("http_proxy", "http://u:p@proxy.lan:3128", 1);
	setenv("HTTP_PROXY", "http://upper.lan:1", 1);
	setenv("HTTPS_PROXY", "secure.lan:8080", 1); /* no scheme: http:// */
	setenv("NO_PROXY", "internal", 1);
	px = cfg(NULL, NULL, NULL, CORIO_HTTP_TRUST_ENV, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert(px.http && !strcmp(px.http->host, "proxy.lan") && !strcmp(px.http->port, "3128"));
	ck_assert_str_eq(px.http->auth, "Basic dTpw"); /* base64("u:p") */
	ck_assert(px.https && !strcmp(px.https->host, "secure.lan") && !px.https->auth);
	ck_assert_str_eq(px.https->port, "8080");
	ck_assert_str_eq(px.no_proxy, "internal");
	corio__hclient_proxies_free(&px);
	/* Without the flag the environment is not read. */
	px = cfg(NULL, NULL, NULL, 0, &rc);
	ck_assert(rc == 0 && !px.http && !px.https && !px.no_proxy);
	/* Explicit options win, "" included (direct), field by field. */
	px = cfg("http://explicit.lan:9", "", "x.lan", CORIO_HTTP_TRUST_ENV, &rc);
	ck_assert(rc == 0 && px.http && !strcmp(px.http->host, "explicit.lan") && !px.https);
	ck_assert_str_eq(px.no_proxy, "x.lan");
	corio__hclient_proxies_free(&px);
	/* CGI: HTTP_PROXY may be a request's "Proxy:" header; never used. */
	unsetenv("http_proxy");
	setenv("REQUEST_METHOD", "GET", 1);
	px = cfg(NULL, NULL, NULL, CORIO_HTTP_TRUST_ENV, &rc);
	ck_assert(rc == 0 && !px.http && px.https);
	corio__hclient_proxies_free(&px);
	unsetenv("REQUEST_METHOD");
	px = cfg(NULL, NULL, NULL, CORIO_HTTP_TRUST_ENV, &rc);
	ck_assert(rc == 0 && px.http && !strcmp(px.http->host, "upper.lan"));
	corio__hclient_proxies_free(&px);
	/* A bad proxy in the environment is kept as an error, not dropped. */
	setenv("http_proxy", "socks5://s.lan:1080", 1);
	px = cfg(NULL, NULL, NULL, CORIO_HTTP_TRUST_ENV, &rc);
	ck_assert(rc == 0 && !px.http && px.http_err == -EPROTONOSUPPORT);
	corio__hclient_proxies_free(&px);
	/* Parsing: IPv6, default port, userinfo without password, what is refused. */
	ck_assert_int_eq(corio__hclient_proxy_parse("http://[::1]:3128", &p), 0);
	ck_assert(p->ipv6 && !strcmp(p->host, "::1"));
	corio__hclient_proxy_free(p);
	ck_assert_int_eq(corio__hclient_proxy_parse("http://user@p.lan/", &p), 0);
	ck_assert(!strcmp(p->port, "80") && !strcmp(p->auth, "Basic dXNlcjo="));
	corio__hclient_proxy_free(p);
	ck_assert_int_eq(corio__hclient_proxy_parse("http://p.lan/path", &p), -EINVAL);
	ck_assert_int_eq(corio__hclient_proxy_parse("http://a%00b:c@p.lan", &p), -EINVAL);
	ck_assert_int_eq(corio__hclient_proxy_parse("https://p.lan", &p), -EPROTONOSUPPORT);
	ck_assert_int_eq(corio__hclient_proxy_parse("", &p), 0);
	ck_assert_ptr_null(p);
	/* A bad explicit option fails the client. */
	errno = 0;
	ck_assert_ptr_null(corio_http_client_new(&(corio_http_client_opts){.proxy_http = "ftp://x"}));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- through a working proxy ------------------------------------------------------------- */

typedef struct env {
	origin plain, tls;
	tproxy px;
	corio_http_client *c;
	char purl[128];
	char u[160];
} env;

static const char *url(env *e, bool tls, const char *host, const char *path)
{
	snprintf(e->u, sizeof e->u, "%s://%s:%d%s", tls ? "https" : "http", host,
		 tls ? e->tls.port : e->plain.port, path);
	return e->u;
}

typedef void *(*env_fn)(env *e);

/* Origins (plain and TLS), a proxy in mode, a client with o (its proxies pointing at the
 * proxy when o names "PROXY"), then fn. */
static void *with_env(enum pmode mode, corio_http_client_opts o, env_fn fn)
{
	env e = {0};
	void *res = "setup failed";

	if (origin_start(&e.plain, false) && origin_start(&e.tls, true) &&
	    proxy_start(&e.px, mode)) {
		proxy_url_auth(&e.px, "user:pa%20ss", e.purl, sizeof e.purl);
		if (o.proxy_http && !strcmp(o.proxy_http, "PROXY"))
			o.proxy_http = e.purl;
		if (o.proxy_https && !strcmp(o.proxy_https, "PROXY"))
			o.proxy_https = e.purl;
		g_redirect_port = e.plain.port;
		if ((e.c = p_client(o)))
			res = fn(&e);
	}
	corio_http_client_free(e.c);
	proxy_stop(&e.px);
	origin_stop(&e.plain);
	origin_stop(&e.tls);
	return res;
}

/* A test: fn against the origins, a proxy in mode and a client with the options given
 * after (designated initializers of corio_http_client_opts). */
#define ENV_TEST(name, mode, fn, ...)                                                        \
	static void *t_##name(void *arg)                                                     \
	{                                                                                    \
		(void)arg;                                                                   \
		return with_env(mode, (corio_http_client_opts){__VA_ARGS__}, fn);           \
	}                                                                                    \
	TH_TASK_TEST(name, t_##name)

/* base64("user:pa ss") */
#define PA_USER "Basic dXNlcjpwYSBzcw=="

static void *c_forward(env *e)
{
	corio_http_client_stats st;
	char out[256], want[64];

	TH_CHECK(p_get(e->c, url(e, false, "127.0.0.1", "/h"), NULL, NULL, 0, out, sizeof out) == 200);
	snprintf(want, sizeof want, "Host=127.0.0.1:%d", e->plain.port);
	TH_CHECK(strstr(out, want));
	/* absolute-form, with the proxy's credentials */
	snprintf(want, sizeof want, "GET http://127.0.0.1:%d/h HTTP/1.1\r\n", e->plain.port);
	TH_CHECK(!strncmp(e->px.head, want, strlen(want)));
	TH_CHECK(strstr(e->px.head, "\r\nProxy-Authorization: " PA_USER "\r\n"));
	/* the same proxy connection serves the next request, to another origin too */
	TH_CHECK(p_get(e->c, url(e, false, "localhost", "/"), NULL, NULL, 0, out, sizeof out) == 200);
	TH_CHECK(!strcmp(out, "hello"));
	corio_http_client_stats_get(e->c, &st);
	TH_CHECK(st.connects == 1 && st.reuses == 1 && st.proxied == 2 && e->px.accepts == 1);
	TH_CHECK(e->px.forwards == 2 && e->px.connects == 0);
	/* Direct ("" for this request): a connection of its own, no proxy credentials. */
	TH_CHECK(p_get(e->c, url(e, false, "127.0.0.1", "/h"), "", NULL, 0, out, sizeof out) == 200);
	TH_CHECK(strstr(out, "PA=(none)"));
	corio_http_client_stats_get(e->c, &st);
	TH_CHECK(st.connects == 2 && st.proxied == 2 && e->px.forwards == 2);
	return TH_OK;
}

ENV_TEST(http_forwarded_absolute_form, PM_GOOD, c_forward, .proxy_http = "PROXY")

static void *c_tunnel(env *e)
{
	corio_http_client_stats st;
	char out[256], want[64];

	TH_CHECK(p_get(e->c, url(e, true, "localhost", "/h"), NULL, NULL, 0, out, sizeof out) == 200);
	TH_CHECK(strstr(out, "PA=(none)")); /* the credentials went to the proxy only */
	snprintf(want, sizeof want, "CONNECT localhost:%d HTTP/1.1\r\n", e->tls.port);
	TH_CHECK(!strncmp(e->px.head, want, strlen(want)));
	snprintf(want, sizeof want, "\r\nHost: localhost:%d\r\n", e->tls.port);
	TH_CHECK(strstr(e->px.head, want) && strstr(e->px.head, "Proxy-Authorization: " PA_USER));
	TH_CHECK(p_get(e->c, url(e, true, "localhost", "/"), NULL, NULL, 0, out, sizeof out) == 200);
	corio_http_client_stats_get(e->c, &st);
	TH_CHECK(st.connects == 1 && st.reuses == 1 && st.tls_handshakes == 1 && st.proxied == 2);
	TH_CHECK(e->px.connects == 1);
	/* The origin verified through the tunnel: 127.0.0.1 is in the certificate too, and a
	 * direct connection to the same origin is another pool entry. */
	TH_CHECK(p_get(e->c, url(e, true, "localhost", "/"), "", NULL, 0, out, sizeof out) == 200);
	corio_http_client_stats_get(e->c, &st);
	TH_CHECK(st.connects == 2 && st.proxied == 2 && e->px.connects == 1);
	/* plain http is not proxied by proxy_https alone */
	TH_CHECK(p_get(e->c, url(e, false, "127.0.0.1", "/"), NULL, NULL, 0, out, sizeof out) == 200);
	TH_CHECK(e->px.forwards == 0);
	return TH_OK;
}

ENV_TEST(https_through_connect_tunnel, PM_GOOD, c_tunnel, .proxy_https = "PROXY")

static void *c_split(env *e)
{
	char out[64];

	TH_CHECK(p_get(e->c, url(e, true, "localhost", "/"), NULL, NULL, 0, out, sizeof out) == 200);
	TH_CHECK(!strcmp(out, "hello"));
	return TH_OK;
}

ENV_TEST(connect_answer_in_pieces, PM_SPLIT, c_split, .proxy_https = "PROXY")

/* The caller's own Proxy-Authorization: to the proxy when forwarded, never to an origin. */
static void *c_user_pa(env *e)
{
	corio_http_header h = {"Proxy-Authorization", "Basic bWluZQ=="};
	char out[256];

	TH_CHECK(p_get(e->c, url(e, false, "127.0.0.1", "/h"), NULL, &h, 1, out, sizeof out) == 200);
	TH_CHECK(strstr(e->px.head, "\r\nProxy-Authorization: Basic bWluZQ==\r\n"));
	TH_CHECK(!strstr(e->px.head, PA_USER)); /* the caller's replaces the URL's */
	TH_CHECK(p_get(e->c, url(e, false, "127.0.0.1", "/h"), "", &h, 1, out, sizeof out) == 200);
	TH_CHECK(strstr(out, "PA=(none)"));
	TH_CHECK(p_get(e->c, url(e, true, "localhost", "/h"), NULL, &h, 1, out, sizeof out) == 200);
	TH_CHECK(strstr(out, "PA=(none)")); /* inside the tunnel: the origin's */
	return TH_OK;
}

ENV_TEST(caller_proxy_authorization_kept_from_origins, PM_GOOD, c_user_pa,
	 .proxy_http = "PROXY", .proxy_https = "PROXY")

/* A redirect from a proxied origin (localhost) to one no_proxy sends direct (127.0.0.1). */
static void *c_redirect(env *e)
{
	corio_http_header h = {"Proxy-Authorization", "Basic bWluZQ=="};
	corio_http_client_stats st;
	char out[256];

	TH_CHECK(p_get(e->c, url(e, false, "localhost", "/redir"), NULL, &h, 1, out, sizeof out) ==
		 200);
	TH_CHECK(strstr(out, "PA=(none)"));
	corio_http_client_stats_get(e->c, &st);
	TH_CHECK(e->px.forwards == 1 && st.proxied == 1 && st.connects == 2);
	return TH_OK;
}

ENV_TEST(redirect_leaving_the_proxy, PM_GOOD, c_redirect, .proxy_http = "PROXY",
	 .no_proxy = "127.0.0.1")

/* Short receives and sends everywhere (seeded): the proxy's answer and the requests
 * arrive in pieces, and forwarding and tunnelling still give exact results. */
static void *c_short_io(env *e)
{
	void *r = c_forward(e);

	if (r)
		return r;
	/* c_tunnel counts from a new client of proxy_https alone */
	corio_http_client_free(e->c);
	e->c = p_client((corio_http_client_opts){.proxy_https = e->purl});
	e->px.connects = e->px.forwards = 0;
	return e->c ? c_tunnel(e) : "client";
}

static void *t_short_io(void *arg)
{
	(void)arg;
	return with_env(PM_GOOD, (corio_http_client_opts){.proxy_http = "PROXY"}, c_short_io);
}

START_TEST(through_the_proxy_under_short_io)
{
	static const char *const specs[] = {"1:short@0.5", "2:short@0.9"};
	corio_config cfg = th_config();

	cfg.faults = specs[_i];
	TH_RUN_EXPECT_OK(&cfg, t_short_io, NULL);
}
END_TEST

/* ---- the environment, end to end ---------------------------------------------------------- */

static void *c_env(env *e)
{
	corio_http_client_opts o = {.flags = CORIO_HTTP_TRUST_ENV};
	corio_http_client *c;
	corio_http_client_stats st;
	char out[256];
	int rc;

	setenv("http_proxy", e->purl, 1);
	setenv("no_proxy", "localhost", 1);
	c = p_client(o);
	TH_CHECK(c);
	rc = p_get(c, url(e, false, "127.0.0.1", "/h"), NULL, NULL, 0, out, sizeof out);
	rc = rc == 200 &&
	     p_get(c, url(e, false, "localhost", "/h"), NULL, NULL, 0, out, sizeof out) == 200;
	corio_http_client_stats_get(c, &st);
	corio_http_client_free(c);
	TH_CHECK(rc && st.proxied == 1 && e->px.forwards == 1 && strstr(out, "PA=(none)"));
	/* An explicit option beats the environment; a per-request proxy beats both. */
	o.proxy_http = "";
	c = p_client(o);
	TH_CHECK(c);
	rc = p_get(c, url(e, false, "127.0.0.1", "/"), NULL, NULL, 0, out, sizeof out) == 200 &&
	     p_get(c, url(e, false, "localhost", "/"), e->purl, NULL, 0, out, sizeof out) == 200;
	corio_http_client_free(c);
	TH_CHECK(rc && e->px.forwards == 2); /* no_proxy does not apply to a request's own */
	/* A proxy in the environment that cannot be used fails the request. */
	setenv("http_proxy", "socks5://127.0.0.1:1", 1);
	o.proxy_http = NULL;
	c = p_client(o);
	TH_CHECK(c);
	rc = p_get(c, url(e, false, "127.0.0.1", "/"), NULL, NULL, 0, out, sizeof out);
	corio_http_client_free(c);
	TH_CHECK(rc == -EPROTONOSUPPORT);
	return TH_OK;
}

static void *t_env(void *arg)
{
	(void)arg;
	clear_env();
	return with_env(PM_GOOD, (corio_http_client_opts){0}, c_env);
}
TH_TASK_TEST(environment_end_to_end, t_env)

/* ---- misbehaving proxies ------------------------------------------------------------------ */

typedef struct bad_case {
	enum pmode mode;
	int want;
} bad_case;

static const bad_case bad_cases[] = {
	{PM_407, -EACCES},         {PM_407_BODY, -EACCES}, {PM_403, -ECONNREFUSED},
	{PM_GARBAGE, -EBADMSG},    {PM_CUT, -EPROTO},      {PM_SILENT, -ETIMEDOUT},
	{PM_ENDLESS, -EMSGSIZE},
};

static int g_case;

static void *c_bad(env *e)
{
	const bad_case *bc = &bad_cases[g_case];
	corio_http_client_stats st;
	/* The silent proxy is cut by the connect timeout (300 ms): the total one (300 s) would
	 * outlast the test's own timeout. */
	int rc = p_get(e->c, url(e, true, "localhost", "/"), NULL, NULL, 0, NULL, 0);

	if (rc != bc->want)
		fprintf(stderr, "mode %d: %d, want %d\n", bc->mode, rc, bc->want);
	TH_CHECK(rc == bc->want);
	TH_CHECK(e->px.connects == 1);
	corio_http_client_stats_get(e->c, &st);
	TH_CHECK(st.open == 0 && st.idle == 0 && st.tls_handshakes == 0);
	return TH_OK;
}

static void *t_bad(void *arg)
{
	(void)arg;
	enum pmode m = bad_cases[g_case].mode;

	/* Only the silent proxy meets the connect timeout; the others answer at once, however
	 * loaded the machine is. */
	return with_env(m,
			(corio_http_client_opts){.proxy_https = "PROXY",
						 .connect_ns = m == PM_SILENT ? CORIO_MS(300)
									      : CORIO_SEC(30)},
			c_bad);
}

START_TEST(misbehaving_proxies)
{
	g_case = _i;
	TH_RUN_EXPECT_OK(NULL, t_bad, NULL);
}
END_TEST

/* The proxy's 200 and the tunnel's first bytes in one segment: the answer is taken to the
 * end of its head and not a byte further. */
static void *t_one_segment(void *arg)
{
	int l = corio_tcp_listen("127.0.0.1", "0", 4), a, b, status = -1, rc;
	char port[8], buf[64];
	corio__hclient_proxy px = {.host = "127.0.0.1"};
	corio__hclient_route rt = {.tls = true, .host = "origin.lan", .port = 443, .proxy = &px,
				   .tunnel = true};
	corio_http_client_opts o = {.user_agent = "t", .max_header_bytes = 4096, .max_headers = 10,
				    .max_chunk_ext = 10};
	static const char answer[] = "HTTP/1.1 100 Wait\r\n\r\nHTTP/1.1 200 OK\r\nX: y\r\n\r\n"
				     "SERVER-FIRST";
	ssize_t n;

	(void)arg;
	snprintf(port, sizeof port, "%d", corio_sock_port(l));
	a = corio_tcp_connect("127.0.0.1", port);
	b = corio_accept(l, NULL, NULL);
	corio_close(l);
	TH_CHECK(a >= 0 && b >= 0);
	TH_CHECK(corio_send_all(b, answer, sizeof answer - 1) == sizeof answer - 1);
	rc = corio__hclient_tunnel(a, &rt, "443", &o, &status);
	n = corio_recv(b, buf, sizeof buf - 1, 0);
	TH_CHECK(n > 0);
	buf[n] = 0;
	TH_CHECK(!strncmp(buf, "CONNECT origin.lan:443 HTTP/1.1\r\nHost: origin.lan:443\r\n", 55));
	TH_CHECK(rc == 0 && status == 200);
	n = corio_recv(a, buf, sizeof buf, 0);
	TH_CHECK(n == 12 && !memcmp(buf, "SERVER-FIRST", 12));
	corio_close(a);
	corio_close(b);
	return TH_OK;
}
TH_TASK_TEST(tunnel_bytes_in_the_answer_segment, t_one_segment)

/* ---- WebSockets through the proxy (CONNECT for ws:// and wss://) ------------------------ */

static void ws_echo(corio_http_in *req, corio_http_out *resp, void *ud)
{
	corio_ws *ws = NULL;
	char buf[64];
	int op;
	ssize_t n;

	(void)ud;
	if (corio_ws_accept(req, resp, &ws) != 0)
		return;
	if ((n = corio_ws_recv(ws, &op, buf, sizeof buf)) >= 0)
		corio_ws_send(ws, op, buf, (size_t)n);
	corio_ws_close(ws, 1000, "");
	corio_ws_free(ws);
}

/* ws:// (_i 0) and wss:// (_i 1) echo once through a proxy. */
static void *t_ws(void *arg)
{
	bool tls = *(int *)arg;
	origin s = {0};
	tproxy p;
	corio_http_client *c = NULL;
	corio_ws *ws = NULL;
	char u[96], buf[16], want[64];
	void *res = "setup";
	int op = 0;
	ssize_t n = -1;

	if (!proxy_start(&p, PM_GOOD) || !origin_start_with(&s, tls, ws_echo))
		goto out;
	c = p_client(tls ? (corio_http_client_opts){.proxy_https = p.url}
			 : (corio_http_client_opts){.proxy_http = p.url});
	snprintf(u, sizeof u, "%s://localhost:%d/", tls ? "wss" : "ws", s.port);
	res = "ws";
	if (c && corio_ws_connect(c, u, &ws) == 0 && corio_ws_send(ws, CORIO_WS_TEXT, "hi", 2) == 0)
		n = corio_ws_recv(ws, &op, buf, sizeof buf);
	snprintf(want, sizeof want, "CONNECT localhost:%d HTTP/1.1\r\n", s.port);
	if (n == 2 && !memcmp(buf, "hi", 2) && p.connects == 1 && p.forwards == 0 &&
	    !strncmp(p.head, want, strlen(want)))
		res = TH_OK;
	if (ws) {
		corio_ws_close(ws, 1000, "");
		corio_ws_free(ws);
	}
out:
	corio_http_client_free(c);
	proxy_stop(&p);
	origin_stop(&s);
	return res;
}

START_TEST(websocket_through_connect)
{
	TH_RUN_EXPECT_OK(NULL, t_ws, &(int){_i});
}
END_TEST

int main(void)
{
	Suite *s = TH_SUITE("client_proxy", TH_TIMEOUT, no_proxy_matching, proxy_configuration,
			    http_forwarded_absolute_form, https_through_connect_tunnel,
			    connect_answer_in_pieces, caller_proxy_authorization_kept_from_origins,
			    redirect_leaving_the_proxy, environment_end_to_end,
			    tunnel_bytes_in_the_answer_segment);
	TCase *tc = tcase_create("per_case");

	tcase_set_timeout(tc, TH_TIMEOUT);
	tcase_add_loop_test(tc, misbehaving_proxies, 0,
			    (int)(sizeof bad_cases / sizeof bad_cases[0]));
	tcase_add_loop_test(tc, websocket_through_connect, 0, 2);
	tcase_add_loop_test(tc, through_the_proxy_under_short_io, 0, 2);
	suite_add_tcase(s, tc);
	return p_main(s);
}
