/* http/client/request.c: owns sending a request: URL and header checks, the header set
 * (built-in, client defaults, per request; Host, User-Agent, Accept-Encoding,
 * Content-Length or chunked framing), bodies from memory, a descriptor or a callback,
 * Expect: 100-continue, the retry rule (idempotent, replayable, a reused connection that
 * failed before any response byte) and redirects (RFC 9110 method rules, a maximum, loop
 * detection, credentials only the caller's and dropped across origins, Locations that are
 * not followed), and per hop the proxy's part (the route, absolute-form targets and
 * Proxy-Authorization when forwarded) and the request's trace events. The jar's cookies,
 * Basic credentials and form bodies are asked of session.h and form.h at the points where
 * a hop needs them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <corio/fs.h>
#include <corio/net.h>

#include "http/client/client_internal.h"
#include "http/client/form.h"
#include "http/client/session.h"
#include "runtime/util/buf.h"

/* ---- the request head as it is built ------------------------------------------------- */

/* A corio__buf with a sticky out-of-memory flag, so that building the head is a plain
 * sequence of appends checked once at the end. */
typedef struct sbuf {
	corio__buf b;
	bool oom;
} sbuf;

static void sb_add(sbuf *b, const void *s, size_t n)
{
	if (!b->oom && corio__buf_append(&b->b, s, n) != 0)
		b->oom = true;
}

static void sb_str(sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_header(sbuf *b, const char *name, const char *value)
{
	sb_str(b, name);
	sb_add(b, CORIO__LIT(": "));
	sb_str(b, value);
	sb_add(b, CORIO__LIT("\r\n"));
}

/* A body in memory up to this size is copied behind the head so that both leave in one
 * send (one syscall, one segment train for a small POST); a bigger one is sent from where
 * it lies, where copying would cost more than the second send saves. */
#define INLINE_BODY_MAX 16384
/* A redirect's own body is read and dropped up to this many bytes, so that its connection
 * goes back to the pool; past it, closing the connection costs less than reading on. */
#define REDIRECT_DRAIN_MAX 65536

/* ---- what one request needs across attempts and redirects ------------------------------ */

typedef struct body_desc {
	corio_http_body_kind kind;
	const void *mem;
	size_t mem_len;
	int fd;
	off_t offset;
	corio_http_body_fn fn;
	corio_http_rewind_fn rewind;
	void *arg;
	int64_t length; /* -1: unknown, sent chunked */
	bool used;      /* sent at least once (a stream must be rewound before a replay) */
} body_desc;

typedef struct job {
	corio_http_client *c;
	const struct corio_http_request *req;
	corio_url url;
	char method[32];
	body_desc body;
	bool send_body;     /* false after a redirect turned the request into a GET */
	bool sensitive_ok;  /* still on the first request's origin */
	corio_url first;    /* origin of the first request */
	unsigned flags;
	uint64_t deadline;
	uint64_t max_body;
	int max_redirects;
	/* credentials and the form being sent (session.h, form.h) */
	char *auth;                     /* Authorization for the first origin, or NULL */
	corio__hclient_form_body *form; /* BODY_FORM: its files open */
	/* the proxy part and the trace of the request */
	corio__hclient_proxy *own_proxy;        /* req->proxy parsed; NULL with "" (direct) */
	corio__hclient_route rt;                /* this hop's */
	const corio__hclient_proxy *first_proxy; /* the first hop's (user Proxy-Authorization) */
	corio__hclient_trace tr;
	char *url_s;                            /* tr.url when tracing */
	bool routed;                            /* first_proxy is known */
} job;

static bool same_origin(const corio_url *a, const corio_url *b)
{
	return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->host, b->host) == 0 &&
	       a->port == b->port;
}

static bool method_is(const job *j, const char *m)
{
	return strcmp(j->method, m) == 0;
}

