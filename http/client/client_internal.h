/* http/client/client_internal.h: what the client's files share, private to http/client/:
 * the client with its pool of connections per origin (client.c), the request and the hop
 * logic (request.c), the response and its body reader (response.c), proxies (proxy.c),
 * CONNECT tunnels (tunnel.c), connecting with trace events (dial.c) and emitting them
 * (trace.c); the llhttp response glue has its own header (parser.h). Never installed.
 *
 * Names: internal names of http/client/ are corio__hclient_* (types, functions) and
 * CORIO__HCLIENT_* (constants); http/server/ uses corio__hserver_*, http/common/
 * corio__http_*. Calls go one way: request.c -> response.c -> client.c (the pool) ->
 * http/common/, and response.c -> parser.c; client.c -> dial.c, tunnel.c -> parser.c;
 * trace.c is a leaf anyone may call, proxy.c too (it only borrows auth.c's Basic
 * encoding); nothing calls back up. */
#ifndef CORIO_HTTP_CLIENT_INTERNAL_H
#define CORIO_HTTP_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/http.h>
#include <corio/sync.h>

#include "runtime/net/tls_ext.h"    /* runtime/: TLS sessions, ALPN offer, config checks */
#include "runtime/time/deadline.h" /* runtime/: I/O deadlines without linked timeouts */
#include "runtime/util/str.h"
#include "http/common/coding.h"
#include "http/common/token.h"
#include "http/client/parser.h"
#include "http/client/session.h"

/* A connection's receive buffer, inside the connection: a response head of usual size
 * arrives in one receive, and a large body read bypasses it (response.c read_direct). */
#define CORIO__HCLIENT_BUFSIZE 16384
#define CORIO__HCLIENT_UA "corio/0.1" /* User-Agent unless the options name another */

typedef struct corio__hclient_origin corio__hclient_origin;

/* ---- proxies (proxy.c), routes, tracing (trace.c) ------------------------------------- */

/* One proxy, parsed from "http://[user:password@]host[:port]" (port 80 when absent). */
typedef struct corio__hclient_proxy {
	char *host;     /* without brackets */
	char port[8];
	bool ipv6;
	char *auth;     /* "Basic <base64 of user:password>" from the userinfo, or NULL */
} corio__hclient_proxy;

/* A client's proxies, resolved once from the options and (CORIO_HTTP_TRUST_ENV) the
 * environment. A proxy of the environment that does not parse is kept as its error: a
 * request that would use it fails rather than going direct behind the user's back. */
typedef struct corio__hclient_proxies {
	corio__hclient_proxy *http, *https; /* NULL: direct */
	int http_err, https_err;
	char *no_proxy;                     /* NULL: none */
} corio__hclient_proxies;

/* Where a connection goes: the origin, and the proxy in between. Through a proxy, https
 * (and an upgrade) tunnels with CONNECT; plain http is forwarded (absolute-form requests
 * on a connection to the proxy itself). */
typedef struct corio__hclient_route {
	bool tls;
	const char *host; /* the origin's (IPv6 without brackets) */
	bool ipv6;
	uint16_t port;
	const corio__hclient_proxy *proxy; /* NULL: direct */
	bool tunnel;                       /* with proxy: CONNECT, else forwarding */
} corio__hclient_route;

/* The hooks of one request and what every event repeats. host/port: where the hop
 * connects (the proxy when proxied). */
typedef struct corio__hclient_trace {
	corio_http_trace_fn fn[2]; /* the client's, the request's */
	void *ud[2];
	const char *method, *url, *host;
	uint16_t port;
} corio__hclient_trace;

/* proxy.c. Never park. */
int corio__hclient_proxies_init(corio__hclient_proxies *px, const corio_http_client_opts *o);
void corio__hclient_proxies_free(corio__hclient_proxies *px);
/* s "" gives *out NULL (direct). 0, -EINVAL, -EPROTONOSUPPORT (not http://), -ENOMEM. */
int corio__hclient_proxy_parse(const char *s, corio__hclient_proxy **out);
corio__hclient_proxy *corio__hclient_proxy_dup(const corio__hclient_proxy *p);
void corio__hclient_proxy_free(corio__hclient_proxy *p);
bool corio__hclient_proxy_same(const corio__hclient_proxy *a, const corio__hclient_proxy *b);
/* Whether the no_proxy list sends host:port direct. */
bool corio__hclient_no_proxy_match(const char *list, const char *host, uint16_t port);
/* The client's proxy for u into *out (NULL: direct): 0 or the error of a bad proxy. */
int corio__hclient_proxy_pick(const corio__hclient_proxies *px, const corio_url *u,
			      const corio__hclient_proxy **out);

/* trace.c: fills ev's common fields (method, url, host, port, at) from t and calls the
 * client's hook, then the request's. t NULL or without hooks: nothing. Never parks. */
bool corio__hclient_tracing(const corio__hclient_trace *t);
void corio__hclient_trace_emit(const corio__hclient_trace *t, corio_http_trace_info *ev);
void corio__hclient_trace_ev(const corio__hclient_trace *t, corio_http_trace_event e, int err,
			     int status);

/* dial.c: a TCP connection to host:port (resolve, then each address in order), with the
 * DNS_* and CONNECT_* events. fd (TCP_NODELAY) or -errno / CORIO_EAI code. Parks. */
int corio__hclient_dial(const char *host, const char *port, const corio__hclient_trace *t);

