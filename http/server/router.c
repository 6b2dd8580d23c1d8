/* http/server/router.c: the router's public side (corio/http_server.h, "routing and
 * middleware"): building a router, dispatching a request through the middleware chain to
 * the matched handler or to the router's own answers (400, 404, 405 with Allow, 204 for
 * OPTIONS), and the request's decoded parameters. Patterns and the trie are route_trie.c's.
 *
 * Per request nothing is allocated in the common case and nothing shared is written: the
 * match, the chain's position and the parameter values live in the dispatching call's
 * frame (req->route points at it while the chain runs), so one router serves every loop of
 * a threads > 1 server. Parameter values longer than ROUTE_INLINE bytes in all are decoded
 * into one malloc'ed block, freed when the chain returns. */
#define _GNU_SOURCE /* strchrnul */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/server/router.h"
#include "http/server/server_internal.h"

#define ROUTE_INLINE 512 /* bytes of decoded parameter values kept on the stack */
#define ALLOW_MAX 64     /* methods an Allow header lists */

/* What req->route points at while the router runs a request. */
typedef struct route_ctx {
	const corio__hserver_route *route;         /* NULL: the router answers itself */
	const char *vals[CORIO__HSERVER_ROUTE_MAX_PARAMS];
	char *heap;                                 /* values beyond the inline buffer */
	void *prev;                                 /* an outer router's (nested routers) */
	char inline_vals[ROUTE_INLINE];
} route_ctx;

/* The end of the chain and where the walk is: a middleware's next_ud is one of these, on
 * the stack of the call that runs it, so calling next twice runs the rest twice. */
typedef struct chain {
	const corio_http_router *r;
	corio_http_handler h;
	void *ud;
} chain;

typedef struct chain_pos {
	const chain *ch;
	unsigned i;
} chain_pos;

/* ---- building ---------------------------------------------------------------------------- */

corio_http_router *corio_http_router_new(void)
{
	return calloc(1, sizeof(corio_http_router));
}

static bool known_method(const corio_http_router *r, const char *method)
{
	for (unsigned i = 0; i < r->methods.n; i++)
		if (!strcmp(r->methods.m[i], method))
			return true;
	return false;
}

int corio_http_route(corio_http_router *r, const char *method, const char *pattern,
		     corio_http_handler h, void *ud)
{
	bool add;
	char *m = NULL;
	int rc;

	if (!r || !method || !pattern || !h)
		return -EINVAL;
	add = strcmp(method, "*") && !known_method(r, method);
	if (add) { /* reserved first: a route is never added without its method listed */
		char **nm = realloc(r->methods.m, (r->methods.n + 1) * sizeof *nm);

		if (!nm)
			return -ENOMEM;
		r->methods.m = nm;
		if (!(m = strdup(method)))
			return -ENOMEM;
	}
	rc = corio__hserver_trie_add(r, method, pattern, h, ud);
	if (rc == 0 && add)
		r->methods.m[r->methods.n++] = m;
	else
		free(m);
	return rc;
}

int corio_http_router_use(corio_http_router *r, corio_http_middleware mw, void *ud)
{
	corio__hserver_mw *n;

	if (!r || !mw)
		return -EINVAL;
	if (!(n = realloc(r->mw, (r->nmw + 1) * sizeof *n)))
		return -ENOMEM;
	r->mw = n;
	r->mw[r->nmw++] = (corio__hserver_mw){ mw, ud };
	return 0;
}

void corio_http_router_free(corio_http_router *r)
{
	if (!r)
		return;
	corio__hserver_trie_free(&r->root);
	for (unsigned i = 0; i < r->methods.n; i++)
		free(r->methods.m[i]);
	free(r->methods.m);
	free(r->mw);
	free(r);
}

/* ---- the router's own answers ------------------------------------------------------------ */

typedef struct allow_set {
	const char *m[ALLOW_MAX];
	unsigned n;
} allow_set;

static void allow_add(const char *method, void *arg)
{
	allow_set *s = arg;

	if (!strcmp(method, "*"))
		return;
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->m[i], method))
			return;
	if (s->n < ALLOW_MAX)
		s->m[s->n++] = method;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds "Allow: A, B, ..." for s plus OPTIONS (and HEAD with GET), sorted. */
static int allow_header(corio_http_out *resp, allow_set *s)
{
	char buf[ALLOW_MAX * (CORIO__HSERVER_ROUTE_MAX_METHOD + 2) + 1];
	size_t len = 0;

	allow_add("OPTIONS", s);
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->m[i], "GET"))
			allow_add("HEAD", s);
	qsort(s->m, s->n, sizeof s->m[0], str_cmp);
	for (unsigned i = 0; i < s->n; i++) {
		size_t ml = strlen(s->m[i]);

		if (i) {
			memcpy(buf + len, ", ", 2);
			len += 2;
		}
		memcpy(buf + len, s->m[i], ml);
		len += ml;
	}
	buf[len] = '\0';
	return corio_http_out_header(resp, "Allow", buf);
}

/* The methods for req's path: every route matching it, or every route for OPTIONS *. */
static void allowed(const corio_http_router *r, corio_http_in *req, allow_set *s)
{
	s->n = 0;
	if (req->path[0] != '/') {
		for (unsigned i = 0; i < r->methods.n; i++)
			allow_add(r->methods.m[i], s);
		return;
	}
	corio__hserver_router_methods_of(r, req->path, allow_add, s);
}