static bool idempotent(const job *j)
{
	static const char *const m[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"};

	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		if (method_is(j, m[i]))
			return true;
	return false;
}

static bool replayable(const body_desc *b)
{
	switch (b->kind) {
	case CORIO_HTTP_BODY_FD:
		return b->offset >= 0;
	case CORIO_HTTP_BODY_STREAM:
		return b->rewind != NULL;
	default:
		return true;
	}
}

static int scheme_check(const corio_url *u)
{
	if (strcmp(u->scheme, "http") == 0 || strcmp(u->scheme, "https") == 0)
		return 0;
	return -EPROTONOSUPPORT; /* ws://, ftp://, ... */
}

/* ---- the request head --------------------------------------------------------------------- */

static bool hdr_eq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

static bool sensitive(const char *name)
{
	return hdr_eq(name, "Authorization") || hdr_eq(name, "Cookie") ||
	       hdr_eq(name, "Proxy-Authorization");
}

static bool body_header(const char *name)
{
	return hdr_eq(name, "Content-Length") || hdr_eq(name, "Content-Type") ||
	       hdr_eq(name, "Transfer-Encoding") || hdr_eq(name, "Content-Encoding") ||
	       hdr_eq(name, "Expect");
}

/* Does a later level (client defaults, then the request) name this header? */
static bool overridden(const job *j, int level, const char *name)
{
	if (level < 1)
		for (size_t i = 0; i < j->c->o.nheaders; i++)
			if (hdr_eq(j->c->o.headers[i].name, name))
				return true;
	if (level < 2)
		for (size_t i = 0; i < j->req->nheaders; i++)
			if (hdr_eq(j->req->headers[i].name, name))
				return true;
	return false;
}

static bool user_has(const job *j, const char *name)
{
	return overridden(j, 0, name) && !(j->req && !j->send_body && body_header(name));
}

/* Forwarded through a proxy (plain http): absolute-form targets, the proxy's credentials. */
static bool forwarded(const job *j)
{
	return j->rt.proxy && !j->rt.tunnel;
}

/* The caller's own Proxy-Authorization is for the first hop's proxy: never sent to an
 * origin (direct, or inside a tunnel) nor to another proxy. */
static bool user_proxy_auth_ok(const job *j)
{
	return forwarded(j) && corio__hclient_proxy_same(j->rt.proxy, j->first_proxy);
}

static void add_level(const job *j, sbuf *b, int level, const corio_http_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!h[i].value || overridden(j, level, h[i].name))
			continue;
		if (!j->sensitive_ok && sensitive(h[i].name))
			continue;
		if (hdr_eq(h[i].name, "Proxy-Authorization") && !user_proxy_auth_ok(j))
			continue;
		if (!j->send_body && body_header(h[i].name))
			continue;
		sb_header(b, h[i].name, h[i].value);
	}
}

/* Credentials (picked in job_init: the request's, its URL's userinfo, the client's) go
 * to the first request's origin only; a Location's own userinfo is never sent (a server
 * could swap the user's credentials for its own choice). The caller's header wins. */
static void add_basic_auth(const job *j, sbuf *b)
{
	if (j->auth && j->sensitive_ok && !user_has(j, "Authorization"))
		sb_header(b, "Authorization", j->auth);
}

/* The jar's cookies for this hop's URL, unless the caller sends its own Cookie here. */
static void add_cookies(const job *j, sbuf *b)
{
	char *v = NULL;

	if ((j->flags & CORIO_HTTP_NO_COOKIES) || (j->sensitive_ok && user_has(j, "Cookie")))
		return;
	if (corio__hclient_cookies_out(j->c->sess.jar, &j->url, j->method,
				       j->req->site_for_cookies, &v) < 0)
		b->oom = true;
	if (v)
		sb_header(b, "Cookie", v);
	free(v);
}

/* host, in brackets when IPv6, and ":port" unless it is 80. */
static void add_authority(sbuf *b, const corio_url *u)
{
	char num[16];

	sb_str(b, u->ipv6 ? "[" : "");
	sb_str(b, u->host);
	sb_str(b, u->ipv6 ? "]" : "");
	if (u->port != 80) {
		snprintf(num, sizeof num, ":%u", u->port);
		sb_str(b, num);
	}
}