/* tunnel.c: CONNECT host:port over the connected fd, the proxy's answer read to the end of
 * its head and not a byte further (what follows is the tunnel's). *status gets the
 * answer's status (0: none). 0 on 2xx, -EACCES (407), -ECONNREFUSED (another status),
 * -EBADMSG, -EPROTO (cut), -ECONNRESET (closed without a byte), -EMSGSIZE. Parks. */
int corio__hclient_tunnel(int fd, const corio__hclient_route *rt, const char *port,
			  const corio_http_client_opts *o, int *status);

/* One connection. Owned by its origin's idle list or by exactly one response. */
typedef struct corio__hclient_conn {
	struct corio__hclient_conn *next; /* idle list */
	corio__hclient_origin *origin;
	int fd;
	corio_tls *tls; /* https://: the TLS connection over fd (owned); NULL for http:// */
	bool reused;    /* this request is not the connection's first */
	bool broken;    /* must not go back to the pool */
	uint64_t idle_since;
	unsigned requests;
	size_t off, len; /* unparsed bytes are buf[off..len) */
	char buf[CORIO__HCLIENT_BUFSIZE];
} corio__hclient_conn;

struct corio__hclient_origin {
	corio__hclient_origin *next;
	char *host;   /* as in the URL (IPv6 without brackets): SNI and the name verified */
	char port[8];
	bool ipv6;
	bool tls;     /* https: the scheme is part of the origin (RFC 6454) */
	/* Through a proxy (a copy, owned): tunnel, the origin through CONNECT (keyed by proxy
	 * and origin); otherwise forwarding, host/port are the proxy's (keyed by the proxy:
	 * requests to any http:// origin share its connections). */
	corio__hclient_proxy *proxy;
	bool tunnel;
	corio__tls_session *session; /* the latest resumable TLS session (owned), or NULL */
	size_t nconns; /* open: idle + in use + connecting */
	size_t users;  /* tasks holding or waiting for a connection of this origin */
	corio__hclient_conn *idle; /* most recently used first */
};

struct corio_http_client {
	corio_http_client_opts o;  /* defaults resolved */
	corio_http_header *headers; /* copies of opts.headers */
	corio_tls_config *tls;      /* one reference: opts.tls, or the default made at the first
				     * https:// connection; NULL until then */
	char *hstore;
	char *ua;
	corio__hclient_origin *origins;
	size_t nconns;
	size_t refs;  /* 1 for the owner + 1 per live response */
	bool closing;
	corio_mutex mu;
	corio_cond cv;  /* broadcast whenever a connection slot or an idle connection frees up */
	corio_http_client_stats st;
	corio__hclient_proxies px;
	corio__hclient_session sess; /* cookie jar, default credentials (session.c) */
};

struct corio_http_response {
	corio_http_client *client;
	corio__hclient_conn *conn;  /* NULL once released */
	corio__hclient_parser h;
	corio_url final;       /* where the response came from (after redirects) */
	char *url;             /* final as a string, made on first corio_http_response_url */
	unsigned redirects;
	uint64_t deadline;     /* the request's total deadline */
	uint64_t max_body, body_total;
	corio__http_decoder dec;
	bool decoding;
	bool eof;              /* body delivered to its end */
	int err;               /* sticky */
	char *text;
	size_t text_len;
	const corio__hclient_trace *trace; /* the request's hooks while it runs (FIRST_BYTE) */
};

/* client.c: the pool. Acquire may park (waiting for a slot, connecting) until deadline;
 * *conn gets a connection to rt (its reused flag says whether it came from the pool); t
 * (may be NULL) gets the connection's events. */
int corio__hclient_acquire(corio_http_client *c, const corio__hclient_route *rt, bool fresh,
			   uint64_t deadline, const corio__hclient_trace *t,
			   corio__hclient_conn **conn);
/* Gives a connection back: to the idle list when keep is true and the client is open,
 * closed otherwise. May park (closing). */
void corio__hclient_release(corio_http_client *c, corio__hclient_conn *conn, bool keep);
void corio__hclient_unref(corio_http_client *c);
uint64_t corio__hclient_deadline(uint64_t ns); /* now + ns, saturating */
/* A connection's I/O, over TLS when it has one. send: all n bytes (n or -errno); recv: as
 * corio_recv, where over TLS 0 means close_notify and a cut without one is -EPROTO. Park. */
ssize_t corio__hclient_send(corio__hclient_conn *k, const void *p, size_t n);
ssize_t corio__hclient_recv(corio__hclient_conn *k, void *buf, size_t len);

/* response.c */
corio_http_response *corio__hclient_response_new(corio_http_client *c, corio__hclient_conn *conn,
						 bool head, uint64_t deadline, uint64_t max_body);
/* Reads until the status line and headers of the final response are in (or, with
 * until_interim, until a 1xx came). 0; 1 when the deadline `soft` passed first; -errno. */
int corio__hclient_read_head(corio_http_response *r, bool until_interim, uint64_t soft);
/* Sets up decoding from the headers (after corio__hclient_read_head). */
void corio__hclient_response_ready(corio_http_response *r, bool decompress, uint64_t max_decoded);
/* Reads and drops the body (at most max bytes) so that the connection can be reused. */
void corio__hclient_drain(corio_http_response *r, size_t max);
/* A timeout scope's deadline for one read or write on r's connection. */
uint64_t corio__hclient_io_deadline(const corio_http_response *r);

#endif
