/* http/server/route_trie.c: the router's patterns and the segment trie that matches them
 * (http/server/router.h): parsing and checking a pattern ("/users/{id}", "/static/{path*}"),
 * inserting it, matching a request path with backtracking (literal > {param} > {tail*} at
 * every segment), percent-decoding. The dispatch around it is router.c's.
 *
 * Literal segments are stored percent-decoded, and a request segment holding a '%' is
 * decoded before it is looked up, so "/caf%C3%A9" and "/caf%c3%a9" name the same route
 * whichever way the pattern was written. Matching works on the raw path, one segment at a
 * time, and only records where the parameters are: router.c decodes their values. */
#define _GNU_SOURCE /* strchrnul */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/server/router.h"
#include "runtime/util/str.h"

#define SCAN_MAX 8 /* literal children looked up by a scan; beyond, by a hash index */

/* ---- percent-decoding ------------------------------------------------------------------- */

long corio__hserver_pct_decode(char *dst, const char *src, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '%') {
			int hi = i + 2 < len ? corio__hex_digit(src[i + 1]) : -1;
			int lo = hi >= 0 ? corio__hex_digit(src[i + 2]) : -1;

			if (lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0')
			return -1;
		dst[o++] = c;
	}
	return (long)o;
}

/* ---- patterns ---------------------------------------------------------------------------- */

enum seg_kind { SEG_LIT, SEG_PARAM, SEG_TAIL };

/* One segment of a pattern, parsed. */
typedef struct pseg {
	enum seg_kind kind;
	const char *name;  /* param and tail: the name inside the braces */
	size_t name_len;
	char lit[CORIO__HSERVER_ROUTE_MAX_LITERAL + 1]; /* literal, decoded */
	size_t lit_len;
} pseg;

static bool name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* Parses the segment s[0..len) (last: nothing follows it). 0 or -EINVAL. */
static int parse_seg(const char *s, size_t len, bool last, pseg *o)
{
	long dl;

	if (len && s[0] == '{') {
		o->name = s + 1;
		o->name_len = len >= 2 && s[len - 1] == '}' ? len - 2 : 0;
		o->kind = SEG_PARAM;
		if (o->name_len && o->name[o->name_len - 1] == '*') {
			o->kind = SEG_TAIL;
			o->name_len--;
		}
		if (!name_ok(o->name, o->name_len) || (o->kind == SEG_TAIL && !last))
			return -EINVAL;
		return 0;
	}
	if (memchr(s, '{', len) || memchr(s, '}', len) || (len == 0 && !last) ||
	    len > 3 * CORIO__HSERVER_ROUTE_MAX_LITERAL)
		return -EINVAL;
	o->kind = SEG_LIT;
	dl = corio__hserver_pct_decode(o->lit, s, len);
	if (dl < 0 || dl > CORIO__HSERVER_ROUTE_MAX_LITERAL)
		return -EINVAL;
	o->lit_len = (size_t)dl;
	/* Requests with dot segments never reach the trie (router.c answers 400). */
	if ((dl == 1 && o->lit[0] == '.') || (dl == 2 && !memcmp(o->lit, "..", 2)))
		return -EINVAL;
	return 0;
}

/* The parameter names of pattern into names (not NUL-terminated: pointers into pattern),
 * every segment checked. The number of parameters, or -EINVAL. */
static int check_pattern(const char *pattern, const char **names, size_t *lens)
{
	const char *p = pattern + 1;
	int n = 0;
	pseg s;

	if (pattern[0] != '/')
		return -EINVAL;
	for (;;) {
		const char *e = strchrnul(p, '/');

		if (parse_seg(p, (size_t)(e - p), *e == '\0', &s) < 0)
			return -EINVAL;
		if (s.kind != SEG_LIT) {
			if (n == CORIO__HSERVER_ROUTE_MAX_PARAMS)
				return -EINVAL;
			for (int i = 0; i < n; i++)
				if (lens[i] == s.name_len && !memcmp(names[i], s.name, s.name_len))
					return -EINVAL;
			names[n] = s.name;
			lens[n++] = s.name_len;
		}
		if (*e == '\0')
			return n;
		p = e + 1;
	}
}