/* The proxy's credentials, unless the caller's own header goes to it. */
static void add_proxy_auth(const job *j, sbuf *b)
{
	if (forwarded(j) && j->rt.proxy->auth &&
	    !(user_proxy_auth_ok(j) && j->sensitive_ok && user_has(j, "Proxy-Authorization")))
		sb_header(b, "Proxy-Authorization", j->rt.proxy->auth);
}

/* The head of the request; *chunked and *expect tell how the body goes out. */
static int build_head(const job *j, sbuf *b, bool *chunked, bool *expect)
{
	const corio_url *u = &j->url;
	static const corio_http_header builtin_dec[] = {
		{"User-Agent", NULL}, {"Accept", "*/*"}, {"Accept-Encoding", "gzip, deflate"}};
	corio_http_header builtin[3];
	char num[32];
	bool has_body = j->send_body && j->body.kind != CORIO_HTTP_BODY_NONE;

	memcpy(builtin, builtin_dec, sizeof builtin);
	builtin[0].value = j->c->o.user_agent;
	sb_str(b, j->method);
	sb_add(b, CORIO__LIT(" "));
	if (forwarded(j)) { /* absolute-form (RFC 9112 3.2.2) */
		sb_str(b, "http://");
		add_authority(b, u);
	}
	sb_str(b, u->path);
	if (u->query) {
		sb_add(b, CORIO__LIT("?"));
		sb_str(b, u->query);
	}
	sb_str(b, " HTTP/1.1\r\n");
	if (!user_has(j, "Host")) {
		sb_str(b, "Host: ");
		add_authority(b, u);
		sb_add(b, CORIO__LIT("\r\n"));
	}
	add_level(j, b, 0, builtin, (j->flags & CORIO_HTTP_NO_DECOMPRESS) ? 2 : 3);
	add_level(j, b, 1, j->c->o.headers, j->c->o.nheaders);
	add_level(j, b, 2, j->req->headers, j->req->nheaders);
	add_basic_auth(j, b);
	add_cookies(j, b);
	add_proxy_auth(j, b);
	if (has_body && j->form && !user_has(j, "Content-Type"))
		sb_header(b, "Content-Type", corio_http_form_content_type(j->req->form));
	*chunked = false;
	*expect = false;
	if (has_body && !user_has(j, "Content-Length") && !user_has(j, "Transfer-Encoding")) {
		if (j->body.length >= 0) {
			snprintf(num, sizeof num, "%lld", (long long)j->body.length);
			sb_header(b, "Content-Length", num);
		} else {
			sb_header(b, "Transfer-Encoding", "chunked");
			*chunked = true;
		}
	} else if (!has_body && !user_has(j, "Content-Length") &&
		   (method_is(j, "POST") || method_is(j, "PUT") || method_is(j, "PATCH"))) {
		sb_header(b, "Content-Length", "0");
	}
	*expect = has_body && ((j->flags & CORIO_HTTP_EXPECT_CONTINUE) ||
			       (j->body.length >= 0
					? (uint64_t)j->body.length >= j->c->o.expect_continue_min
					: j->c->o.expect_continue_min != UINT64_MAX));
	if (*expect && !user_has(j, "Expect"))
		sb_header(b, "Expect", "100-continue");
	sb_add(b, CORIO__LIT("\r\n"));
	return b->oom ? -ENOMEM : 0;
}

/* ---- sending -------------------------------------------------------------------------- */

static int send_buf(corio_http_response *r, const void *p, size_t n)
{
	corio__deadline d;
	ssize_t rc;

	corio__deadline_begin(&d, corio__hclient_io_deadline(r));
	rc = corio__deadline_end(&d, corio__hclient_send(r->conn, p, n));
	return rc < 0 ? (int)rc : 0;
}

