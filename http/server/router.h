/* http/server/router.h: the router's insides shared by router.c (the public API, dispatch,
 * the middleware chain, parameters) and route_trie.c (patterns and the segment trie that
 * matches them); bench/ and tests/ include it to time and test matching alone. Private to
 * http/server/, never installed.
 *
 * The trie: one node per pattern prefix. A node's children are its literal segments (an
 * array, scanned when it holds a few, else looked up through an open-addressing hash index:
 * the cost of a segment does not grow with the number of routes beside it), one {param}
 * child and one {tail*} child; the routes that end
 * at a node hang on it, one per method ("*" = any). Built by corio_http_route before
 * serving, read-only afterwards: matching writes only to the caller's match state, so one
 * router serves many loops at once. */
#ifndef CORIO_HTTP_SERVER_ROUTER_H
#define CORIO_HTTP_SERVER_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/http_server.h>

#define CORIO__HSERVER_ROUTE_MAX_PARAMS 16  /* {params} in one pattern */
#define CORIO__HSERVER_ROUTE_MAX_LITERAL 255 /* bytes of a literal segment, decoded */
#define CORIO__HSERVER_ROUTE_MAX_METHOD 32  /* bytes of a method token */
/* A request segment with a '%' is decoded before it is compared with the literals; one of
 * more than 3 * MAX_LITERAL raw bytes decodes to more than MAX_LITERAL and cannot match. */
#define CORIO__HSERVER_ROUTE_SCRATCH (3 * CORIO__HSERVER_ROUTE_MAX_LITERAL + 3)

typedef struct corio__hserver_rnode corio__hserver_rnode;

/* One method of one pattern. */
typedef struct corio__hserver_route {
	char *method;               /* a token, or "*" */
	corio_http_handler h;
	void *ud;
	unsigned nparams;
	char *names[CORIO__HSERVER_ROUTE_MAX_PARAMS]; /* in the pattern's order */
} corio__hserver_route;

typedef struct corio__hserver_rchild {
	char *seg;                  /* decoded literal */
	size_t len;
	uint32_t hash;              /* of seg */
	corio__hserver_rnode *node;
} corio__hserver_rchild;

struct corio__hserver_rnode {
	corio__hserver_rchild *lits; /* in insertion order */
	unsigned nlits, litcap;
	uint32_t *slots;             /* hash index of lits (index + 1, 0: empty), past a few */
	uint32_t nslots;             /* a power of two, at least twice nlits; 0: no index */
	corio__hserver_rnode *param; /* {name}: one non-empty segment */
	corio__hserver_rnode *tail;  /* {name*}: the rest of the path; a leaf */
	corio__hserver_route *routes;
	unsigned nroutes;
};

/* Distinct methods of every route (for OPTIONS *). */
typedef struct corio__hserver_methods {
	char **m;
	unsigned n;
} corio__hserver_methods;

typedef struct corio__hserver_mw {
	corio_http_middleware fn;
	void *ud;
} corio__hserver_mw;

struct corio_http_router {
	corio__hserver_rnode root;
	corio__hserver_methods methods;
	corio__hserver_mw *mw;
	unsigned nmw;
};

/* A raw (still percent-encoded) span of the path. */
typedef struct corio__hserver_span {
	uint32_t off, len;
} corio__hserver_span;

/* What matching found. */
typedef struct corio__hserver_match {
	const corio__hserver_route *route;   /* NULL: no route for this method */
	const corio__hserver_rnode *path_hit; /* first node matching the path (405), or NULL */
	unsigned nspans;
	corio__hserver_span spans[CORIO__HSERVER_ROUTE_MAX_PARAMS]; /* route's params, raw */
	char scratch[CORIO__HSERVER_ROUTE_SCRATCH]; /* decoded segments for literal lookups */
} corio__hserver_match;

/* route_trie.c */
/* Adds a route (the pattern parsed and checked). 0, -EINVAL, -ENOMEM. */
int corio__hserver_trie_add(corio_http_router *r, const char *method, const char *pattern,
			    corio_http_handler h, void *ud);
/* Frees the trie under n (not n itself). */
void corio__hserver_trie_free(corio__hserver_rnode *n);
/* Matches path (origin-form, percent-encoded, starting with '/') for method. Precedence at
 * every segment: a literal, then {param}, then {tail*}, backtracking when a branch finds
 * nothing for the method. True when m->route was found; otherwise m->path_hit says whether
 * some route matched the path (405) or none (404). Never allocates, never parks. */
bool corio__hserver_router_match(const corio_http_router *r, const char *method,
				 const char *path, corio__hserver_match *m);
/* Calls fn(method, arg) for the method of every route whose pattern matches path. */
void corio__hserver_router_methods_of(const corio_http_router *r, const char *path,
				      void (*fn)(const char *method, void *arg), void *arg);
/* Percent-decodes src[0..len) into dst (at least len bytes): the decoded length, or -1 for
 * a bad escape or a decoded NUL. */
long corio__hserver_pct_decode(char *dst, const char *src, size_t len);

#endif
