/* tests/http/test_client_trace.c: the HTTP client's tracing hooks (corio_http_trace_*): the
 * exact event sequence of a request on a new connection and on a reused one
 * (CONN_REUSED), name resolution (DNS_START/DNS_DONE, a CONNECT pair per address tried),
 * https (TLS_START/TLS_DONE, tls_resumed once the pool was emptied), a redirect (REDIRECT
 * with the next URL, then the next hop's events), a refused connect (CONNECT_DONE and
 * REQUEST_END with the error), a bad URL, a CONNECT tunnel (PROXY_CONNECT_DONE with the
 * proxy's status, 200 and 407), and a request's own hook called after the client's with
 * the same events. Timestamps are checked to never go back; no duration is asserted.
 * Servers and the proxy are tasks of the test on 127.0.0.1 (tests/http/proxy_helpers.h). */
#include "tests/http/proxy_helpers.h"

/* ---- the recorder ------------------------------------------------------------------------- */

typedef struct rec {
	int ev; /* corio_http_trace_event */
	int err, status;
	bool resumed, has_addr;
	uint16_t port;
	uint64_t at;
	unsigned seq; /* order among every hook call of the test */
	char url[128], host[64], method[16];
} rec;

#define MAXREC 64

typedef struct tlog {
	rec r[MAXREC];
	int n;
} tlog;

static unsigned g_seq;

static void hook(const corio_http_trace_info *ev, void *ud)
{
	tlog *l = ud;
	rec *r;

	if (l->n >= MAXREC)
		return;
	r = &l->r[l->n++];
	r->ev = (int)ev->event;
	r->err = ev->err;
	r->status = ev->status;
	r->resumed = ev->tls_resumed;
	r->has_addr = ev->addr != NULL && ev->addrlen > 0;
	r->port = ev->port;
	r->at = ev->at;
	r->seq = g_seq++;
	snprintf(r->url, sizeof r->url, "%s", ev->url ? ev->url : "(null)");
	snprintf(r->host, sizeof r->host, "%s", ev->host ? ev->host : "(null)");
	snprintf(r->method, sizeof r->method, "%s", ev->method ? ev->method : "(null)");
}

enum {
	START = CORIO_HTTP_TRACE_REQUEST_START,
	REUSED = CORIO_HTTP_TRACE_CONN_REUSED,
	DNS_S = CORIO_HTTP_TRACE_DNS_START,
	DNS_D = CORIO_HTTP_TRACE_DNS_DONE,
	CON_S = CORIO_HTTP_TRACE_CONNECT_START,
	CON_D = CORIO_HTTP_TRACE_CONNECT_DONE,
	PROXY = CORIO_HTTP_TRACE_PROXY_CONNECT_DONE,
	TLS_S = CORIO_HTTP_TRACE_TLS_START,
	TLS_D = CORIO_HTTP_TRACE_TLS_DONE,
	NEW = CORIO_HTTP_TRACE_CONN_NEW,
	SENT = CORIO_HTTP_TRACE_REQUEST_SENT,
	FIRST = CORIO_HTTP_TRACE_FIRST_BYTE,
	HEADERS = CORIO_HTTP_TRACE_HEADERS,
	REDIR = CORIO_HTTP_TRACE_REDIRECT,
	END = CORIO_HTTP_TRACE_REQUEST_END,
};

/* Events from index from on equal seq (ended by 0) and nothing follows. */
static bool seq_is(const tlog *l, int from, const int *seq)
{
	int i = 0;

	for (; seq[i]; i++)
		if (from + i >= l->n || l->r[from + i].ev != seq[i]) {
			fprintf(stderr, "event %d: got %d, want %d\n", from + i,
				from + i < l->n ? l->r[from + i].ev : -1, seq[i]);
			return false;
		}
	if (from + i != l->n)
		fprintf(stderr, "%d events, want %d\n", l->n, from + i);
	return from + i == l->n;
}