/* Next piece of a descriptor or callback body into buf: bytes, 0 at the end, -errno. */
static ssize_t body_next(body_desc *b, off_t *pos, char *buf, size_t len)
{
	ssize_t n;

	if (b->kind == CORIO_HTTP_BODY_FD) {
		n = corio_read(b->fd, buf, len, *pos);
		if (n > 0 && *pos >= 0)
			*pos += n;
		return n;
	}
	return b->fn(b->arg, buf, len);
}

/* A descriptor or callback body goes out in pieces of this size: big enough that a send
 * moves a good share of a socket buffer, small enough for the one heap block a request
 * holds while it sends (never on the stack: coroutine stacks are small). */
#define STREAM_PIECE 65536
#define ROOM 16 /* before a piece: "%zx\r\n"; after it: "\r\n" */

static int send_stream(corio_http_response *r, body_desc *b, bool chunked)
{
	char *buf = malloc(STREAM_PIECE + 2 * ROOM);
	off_t pos = b->offset;
	int64_t left = b->length;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t want = STREAM_PIECE;
		ssize_t n;

		if (!chunked && left >= 0 && (int64_t)want > left)
			want = (size_t)left;
		if (!chunked && want == 0)
			break;
		n = body_next(b, &pos, buf + ROOM, want);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n == 0) {
			/* A declared length the source did not fill: the request is broken. */
			rc = chunked ? send_buf(r, CORIO__LIT("0\r\n\r\n")) : -EIO;
			break;
		}
		if (chunked) {
			char hex[ROOM];
			int h = snprintf(hex, sizeof hex, "%zx\r\n", (size_t)n);

			memcpy(buf + ROOM - h, hex, (size_t)h);
			memcpy(buf + ROOM + n, CORIO__LIT("\r\n"));
			rc = send_buf(r, buf + ROOM - h, (size_t)n + (size_t)h + 2);
		} else {
			rc = send_buf(r, buf + ROOM, (size_t)n);
			left -= n;
		}
		if (rc < 0)
			break;
	}
	free(buf);
	return rc;
}

static int send_body(corio_http_response *r, body_desc *b, bool chunked)
{
	if (b->kind == CORIO_HTTP_BODY_STREAM && b->used && b->rewind) {
		int rc = b->rewind(b->arg);

		if (rc < 0)
			return rc;
	}
	b->used = true;
	if (b->kind == CORIO_HTTP_BODY_MEM)
		return b->mem_len ? send_buf(r, b->mem, b->mem_len) : 0;
	return send_stream(r, b, chunked);
}