static void answer_405(corio_http_in *req, corio_http_out *resp, void *router)
{
	allow_set s;

	allowed(router, req, &s);
	if (allow_header(resp, &s) == 0)
		corio_http_out_error(resp, 405);
}

static void answer_options(corio_http_in *req, corio_http_out *resp, void *router)
{
	allow_set s;

	allowed(router, req, &s);
	if (allow_header(resp, &s) == 0 && corio_http_out_status(resp, 204) == 0)
		corio_http_out_send(resp, "", 0);
}

static void answer_404(corio_http_in *req, corio_http_out *resp, void *ud)
{
	(void)req;
	(void)ud;
	corio_http_out_error(resp, 404);
}

static void answer_400(corio_http_in *req, corio_http_out *resp, void *ud)
{
	(void)req;
	(void)ud;
	corio_http_out_error(resp, 400);
}

static void answer_500(corio_http_in *req, corio_http_out *resp, void *ud)
{
	(void)req;
	(void)ud;
	corio_http_out_error(resp, 500);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

/* True when a segment of path is "." or ".." (also percent-encoded, as "%2e"). */
static bool has_dot_segment(const char *path)
{
	for (const char *s = path + 1;; s++) {
		const char *e = strchrnul(s, '/');
		size_t len = (size_t)(e - s);
		char d[6];
		long dl;

		if (len && len <= 6 && (dl = corio__hserver_pct_decode(d, s, len)) > 0 &&
		    dl <= 2 && d[0] == '.' && (dl == 1 || d[1] == '.'))
			return true;
		if (!*e)
			return false;
		s = e;
	}
}

/* Decodes the matched parameters into x. 0, 400 (bad escape, NUL) or 500 (no memory). */
static int decode_params(route_ctx *x, const char *path, const corio__hserver_match *m)
{
	size_t need = 0, off = 0;
	char *buf = x->inline_vals;

	for (unsigned i = 0; i < m->nspans; i++)
		need += m->spans[i].len + 1;
	if (need > sizeof x->inline_vals && !(buf = x->heap = malloc(need)))
		return 500;
	for (unsigned i = 0; i < m->nspans; i++) {
		long dl = corio__hserver_pct_decode(buf + off, path + m->spans[i].off,
						    m->spans[i].len);

		if (dl < 0)
			return 400;
		x->vals[i] = buf + off;
		buf[off + (size_t)dl] = '\0';
		off += (size_t)dl + 1;
	}
	return 0;
}

/* Picks the end of the chain for req: the route's handler, or one of the router's answers. */
static void pick(const corio_http_router *r, corio_http_in *req, route_ctx *x, chain *ch)
{
	corio__hserver_match m;
	bool options = !strcmp(req->method, "OPTIONS");
	int st;

	ch->ud = (void *)r;
	if (req->path[0] != '/') { /* OPTIONS * (the server allows "*" for nothing else) */
		ch->h = options ? answer_options : answer_404;
		return;
	}
	if (has_dot_segment(req->path)) {
		ch->h = answer_400;
		return;
	}
	if (!corio__hserver_router_match(r, req->method, req->path, &m)) {
		ch->h = !m.path_hit ? answer_404 : options ? answer_options : answer_405;
		return;
	}
	if ((st = decode_params(x, req->path, &m)) != 0) {
		ch->h = st == 400 ? answer_400 : answer_500;
		return;
	}
	x->route = m.route;
	ch->h = m.route->h;
	ch->ud = m.route->ud;
}

static void run_from(corio_http_in *req, corio_http_out *resp, const chain *ch, unsigned i);

static void chain_next(corio_http_in *req, corio_http_out *resp, void *pos)
{
	const chain_pos *p = pos;

	run_from(req, resp, p->ch, p->i);
}

/* Runs middleware i (and through its next, the rest), or the end of the chain. */
static void run_from(corio_http_in *req, corio_http_out *resp, const chain *ch, unsigned i)
{
	chain_pos next = { ch, i + 1 };

	if (i >= ch->r->nmw) {
		ch->h(req, resp, ch->ud);
		return;
	}
	ch->r->mw[i].fn(req, resp, chain_next, &next, ch->r->mw[i].ud);
}

void corio_http_router_handler(corio_http_in *req, corio_http_out *resp, void *router)
{
	const corio_http_router *r = router;
	route_ctx x;
	chain ch = { .r = r };

	if (!req || !resp)
		return;
	if (!r) {
		corio_http_out_error(resp, 500);
		return;
	}
	x.route = NULL;
	x.heap = NULL;
	x.prev = req->route;
	pick(r, req, &x, &ch);
	req->route = &x;
	run_from(req, resp, &ch, 0);
	req->route = x.prev;
	free(x.heap);
}

const char *corio_http_in_param(const corio_http_in *req, const char *name)
{
	const route_ctx *x;

	if (!req || !name || !(x = req->route) || !x->route)
		return NULL;
	for (unsigned i = 0; i < x->route->nparams; i++)
		if (!strcmp(x->route->names[i], name))
			return x->vals[i];
	return NULL;
}
