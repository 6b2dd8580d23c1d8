/* http/client/client_internal.h: what the client's files share: the client with its pool of
 * connections per origin (client.c), the prepared request and the hop logic
 * (client_request.c), the response and its body reader (client_response.c). */
#ifndef CORIO_HTTP_CLIENT_INTERNAL_H
#define CORIO_HTTP_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/http.h>
#include <corio/sync.h>

#include "runtime/time/deadline.h" /* runtime/: I/O deadlines without linked timeouts */
#include "http/common/coding.h"
#include "http/common/token.h"
#include "http/client/parser.h"

#define CORIO__HC_BUFSIZE 16384
#define CORIO__HC_UA "corio/0.1"

typedef struct corio__hc_origin corio__hc_origin;

/* One connection. Owned by its origin's idle list or by exactly one response. */
typedef struct corio__hc_conn {
	struct corio__hc_conn *next; /* idle list */
	corio__hc_origin *origin;
	int fd;
	bool reused;    /* this request is not the connection's first */
	bool broken;    /* must not go back to the pool */
	uint64_t idle_since;
	unsigned requests;
	size_t off, len; /* unparsed bytes are buf[off..len) */
	char buf[CORIO__HC_BUFSIZE];
} corio__hc_conn;

struct corio__hc_origin {
	corio__hc_origin *next;
	char *host;   /* as in the URL (IPv6 without brackets) */
	char port[8];
	bool ipv6;
	size_t nconns; /* open: idle + in use + connecting */
	size_t users;  /* tasks holding or waiting for a connection of this origin */
	corio__hc_conn *idle; /* most recently used first */
};

struct corio_http_client {
	corio_http_client_opts o;  /* defaults resolved */
	corio_http_header *headers; /* copies of opts.headers */
	char *hstore;
	char *ua;
	corio__hc_origin *origins;
	size_t nconns;
	size_t refs;  /* 1 for the owner + 1 per live response */
	bool closing;
	corio_mutex mu;
	corio_cond cv;  /* broadcast whenever a connection slot or an idle connection frees up */
	corio_http_client_stats st;
};

struct corio_http_response {
	corio_http_client *client;
	corio__hc_conn *conn;  /* NULL once released */
	corio__h1r h;
	corio_url final;       /* where the response came from (after redirects) */
	char *url;             /* final as a string, made on first corio_http_response_url */
	unsigned redirects;
	uint64_t deadline;     /* the request's total deadline */
	uint64_t max_body, body_total;
	corio__hc_decoder dec;
	bool decoding;
	bool eof;              /* body delivered to its end */
	int err;               /* sticky */
	char *text;
	size_t text_len;
};

/* client.c: the pool. Acquire may park (waiting for a slot, connecting) until deadline;
 * *conn gets a connection (its reused flag says whether it came from the pool). */
int corio__hc_acquire(corio_http_client *c, const char *host, bool ipv6, uint16_t port,
		      bool fresh, uint64_t deadline, corio__hc_conn **conn);
/* Gives a connection back: to the idle list when keep is true and the client is open,
 * closed otherwise. May park (closing). */
void corio__hc_release(corio_http_client *c, corio__hc_conn *conn, bool keep);
void corio__hc_client_unref(corio_http_client *c);
uint64_t corio__hc_deadline(uint64_t ns); /* now + ns, saturating */

/* client_response.c */
corio_http_response *corio__hc_response_new(corio_http_client *c, corio__hc_conn *conn,
					    bool head, uint64_t deadline, uint64_t max_body);
/* Reads until the status line and headers of the final response are in (or, with
 * until_interim, until a 1xx came). 0; 1 when the deadline `soft` passed first; -errno. */
int corio__hc_read_head(corio_http_response *r, bool until_interim, uint64_t soft);
/* Sets up decoding from the headers (after corio__hc_read_head). */
void corio__hc_response_ready(corio_http_response *r, bool decompress, uint64_t max_decoded);
/* Reads and drops the body (at most max bytes) so that the connection can be reused. */
void corio__hc_drain(corio_http_response *r, size_t max);
/* A timeout scope's deadline for one read or write on r's connection. */
uint64_t corio__hc_io_deadline(const corio_http_response *r);

#endif