/* The index of the first event e at or after from, -1 when none. */
static int find(const tlog *l, int from, int e)
{
	for (int i = from; i < l->n; i++)
		if (l->r[i].ev == e)
			return i;
	return -1;
}

static bool at_monotonic(const tlog *l)
{
	for (int i = 1; i < l->n; i++)
		if (l->r[i].at < l->r[i - 1].at)
			return false;
	return true;
}

#define SEQ(...) ((const int[]){__VA_ARGS__, 0})

/* ---- fixtures ----------------------------------------------------------------------------- */

typedef struct env {
	origin plain, tls;
	tproxy px;
	tlog log;
	corio_http_client *c;
	char u[160];
} env;

typedef void *(*env_fn)(env *e);

static const char *url(env *e, bool tls, const char *host, const char *path)
{
	snprintf(e->u, sizeof e->u, "%s://%s:%d%s", tls ? "https" : "http", host,
		 tls ? e->tls.port : e->plain.port, path);
	return e->u;
}

/* Origins, a proxy in mode (used for https when via), a client tracing into e->log. */
static void *with_env(enum pmode mode, bool via, env_fn fn)
{
	env *e = calloc(1, sizeof *e);
	void *res = "setup failed";

	if (origin_start(&e->plain, false) && origin_start(&e->tls, true) &&
	    proxy_start(&e->px, mode)) {
		corio_http_client_opts o = {.trace = hook, .trace_ud = &e->log};

		o.proxy_https = via ? e->px.url : NULL;
		g_redirect_port = e->plain.port;
		if ((e->c = p_client(o)))
			res = fn(e);
	}
	corio_http_client_free(e->c);
	proxy_stop(&e->px);
	origin_stop(&e->plain);
	origin_stop(&e->tls);
	free(e);
	return res;
}