static bool method_ok(const char *m)
{
	size_t n = strlen(m);

	if (n == 0 || n > CORIO__HSERVER_ROUTE_MAX_METHOD)
		return false;
	if (!strcmp(m, "*"))
		return true;
	/* RFC 9110 5.6.2: tchar */
	return strspn(m, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n;
}

/* ---- building ---------------------------------------------------------------------------- */

/* FNV-1a: literal segments are short; what matters is that a lookup costs the same with
 * 10 siblings or 1 000. */
static uint32_t seg_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static bool lit_is(const corio__hserver_rchild *c, uint32_t h, const char *key, size_t len)
{
	return c->hash == h && c->len == len && !memcmp(c->seg, key, len);
}

/* The literal child key[0..len) of n, or NULL: a scan of a few, or the hash index. */
static corio__hserver_rnode *lit_find(const corio__hserver_rnode *n, const char *key,
				      size_t len)
{
	uint32_t h = seg_hash(key, len);

	if (!n->slots) {
		for (unsigned i = 0; i < n->nlits; i++)
			if (lit_is(&n->lits[i], h, key, len))
				return n->lits[i].node;
		return NULL;
	}
	for (uint32_t i = h & (n->nslots - 1); n->slots[i]; i = (i + 1) & (n->nslots - 1))
		if (lit_is(&n->lits[n->slots[i] - 1], h, key, len))
			return n->lits[n->slots[i] - 1].node;
	return NULL;
}

/* Makes n's hash index over its literals (at most half full), past a few of them. */
static int index_lits(corio__hserver_rnode *n)
{
	uint32_t size = 16, *slots;

	if (n->nlits <= SCAN_MAX || (n->slots && 2 * n->nlits <= n->nslots))
		goto add_last;
	while (size < 4 * n->nlits)
		size *= 2;
	if (!(slots = calloc(size, sizeof *slots)))
		return -ENOMEM;
	free(n->slots);
	n->slots = slots;
	n->nslots = size;
	for (unsigned k = 0; k + 1 < n->nlits; k++) {
		uint32_t i = n->lits[k].hash & (size - 1);

		while (slots[i])
			i = (i + 1) & (size - 1);
		slots[i] = k + 1;
	}
add_last:
	if (n->slots) {
		uint32_t i = n->lits[n->nlits - 1].hash & (n->nslots - 1);

		while (n->slots[i])
			i = (i + 1) & (n->nslots - 1);
		n->slots[i] = n->nlits;
	}
	return 0;
}

static corio__hserver_rnode *lit_child(corio__hserver_rnode *n, const char *key, size_t len)
{
	corio__hserver_rnode *found = lit_find(n, key, len);
	corio__hserver_rchild c;

	if (found)
		return found;
	if (n->nlits == n->litcap) {
		unsigned cap = n->litcap ? n->litcap * 2 : 4;
		corio__hserver_rchild *nl = realloc(n->lits, cap * sizeof *nl);

		if (!nl)
			return NULL;
		n->lits = nl;
		n->litcap = cap;
	}
	c = (corio__hserver_rchild){ .len = len, .hash = seg_hash(key, len) };
	c.seg = malloc(len + 1);
	c.node = calloc(1, sizeof *c.node);
	if (!c.seg || !c.node) {
		free(c.seg);
		free(c.node);
		return NULL;
	}
	memcpy(c.seg, key, len);
	c.seg[len] = '\0';
	n->lits[n->nlits++] = c;
	if (index_lits(n) != 0) {
		n->nlits--;
		free(c.seg);
		free(c.node);
		return NULL;
	}
	return c.node;
}

static corio__hserver_rnode *var_child(corio__hserver_rnode **slot)
{
	if (!*slot)
		*slot = calloc(1, sizeof **slot);
	return *slot;
}

/* The node pattern (checked) ends at, made as needed; NULL on ENOMEM. */
static corio__hserver_rnode *insert_path(corio__hserver_rnode *n, const char *pattern)
{
	const char *p = pattern + 1;
	pseg s;

	for (;;) {
		const char *e = strchrnul(p, '/');

		parse_seg(p, (size_t)(e - p), *e == '\0', &s); /* checked before */
		if (s.kind == SEG_LIT)
			n = lit_child(n, s.lit, s.lit_len);
		else
			n = var_child(s.kind == SEG_PARAM ? &n->param : &n->tail);
		if (!n || *e == '\0')
			return n;
		p = e + 1;
	}
}

static void route_free(corio__hserver_route *rt)
{
	free(rt->method);
	for (unsigned i = 0; i < rt->nparams; i++)
		free(rt->names[i]);
}

/* rt's method and names as strings of their own. 0 or -ENOMEM (rt then freed). */
static int route_fill(corio__hserver_route *rt, const char *method, const char **names,
		      const size_t *lens)
{
	int rc = (rt->method = strdup(method)) ? 0 : -ENOMEM;

	for (unsigned i = 0; rc == 0 && i < rt->nparams; i++)
		if (!(rt->names[i] = strndup(names[i], lens[i])))
			rc = -ENOMEM;
	if (rc != 0)
		route_free(rt);
	return rc;
}

int corio__hserver_trie_add(corio_http_router *r, const char *method, const char *pattern,
			    corio_http_handler h, void *ud)
{
	const char *names[CORIO__HSERVER_ROUTE_MAX_PARAMS];
	size_t lens[CORIO__HSERVER_ROUTE_MAX_PARAMS];
	corio__hserver_route rt = { .h = h, .ud = ud }, *nr;
	corio__hserver_rnode *n;
	int np = check_pattern(pattern, names, lens);

	if (np < 0 || !method_ok(method))
		return -EINVAL;
	if (!(n = insert_path(&r->root, pattern)))
		return -ENOMEM;
	for (unsigned i = 0; i < n->nroutes; i++)
		if (!strcmp(n->routes[i].method, method))
			return -EINVAL; /* the same method and pattern (names aside) twice */
	rt.nparams = (unsigned)np;
	if (!(nr = realloc(n->routes, (n->nroutes + 1) * sizeof *nr)))
		return -ENOMEM;
	n->routes = nr;
	if (route_fill(&rt, method, names, lens) != 0)
		return -ENOMEM;
	n->routes[n->nroutes++] = rt;
	return 0;
}

void corio__hserver_trie_free(corio__hserver_rnode *n)
{
	for (unsigned i = 0; i < n->nlits; i++) {
		corio__hserver_trie_free(n->lits[i].node);
		free(n->lits[i].node);
		free(n->lits[i].seg);
	}
	free(n->lits);
	free(n->slots);
	for (int k = 0; k < 2; k++) {
		corio__hserver_rnode *v = k ? n->tail : n->param;

		if (v) {
			corio__hserver_trie_free(v);
			free(v);
		}
	}
	for (unsigned i = 0; i < n->nroutes; i++)
		route_free(&n->routes[i]);
	free(n->routes);
	*n = (corio__hserver_rnode){ 0 };
}

/* ---- matching ---------------------------------------------------------------------------- */

typedef struct mstate {
	const char *path, *method;
	corio__hserver_match *m;
	void (*collect)(const char *method, void *arg); /* set: visit every match */
	void *arg;
} mstate;

/* The route of n for the request's method: the method itself, then GET for HEAD, then "*". */
static const corio__hserver_route *route_for(const corio__hserver_rnode *n, const char *method)
{
	const corio__hserver_route *any = NULL, *get = NULL;
	bool head = !strcmp(method, "HEAD");

	for (unsigned i = 0; i < n->nroutes; i++) {
		const char *rm = n->routes[i].method;

		if (!strcmp(rm, method))
			return &n->routes[i];
		if (head && !strcmp(rm, "GET"))
			get = &n->routes[i];
		else if (rm[0] == '*')
			any = &n->routes[i];
	}
	return get ? get : any;
}

/* The path ends at n. */
static bool at_node(mstate *st, const corio__hserver_rnode *n)
{
	const corio__hserver_route *rt;

	if (st->collect) {
		for (unsigned i = 0; i < n->nroutes; i++)
			st->collect(n->routes[i].method, st->arg);
		return false;
	}
	if (!n->nroutes)
		return false;
	if ((rt = route_for(n, st->method))) {
		st->m->route = rt;
		return true;
	}
	if (!st->m->path_hit)
		st->m->path_hit = n;
	return false;
}

static bool visit(mstate *st, const corio__hserver_rnode *n, const char *seg);

/* The literal child for the segment seg[0..len), decoded first when it holds a '%'. */
static const corio__hserver_rnode *lit_lookup(mstate *st, const corio__hserver_rnode *n,
					      const char *seg, size_t len)
{
	const char *key = seg;
	long klen = (long)len;

	if (memchr(seg, '%', len)) {
		if (len > sizeof st->m->scratch)
			return NULL; /* decodes to more than any literal holds */
		klen = corio__hserver_pct_decode(st->m->scratch, seg, len);
		if (klen < 0)
			return NULL;
		key = st->m->scratch;
	}
	return lit_find(n, key, (size_t)klen);
}

static bool push_span(mstate *st, const char *start, size_t len)
{
	corio__hserver_match *m = st->m;

	if (m->nspans == CORIO__HSERVER_ROUTE_MAX_PARAMS)
		return false; /* cannot happen: no pattern has more */
	m->spans[m->nspans++] = (corio__hserver_span){ (uint32_t)(start - st->path),
						       (uint32_t)len };
	return true;
}

/* Matches the path from segment seg (NULL: the path ended) at node n. */
static bool visit(mstate *st, const corio__hserver_rnode *n, const char *seg)
{
	const char *e, *next;
	const corio__hserver_rnode *c;
	size_t len;

	if (!seg)
		return at_node(st, n);
	e = strchrnul(seg, '/');
	len = (size_t)(e - seg);
	next = *e ? e + 1 : NULL;
	if (n->nlits && (c = lit_lookup(st, n, seg, len)) && visit(st, c, next))
		return true;
	if (n->param && len > 0 && push_span(st, seg, len)) {
		if (visit(st, n->param, next))
			return true;
		st->m->nspans--;
	}
	if (n->tail && push_span(st, seg, strlen(seg))) {
		if (at_node(st, n->tail))
			return true;
		st->m->nspans--;
	}
	return false;
}

bool corio__hserver_router_match(const corio_http_router *r, const char *method,
				 const char *path, corio__hserver_match *m)
{
	mstate st = { .path = path, .method = method, .m = m };

	m->route = NULL;
	m->path_hit = NULL;
	m->nspans = 0;
	if (path[0] != '/')
		return false;
	return visit(&st, &r->root, path + 1);
}

void corio__hserver_router_methods_of(const corio_http_router *r, const char *path,
				      void (*fn)(const char *method, void *arg), void *arg)
{
	corio__hserver_match m = { 0 };
	mstate st = { .path = path, .method = "", .m = &m, .collect = fn, .arg = arg };

	if (path[0] == '/')
		visit(&st, &r->root, path + 1);
}