/* One attempt on one connection: send, then read the response head. */
static int attempt(job *j, corio_http_response *r)
{
	sbuf head = {0};
	bool chunked, expect, has_body = j->send_body && j->body.kind != CORIO_HTTP_BODY_NONE;
	int rc = build_head(j, &head, &chunked, &expect);

	if (rc < 0)
		goto out;
	/* A small body rides with the head in one send. */
	if (has_body && !expect && j->body.kind == CORIO_HTTP_BODY_MEM &&
	    j->body.mem_len <= INLINE_BODY_MAX) {
		sb_add(&head, j->body.mem, j->body.mem_len);
		has_body = false;
		if (head.oom) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = send_buf(r, head.b.p, head.b.len);
	if (rc < 0 || !has_body)
		goto read;
	if (expect) {
		rc = corio__hclient_read_head(r, true, corio__hclient_deadline(j->c->o.continue_ns));
		if (rc < 0)
			goto out;
		if (r->h.headers_done) { /* a final answer instead of 100: the body stays unsent */
			if (r->conn)
				r->conn->broken = true;
			goto out;
		}
	}
	rc = send_body(r, &j->body, chunked);
	if (rc == -EPIPE || rc == -ECONNRESET) {
		/* The server may have answered early (413, 401...) and stopped reading: its
		 * answer is worth more than the send error. Half-close first: a server still
		 * waiting for the rest of the body (the send failed before it reached the
		 * kernel) then sees its end and answers or closes, instead of both sides
		 * waiting for the other until a timeout. */
		if (r->conn)
			shutdown(r->conn->fd, SHUT_WR);
		if (corio__hclient_read_head(r, false, UINT64_MAX) == 0) {
			if (r->conn)
				r->conn->broken = true;
			rc = 0;
		}
		goto out;
	}
read:
	if (rc == 0) {
		corio__hclient_trace_ev(&j->tr, CORIO_HTTP_TRACE_REQUEST_SENT, 0, 0);
		rc = corio__hclient_read_head(r, false, UINT64_MAX);
	}
out:
	corio__buf_free(&head.b);
	return rc;
}

/* Whether a failure on a reused connection before any response byte could be retried. */
static bool may_retry(const job *j)
{
	return !(j->flags & CORIO_HTTP_NO_RETRY) && idempotent(j) && replayable(&j->body);
}

static bool retryable(const job *j, const corio_http_response *r, bool reused, int rc)
{
	return reused && !r->h.any_byte && may_retry(j) &&
	       (rc == -ECONNRESET || rc == -EPIPE || rc == -ENOTCONN || rc == -ECONNABORTED ||
		rc == -EPROTO); /* a TLS connection cut without close_notify */
}

/* This hop's route: the request's own proxy ("" goes direct), else the client's pick for
 * the URL. https through a proxy tunnels; http is forwarded. */
static int route_hop(job *j)
{
	const corio__hclient_proxy *p = j->own_proxy;
	bool tls = strcmp(j->url.scheme, "https") == 0;
	int rc = j->req->proxy ? 0 : corio__hclient_proxy_pick(&j->c->px, &j->url, &p);

	if (rc < 0)
		return rc;
	j->rt = (corio__hclient_route){.tls = tls, .host = j->url.host, .ipv6 = j->url.ipv6,
				       .port = j->url.port, .proxy = p, .tunnel = p && tls};
	if (!j->routed)
		j->first_proxy = p;
	j->routed = true;
	j->tr.host = p ? p->host : j->url.host;
	j->tr.port = p ? (uint16_t)atoi(p->port) : j->url.port;
	return 0;
}

/* One hop: a connection from the pool, the request, the response head; retried once on
 * a fresh connection when the retry rule allows. */
static int hop(job *j, corio_http_response **out)
{
	uint64_t connect_dl = corio__hclient_deadline(j->c->o.connect_ns);
	int rc = route_hop(j);

	if (rc < 0)
		return rc;
	if (connect_dl > j->deadline)
		connect_dl = j->deadline;
	for (int i = 0;; i++) {
		corio__hclient_conn *k;
		corio_http_response *r;
		bool reused;

		rc = corio__hclient_acquire(j->c, &j->rt, i > 0, connect_dl, &j->tr, &k);
		if (rc < 0)
			return rc;
		reused = k->reused;
		r = corio__hclient_response_new(j->c, k, method_is(j, "HEAD"), j->deadline, j->max_body);
		if (!r) {
			k->broken = true;
			corio__hclient_release(j->c, k, false);
			return -ENOMEM;
		}
		r->trace = &j->tr;
		rc = attempt(j, r);
		r->trace = NULL; /* the hooks are the request's, not the response's */
		if (rc == 0) {
			corio__hclient_trace_ev(&j->tr, CORIO_HTTP_TRACE_HEADERS, 0, r->h.status);
			corio__hclient_response_ready(r, !(j->flags & CORIO_HTTP_NO_DECOMPRESS),
						      j->c->o.max_decoded_size);
			*out = r;
			return 0;
		}
		if (r->conn)
			r->conn->broken = true;
		if (i == 0 && retryable(j, r, reused, rc)) {
			j->c->st.retries++;
			corio_http_response_free(r);
			continue;
		}
		corio_http_response_free(r);
		return rc;
	}
}

/* ---- redirects -------------------------------------------------------------------------- */

typedef struct visited {
	char **v;
	size_t n;
} visited;

/* -ELOOP when method+url (without fragment) was requested before; remembers it. */
static int visit(visited *vs, const job *j)
{
	char *s, *url;
	size_t len;

	url = corio_url_string(&j->url);
	if (!url)
		return -ENOMEM;
	if (j->url.fragment)
		url[strlen(url) - strlen(j->url.fragment) - 1] = 0;
	len = strlen(j->method) + strlen(url) + 2;
	s = malloc(len);
	if (!s) {
		free(url);
		return -ENOMEM;
	}
	snprintf(s, len, "%s %s", j->method, url);
	free(url);
	for (size_t i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i], s) == 0) {
			free(s);
			return -ELOOP;
		}
	{
		char **nv = realloc(vs->v, (vs->n + 1) * sizeof *nv);

		if (!nv) {
			free(s);
			return -ENOMEM;
		}
		vs->v = nv;
		vs->v[vs->n++] = s;
	}
	return 0;
}