/* A test: fn against the origins, a proxy in mode (used for https when via) and a client. */
#define ENV_TEST(name, mode, via, fn)                                                        \
	static void *t_##name(void *arg)                                                     \
	{                                                                                    \
		(void)arg;                                                                   \
		return with_env(mode, via, fn);                                              \
	}                                                                                    \
	TH_TASK_TEST(name, t_##name)

/* ---- tests -------------------------------------------------------------------------------- */

static void *c_new_reused(env *e)
{
	tlog *l = &e->log;
	char want[160];

	TH_CHECK(p_get(e->c, url(e, false, "127.0.0.1", "/"), NULL, NULL, 0, NULL, 0) == 200);
	TH_CHECK(seq_is(l, 0, SEQ(START, CON_S, CON_D, NEW, SENT, FIRST, HEADERS, END)));
	snprintf(want, sizeof want, "http://127.0.0.1:%d/", e->plain.port);
	for (int i = 0; i < l->n; i++) {
		TH_CHECK(!strcmp(l->r[i].url, want) && !strcmp(l->r[i].method, "GET"));
		TH_CHECK(!strcmp(l->r[i].host, "127.0.0.1") && l->r[i].port == e->plain.port);
		TH_CHECK(l->r[i].has_addr == (l->r[i].ev == CON_S || l->r[i].ev == CON_D));
	}
	TH_CHECK(l->r[2].err == 0 && l->r[6].status == 200);
	TH_CHECK(l->r[7].err == 0 && l->r[7].status == 200);
	TH_CHECK(p_get(e->c, url(e, false, "127.0.0.1", "/"), NULL, NULL, 0, NULL, 0) == 200);
	TH_CHECK(seq_is(l, 8, SEQ(START, REUSED, SENT, FIRST, HEADERS, END)));
	TH_CHECK(at_monotonic(l));
	return TH_OK;
}

ENV_TEST(new_then_reused_connection, PM_GOOD, false, c_new_reused)

/* A name: DNS_START/DNS_DONE, then a CONNECT pair per address until one connects. */
static void *c_dns(env *e)
{
	tlog *l = &e->log;
	int i = 3;

	TH_CHECK(p_get(e->c, url(e, false, "localhost", "/"), NULL, NULL, 0, NULL, 0) == 200);
	TH_CHECK(l->n > 3 && l->r[0].ev == START && l->r[1].ev == DNS_S && l->r[2].ev == DNS_D);
	TH_CHECK(l->r[2].err == 0 && !strcmp(l->r[1].host, "localhost"));
	while (i + 1 < l->n && l->r[i].ev == CON_S && l->r[i + 1].ev == CON_D &&
	       l->r[i + 1].err != 0)
		i += 2; /* e.g. ::1 refused before 127.0.0.1 */
	TH_CHECK(l->r[i].ev == CON_S && l->r[i + 1].ev == CON_D && l->r[i + 1].err == 0);
	TH_CHECK(seq_is(l, i + 2, SEQ(NEW, SENT, FIRST, HEADERS, END)));
	TH_CHECK(at_monotonic(l));
	return TH_OK;
}

ENV_TEST(name_resolution_events, PM_GOOD, false, c_dns)

/* https: TLS_START/TLS_DONE; after the server closed the connection (the pool is empty)
 * a new one resumes the session. */
static void *c_https(env *e)
{
	corio_http_header close_hdr = {"Connection", "close"};
	tlog *l = &e->log;
	int k;

	TH_CHECK(p_get(e->c, url(e, true, "127.0.0.1", "/"), NULL, NULL, 0, NULL, 0) == 200);
	TH_CHECK(seq_is(l, 0, SEQ(START, CON_S, CON_D, TLS_S, TLS_D, NEW, SENT, FIRST, HEADERS, END)));
	TH_CHECK(l->r[4].err == 0 && !l->r[4].resumed);
	TH_CHECK(p_get(e->c, url(e, true, "127.0.0.1", "/"), NULL, &close_hdr, 1, NULL, 0) == 200);
	TH_CHECK(seq_is(l, 10, SEQ(START, REUSED, SENT, FIRST, HEADERS, END)));
	TH_CHECK(p_get(e->c, url(e, true, "127.0.0.1", "/"), NULL, NULL, 0, NULL, 0) == 200);
	TH_CHECK(seq_is(l, 16, SEQ(START, CON_S, CON_D, TLS_S, TLS_D, NEW, SENT, FIRST, HEADERS,
				   END)));
	k = find(l, 16, TLS_D);
	TH_CHECK(k > 0 && l->r[k].err == 0 && l->r[k].resumed);
	TH_CHECK(at_monotonic(l));
	return TH_OK;
}

ENV_TEST(https_handshake_and_resumption, PM_GOOD, false, c_https)

static void *c_redirect(env *e)
{
	tlog *l = &e->log;
	char first[160], next[160];

	snprintf(first, sizeof first, "%s", url(e, false, "127.0.0.1", "/redir"));
	snprintf(next, sizeof next, "%s", url(e, false, "127.0.0.1", "/h"));
	TH_CHECK(p_get(e->c, first, NULL, NULL, 0, NULL, 0) == 200);
	TH_CHECK(seq_is(l, 0, SEQ(START, CON_S, CON_D, NEW, SENT, FIRST, HEADERS, REDIR, REUSED,
				  SENT, FIRST, HEADERS, END)));
	TH_CHECK(l->r[6].status == 302 && !strcmp(l->r[6].url, first));
	TH_CHECK(l->r[7].status == 302 && !strcmp(l->r[7].url, next));
	for (int i = 8; i < l->n; i++)
		TH_CHECK(!strcmp(l->r[i].url, next));
	TH_CHECK(l->r[11].status == 200 && l->r[12].status == 200 && l->r[12].err == 0);
	TH_CHECK(at_monotonic(l));
	return TH_OK;
}

ENV_TEST(redirect_then_next_hop, PM_GOOD, false, c_redirect)

/* A port bound here but not listening: the connect is refused. */
static void *c_refused(env *e)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	tlog *l = &e->log;
	char u[96];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	TH_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
		 getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	snprintf(u, sizeof u, "http://127.0.0.1:%d/", ntohs(a.sin_port));
	rc = p_get(e->c, u, NULL, NULL, 0, NULL, 0);
	close(fd);
	TH_CHECK(rc == -ECONNREFUSED);
	TH_CHECK(seq_is(l, 0, SEQ(START, CON_S, CON_D, END)));
	TH_CHECK(l->r[2].err == -ECONNREFUSED && l->r[2].has_addr);
	TH_CHECK(l->r[3].err == -ECONNREFUSED && l->r[3].status == 0);
	/* A URL that does not parse: the request still starts and ends. */
	TH_CHECK(p_get(e->c, "http://bad host/", NULL, NULL, 0, NULL, 0) == -EINVAL);
	TH_CHECK(seq_is(l, 4, SEQ(START, END)) && l->r[5].err == -EINVAL);
	TH_CHECK(at_monotonic(l));
	return TH_OK;
}

