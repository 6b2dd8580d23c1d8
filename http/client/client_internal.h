/* http/client/client_internal.h: what the client's files share, private to http/client/:
 * the client with its pool of connections per origin (client.c), the request and the hop
 * logic (request.c), the response and its body reader (response.c); the llhttp response
 * glue has its own header (parser.h). Never installed.
 *
 * Names: internal names of http/client/ are corio__hclient_* (types, functions) and
 * CORIO__HCLIENT_* (constants); http/server/ uses corio__hserver_*, http/common/
 * corio__http_*. Calls go one way: request.c -> response.c -> client.c (the pool) ->
 * http/common/, and response.c -> parser.c; nothing calls back up. */
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
};

/* client.c: the pool. Acquire may park (waiting for a slot, connecting) until deadline;
 * *conn gets a connection (its reused flag says whether it came from the pool). */
int corio__hclient_acquire(corio_http_client *c, bool tls, const char *host, bool ipv6,
			   uint16_t port, bool fresh, uint64_t deadline, corio__hclient_conn **conn);
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