static void visited_free(visited *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		free(vs->v[i]);
	free(vs->v);
}

static bool is_redirect(int st)
{
	return st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
}

/* r's Location, NULL when absent or when two fields disagree (Location is a single
 * value, RFC 9110 10.2.2: which one the server meant is unknown). */
static const char *location(const corio_http_response *r)
{
	const char *loc = corio_http_response_header(r, "Location"), *other;

	for (size_t i = 1; loc && (other = corio_http_response_header_n(r, "Location", i)); i++)
		if (strcmp(other, loc) != 0)
			return NULL;
	return loc;
}

/* Decides whether r (a 3xx) is followed: 1 yes (j updated for the next hop), 0 no (r is
 * the final response), -errno. A Location that is not a valid URI reference (spaces,
 * control or non-ASCII bytes: corio_url_resolve refuses them, so none can reach the
 * request line) is not followed either. */
static int next_hop(job *j, corio_http_response *r, unsigned done)
{
	int st = corio_http_response_status(r);
	const char *loc = location(r);
	corio_url next;
	int rc;

	if (!is_redirect(st) || !loc || j->max_redirects < 0)
		return 0;
	if (corio_url_resolve(&j->url, loc, &next) != 0)
		return 0; /* an unusable Location: hand the 3xx over */
	if (scheme_check(&next) != 0) {
		corio_url_free(&next);
		return -EPROTONOSUPPORT;
	}
	if (done >= (unsigned)j->max_redirects) {
		corio_url_free(&next);
		return -ELOOP;
	}
	if ((st == 303 && !method_is(j, "HEAD")) ||
	    ((st == 301 || st == 302) && method_is(j, "POST"))) {
		snprintf(j->method, sizeof j->method, "GET");
		j->send_body = false;
	} else if (j->send_body && j->body.kind != CORIO_HTTP_BODY_NONE &&
		   !replayable(&j->body)) {
		corio_url_free(&next);
		return 0; /* 307/308 would need the body again and it cannot be replayed */
	}
	corio_url_free(&j->url);
	j->url = next;
	j->sensitive_ok = same_origin(&j->url, &j->first);
	rc = 1;
	return rc;
}

static int job_init(job *j, corio_http_client *c, const struct corio_http_request *req)
{
	const char *m = req->method ? req->method
				    : (req->body_kind == CORIO_HTTP_BODY_FORM ? "POST" : "GET");
	int rc;

	memset(j, 0, sizeof *j);
	j->c = c;
	j->req = req;
	if (!corio__http_valid_token(m, sizeof j->method - 1) || (req->nheaders && !req->headers))
		return -EINVAL;
	snprintf(j->method, sizeof j->method, "%s", m);
	for (size_t i = 0; i < req->nheaders; i++)
		if (!corio__http_valid_token(req->headers[i].name, 256) ||
		    !corio__http_valid_value(req->headers[i].value))
			return -EINVAL;
	rc = corio_url_parse(req->url, &j->url);
	if (rc < 0)
		return rc;
	rc = scheme_check(&j->url);
	if (rc < 0)
		return rc;
	rc = corio_url_parse(req->url, &j->first);
	if (rc < 0)
		return rc;
	j->sensitive_ok = true;
	rc = corio__hclient_auth_pick(&c->sess, req, &j->first, &j->auth);
	if (rc < 0)
		return rc;
	j->flags = req->flags | c->o.flags;
	j->deadline = corio__hclient_deadline(req->total_ns ? req->total_ns : c->o.total_ns);
	j->max_body = req->max_body_size ? req->max_body_size : c->o.max_body_size;
	j->max_redirects = req->max_redirects ? req->max_redirects : (int)c->o.max_redirects;
	if (j->flags & CORIO_HTTP_NO_REDIRECTS)
		j->max_redirects = -1;
	j->send_body = true;
	return 0;
}