ENV_TEST(connect_failure, PM_GOOD, false, c_refused)

/* Through a CONNECT tunnel: the connect events are the proxy's, then its answer. */
static void *c_proxied(env *e)
{
	tlog *l = &e->log;

	TH_CHECK(p_get(e->c, url(e, true, "127.0.0.1", "/"), NULL, NULL, 0, NULL, 0) == 200);
	TH_CHECK(seq_is(l, 0, SEQ(START, CON_S, CON_D, PROXY, TLS_S, TLS_D, NEW, SENT, FIRST,
				  HEADERS, END)));
	TH_CHECK(l->r[3].status == 200 && l->r[3].err == 0);
	for (int i = 1; i < l->n; i++)
		TH_CHECK(l->r[i].port == e->px.port && !strcmp(l->r[i].host, "127.0.0.1"));
	TH_CHECK(at_monotonic(l));
	return TH_OK;
}

ENV_TEST(proxy_connect_200, PM_GOOD, true, c_proxied)

static void *c_proxy_407(env *e)
{
	tlog *l = &e->log;

	TH_CHECK(p_get(e->c, url(e, true, "127.0.0.1", "/"), NULL, NULL, 0, NULL, 0) == -EACCES);
	TH_CHECK(seq_is(l, 0, SEQ(START, CON_S, CON_D, PROXY, END)));
	TH_CHECK(l->r[3].status == 407 && l->r[3].err == -EACCES);
	TH_CHECK(l->r[4].err == -EACCES && l->r[4].status == 0);
	return TH_OK;
}

ENV_TEST(proxy_connect_407, PM_407, true, c_proxy_407)

/* A request's own hook: the same events as the client's, each right after it. */
static void *c_both(env *e)
{
	tlog *mine = calloc(1, sizeof *mine);
	tlog *l = &e->log;
	struct corio_http_request q = {.url = url(e, false, "127.0.0.1", "/"), .trace = hook,
				       .trace_ud = mine};
	corio_http_response *r = NULL;
	void *res = TH_OK;
	int rc = corio_http_request(e->c, &q, &r);

	corio_http_response_free(r);
	if (rc != 0 || mine->n != l->n || l->n != 8)
		res = "the request's hook saw other events";
	for (int i = 0; !res && i < l->n; i++)
		if (mine->r[i].ev != l->r[i].ev || mine->r[i].seq != l->r[i].seq + 1)
			res = "the request's hook is not called right after the client's";
	/* the next request has no hook of its own */
	if (!res && (p_get(e->c, q.url, NULL, NULL, 0, NULL, 0) != 200 || mine->n != 8 || l->n != 14))
		res = "a hook outlived its request";
	free(mine);
	return res;
}

ENV_TEST(request_hook_besides_client_hook, PM_GOOD, false, c_both)

int main(void)
{
	return p_main(TH_SUITE("client_trace", TH_TIMEOUT, new_then_reused_connection,
			       name_resolution_events, https_handshake_and_resumption,
			       redirect_then_next_hop, connect_failure, proxy_connect_200,
			       proxy_connect_407, request_hook_besides_client_hook));
}