/* A form's body (form.h): held whole in memory when it has no file, streamed otherwise. */
static int form_init(job *j)
{
	body_desc *b = &j->body;
	int rc = corio__hclient_form_open(j->req->form, &j->form);

	if (rc < 0)
		return rc;
	if (corio__hclient_form_mem(j->form, &b->mem, &b->mem_len)) {
		b->kind = CORIO_HTTP_BODY_MEM;
		b->length = (int64_t)b->mem_len;
		return 0;
	}
	b->kind = CORIO_HTTP_BODY_STREAM;
	b->fn = corio__hclient_form_read;
	b->rewind = corio__hclient_form_replayable(j->form) ? corio__hclient_form_rewind : NULL;
	b->arg = j->form;
	b->length = corio__hclient_form_length(j->form);
	return 0;
}

static int body_init(job *j)
{
	const struct corio_http_request *q = j->req;
	body_desc *b = &j->body;
	struct stat sta;

	b->kind = q->body_kind;
	if (b->kind == CORIO_HTTP_BODY_NONE && q->body)
		b->kind = CORIO_HTTP_BODY_MEM;
	switch (b->kind) {
	case CORIO_HTTP_BODY_NONE:
		return 0;
	case CORIO_HTTP_BODY_MEM:
		if (!q->body && q->body_len)
			return -EINVAL;
		b->mem = q->body;
		b->mem_len = q->body_len;
		b->length = (int64_t)q->body_len;
		return 0;
	case CORIO_HTTP_BODY_FD:
		if (q->body_fd < 0)
			return -EINVAL;
		b->fd = q->body_fd;
		b->offset = q->body_offset < 0 ? -1 : q->body_offset;
		b->length = q->body_length > 0 ? q->body_length : -1;
		if (q->body_length == 0 && fstat(b->fd, &sta) == 0 && S_ISREG(sta.st_mode)) {
			off_t at = b->offset >= 0 ? b->offset : lseek(b->fd, 0, SEEK_CUR);

			b->length = at >= 0 && sta.st_size > at ? (int64_t)(sta.st_size - at) : 0;
		}
		return 0;
	case CORIO_HTTP_BODY_STREAM:
		if (!q->body_fn)
			return -EINVAL;
		b->fn = q->body_fn;
		b->rewind = q->body_rewind;
		b->arg = q->body_arg;
		b->length = q->body_length > 0 ? q->body_length : -1;
		return 0;
	case CORIO_HTTP_BODY_FORM:
		return form_init(j);
	}
	return -EINVAL;
}

static void job_free(job *j)
{
	corio_url_free(&j->url);
	corio_url_free(&j->first);
	corio__hclient_proxy_free(j->own_proxy);
	free(j->url_s);
	corio__hclient_form_close(j->form);
	if (j->auth)
		explicit_bzero(j->auth, strlen(j->auth));
	free(j->auth);
}

/* ---- proxy and tracing per request ------------------------------------------------------- */

static int proxy_init(job *j)
{
	const char *p = j->req->proxy;
	int rc = p ? corio__hclient_proxy_parse(p, &j->own_proxy) : 0;

	return rc == -ENOMEM ? rc : (rc < 0 ? -EINVAL : 0);
}

static void trace_init(job *j, corio_http_client *c, const struct corio_http_request *req)
{
	j->tr.fn[0] = c->o.trace;
	j->tr.ud[0] = c->o.trace_ud;
	j->tr.fn[1] = req->trace;
	j->tr.ud[1] = req->trace_ud;
	j->tr.method = j->method[0] ? j->method : (req->method ? req->method : "GET");
	j->tr.url = req->url;
	j->tr.host = j->url.host ? j->url.host : "";
	j->tr.port = j->url.port;
	corio__hclient_trace_ev(&j->tr, CORIO_HTTP_TRACE_REQUEST_START, 0, 0);
}

/* REDIRECT from r, with the next hop's URL (which the next hop's events carry too) and
 * its host: the last hop's host string went with its URL. */
static void trace_redirect(job *j, const corio_http_response *r)
{
	j->tr.host = j->url.host;
	j->tr.port = j->url.port;
	if (!corio__hclient_tracing(&j->tr))
		return;
	free(j->url_s);
	j->url_s = corio_url_string(&j->url);
	j->tr.url = j->url_s ? j->url_s : "";
	corio__hclient_trace_ev(&j->tr, CORIO_HTTP_TRACE_REDIRECT, 0, corio_http_response_status(r));
}

int corio_http_request(corio_http_client *c, const struct corio_http_request *req,
		       corio_http_response **resp)
{
	visited vs = {0};
	corio_http_response *r = NULL;
	unsigned redirects = 0;
	job j;
	int rc;

	if (resp)
		*resp = NULL;
	if (!c || !req || !req->url || !resp)
		return -EINVAL;
	if (!corio_current())
		return -EPERM;
	if (c->closing)
		return -ESHUTDOWN;
	c->refs++; /* a client freed meanwhile lives on until this call returns */
	rc = job_init(&j, c, req);
	trace_init(&j, c, req);
	if (rc == 0)
		rc = body_init(&j);
	if (rc == 0)
		rc = proxy_init(&j);
	while (rc == 0) {
		/* Loop detection remembers every hop, the first one only once it redirects
		 * (most requests never do: no string is made for them). */
		if (redirects > 0)
			rc = visit(&vs, &j);
		if (rc < 0)
			break;
		rc = hop(&j, &r);
		if (rc < 0)
			break;
		/* Every response's cookies, a 3xx's too, before the next hop asks for them. */
		if (!(j.flags & CORIO_HTTP_NO_COOKIES) &&
		    corio__hclient_cookies_in(c->sess.jar, &j.url, r, req->site_for_cookies) < 0) {
			corio_http_response_free(r);
			r = NULL;
			rc = -ENOMEM;
			break;
		}
		if (redirects == 0 && is_redirect(corio_http_response_status(r)) &&
		    (rc = visit(&vs, &j)) < 0) {
			corio_http_response_free(r);
			r = NULL;
			break;
		}
		rc = next_hop(&j, r, redirects);
		if (rc <= 0) {
			if (rc < 0) {
				corio_http_response_free(r);
				r = NULL;
			}
			break;
		}
		trace_redirect(&j, r);
		corio__hclient_drain(r, REDIRECT_DRAIN_MAX);
		corio_http_response_free(r);
		r = NULL;
		redirects++;
		rc = 0;
	}
	if (r) {
		r->redirects = redirects;
		r->final = j.url; /* moved: job_free no longer owns it */
		memset(&j.url, 0, sizeof j.url);
	}
	rc = r ? 0 : (rc < 0 ? rc : -EIO);
	corio__hclient_trace_ev(&j.tr, CORIO_HTTP_TRACE_REQUEST_END, rc,
				r ? corio_http_response_status(r) : 0);
	visited_free(&vs);
	job_free(&j);
	corio__hclient_unref(c);
	*resp = r;
	return rc;
}

int corio_http_get(corio_http_client *c, const char *url, corio_http_response **resp)
{
	struct corio_http_request req = {.method = "GET", .url = url};

	return corio_http_request(c, &req, resp);
}
