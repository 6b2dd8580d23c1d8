/* http/client/cookie_jar.c: owns the cookie jar (RFC 6265 5.3 storage and 5.4 the Cookie
 * header, with 6265bis's Secure, SameSite and prefix rules): which cookies are accepted from
 * which URL, replacing one of the same name, domain and path, expiry by the jar's clock,
 * the limits (50 per domain, 3000 in all, least recently used first out) and the order of
 * the Cookie header (longer paths first, then earlier creation).
 *
 * A jar is a flat array searched linearly: 3000 cookies at most, and a request looks at
 * each once, which costs less than any index would save at this size. Loop-local: no lock.
 * Never parks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/client/cookie_internal.h"
#include "runtime/util/buf.h"
#include "runtime/util/str.h"

#define PER_DOMAIN 50
#define TOTAL 3000
#define SESSION INT64_MAX /* no Expires nor Max-Age: kept as long as the jar */

typedef struct cookie {
	char *name, *value, *domain, *path; /* all in one allocation with the struct */
	int64_t expires;
	uint64_t created; /* creation order; a replaced cookie keeps its predecessor's */
	uint64_t used;    /* last stored or sent: the least recently used goes first */
	bool host_only, secure, http_only;
	int same_site;
} cookie;

struct corio_http_cookie_jar {
	cookie **v;
	size_t n, cap;
	uint64_t tick;
	int64_t (*now)(void *ud);
	void *ud;
};

static int64_t wall_clock(void *ud)
{
	(void)ud;
	return (int64_t)time(NULL);
}

corio_http_cookie_jar *corio_http_cookie_jar_new(void)
{
	corio_http_cookie_jar *j = calloc(1, sizeof *j);

	if (j)
		j->now = wall_clock;
	return j;
}

void corio_http_cookie_jar_clear(corio_http_cookie_jar *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++)
		free(j->v[i]);
	j->n = 0;
}

void corio_http_cookie_jar_free(corio_http_cookie_jar *j)
{
	corio_http_cookie_jar_clear(j);
	if (j)
		free(j->v);
	free(j);
}

void corio_http_cookie_jar_clock(corio_http_cookie_jar *j, int64_t (*now)(void *ud), void *ud)
{
	if (!j)
		return;
	j->now = now ? now : wall_clock;
	j->ud = now ? ud : NULL;
}

/* ---- the array ------------------------------------------------------------------------ */

static void drop_at(corio_http_cookie_jar *j, size_t i)
{
	free(j->v[i]);
	j->v[i] = j->v[--j->n];
}

static void drop_expired(corio_http_cookie_jar *j, int64_t now)
{
	for (size_t i = 0; i < j->n;)
		if (j->v[i]->expires <= now)
			drop_at(j, i);
		else
			i++;
}

size_t corio_http_cookie_jar_len(corio_http_cookie_jar *j)
{
	if (!j)
		return 0;
	drop_expired(j, j->now(j->ud));
	return j->n;
}

/* Drops the least recently used cookie of domain (any domain when NULL). */
static void drop_lru(corio_http_cookie_jar *j, const char *domain)
{
	size_t best = j->n;

	for (size_t i = 0; i < j->n; i++)
		if ((!domain || strcmp(j->v[i]->domain, domain) == 0) &&
		    (best == j->n || j->v[i]->used < j->v[best]->used))
			best = i;
	if (best < j->n)
		drop_at(j, best);
}

static void enforce_limits(corio_http_cookie_jar *j, const char *domain)
{
	size_t in_domain = 0;

	for (size_t i = 0; i < j->n; i++)
		in_domain += strcmp(j->v[i]->domain, domain) == 0;
	for (; in_domain > PER_DOMAIN; in_domain--)
		drop_lru(j, domain);
	while (j->n > TOTAL)
		drop_lru(j, NULL);
}

static cookie *cookie_new(const corio__hclient_setcookie *sc, const char *domain,
			  const char *path)
{
	size_t dn = strlen(domain) + 1, pn = strlen(path) + 1;
	cookie *c = malloc(sizeof *c + sc->name_len + sc->value_len + 2 + dn + pn);
	char *s;

	if (!c)
		return NULL;
	memset(c, 0, sizeof *c);
	s = (char *)(c + 1);
	c->name = memcpy(s, sc->name, sc->name_len);
	s[sc->name_len] = 0;
	s += sc->name_len + 1;
	c->value = memcpy(s, sc->value, sc->value_len);
	s[sc->value_len] = 0;
	s += sc->value_len + 1;
	c->domain = memcpy(s, domain, dn);
	c->path = memcpy(s + dn, path, pn);
	c->secure = sc->secure;
	c->http_only = sc->http_only;
	c->same_site = sc->same_site;
	return c;
}

/* ---- storing ------------------------------------------------------------------------ */

static bool secure_scheme(const corio_url *u)
{
	return strcmp(u->scheme, "https") == 0 || strcmp(u->scheme, "wss") == 0;
}

/* The cookie's domain into dom (lowercase): "" refused; *host_only set. */
static void cookie_domain(const corio__hclient_setcookie *sc, const char *host, char *dom,
			  size_t cap, bool *host_only)
{
	*host_only = true;
	dom[0] = 0;
	if (!sc->domain) {
		snprintf(dom, cap, "%s", host);
		return;
	}
	if (sc->domain_len >= cap)
		return;
	for (size_t i = 0; i < sc->domain_len; i++) {
		char ch = corio__ascii_lower(sc->domain[i]);

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '.' || ch == '_' || ch == ':')) {
			dom[0] = 0; /* not a host name as this client writes one (no IDNA) */
			return;
		}
		dom[i] = ch;
	}
	dom[sc->domain_len] = 0;
	if (corio__hclient_is_ip(host) || corio__hclient_public_suffix(dom)) {
		/* An IP host, or a suffix: only as the request's own host, then host-only
		 * (5.3 step 5), never for others under it. */
		if (strcmp(dom, host) != 0)
			dom[0] = 0;
		return;
	}
	if (!corio__hclient_domain_match(host, dom))
		dom[0] = 0;
	else
		*host_only = false;
}

static bool has_prefix(const corio__hclient_setcookie *sc, const char *p, size_t n)
{
	return sc->name_len >= n && corio__ascii_ieq(sc->name, p, n);
}

/* The 6265bis rules that refuse a cookie whatever its domain. */
static bool refused(const corio__hclient_setcookie *sc, const corio_url *u, bool cross_site)
{
	if (sc->secure && !secure_scheme(u))
		return true; /* only a secure origin sets a Secure cookie */
	if (sc->same_site == CORIO__HCLIENT_SS_NONE && !sc->secure)
		return true;
	if (cross_site && (sc->same_site == CORIO__HCLIENT_SS_LAX ||
			   sc->same_site == CORIO__HCLIENT_SS_STRICT))
		return true;
	if (has_prefix(sc, CORIO__LIT("__Secure-")) && !sc->secure)
		return true;
	if (has_prefix(sc, CORIO__LIT("__Host-")) &&
	    (!sc->secure || sc->domain || !sc->path || sc->path_len != 1))
		return true;
	return false;
}

static bool same_name(const cookie *c, const corio__hclient_setcookie *sc)
{
	return strlen(c->name) == sc->name_len && memcmp(c->name, sc->name, sc->name_len) == 0;
}

/* 6265bis 5.6 step 16: an insecure origin may not set a cookie that would shadow a Secure
 * one of the same name whose domain overlaps and whose path covers the new one. */
static bool shadows_secure(corio_http_cookie_jar *j, const corio__hclient_setcookie *sc,
			   const char *dom, const char *path)
{
	for (size_t i = 0; i < j->n; i++) {
		const cookie *c = j->v[i];

		if (c->secure && same_name(c, sc) &&
		    (corio__hclient_domain_match(dom, c->domain) ||
		     corio__hclient_domain_match(c->domain, dom)) &&
		    corio__hclient_path_match(path, c->path))
			return true;
	}
	return false;
}

static int64_t expiry(const corio__hclient_setcookie *sc, int64_t now)
{
	int64_t cap = now > INT64_MAX - CORIO__HCLIENT_COOKIE_MAX_AGE
			      ? INT64_MAX - 1
			      : now + CORIO__HCLIENT_COOKIE_MAX_AGE;

	if (sc->has_max_age) /* Max-Age wins over Expires (5.3 step 3) */
		return sc->max_age <= 0 ? INT64_MIN
					: (sc->max_age > CORIO__HCLIENT_COOKIE_MAX_AGE
						   ? cap
						   : now + sc->max_age);
	if (sc->has_expires)
		return sc->expires < cap ? sc->expires : cap;
	return SESSION;
}

/* Puts c in place of the cookie at old (j->n: none), or appends it. */
static int put(corio_http_cookie_jar *j, cookie *c, size_t old)
{
	if (old < j->n) {
		c->created = j->v[old]->created;
		free(j->v[old]);
		j->v[old] = c;
		return 0;
	}
	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 16;
		cookie **nv = realloc(j->v, cap * sizeof *nv);

		if (!nv)
			return -ENOMEM;
		j->v = nv;
		j->cap = cap;
	}
	c->created = ++j->tick;
	j->v[j->n++] = c;
	return 0;
}

static size_t find(corio_http_cookie_jar *j, const corio__hclient_setcookie *sc,
		   const char *dom, const char *path)
{
	for (size_t i = 0; i < j->n; i++)
		if (same_name(j->v[i], sc) && strcmp(j->v[i]->domain, dom) == 0 &&
		    strcmp(j->v[i]->path, path) == 0)
			return i;
	return j->n;
}

/* Stores what sc says for a response from u, dom and path resolved. */
static int commit(corio_http_cookie_jar *j, const corio__hclient_setcookie *sc, const char *dom,
		  const char *path, bool host_only, const corio_url *u)
{
	int64_t now = j->now(j->ud), exp = expiry(sc, now);
	size_t old;
	cookie *c;

	drop_expired(j, now);
	if (!sc->secure && !secure_scheme(u) && shadows_secure(j, sc, dom, path))
		return 0;
	old = find(j, sc, dom, path);
	if (exp <= now) { /* Max-Age=0 or a past date: a deletion */
		if (old == j->n)
			return 0;
		drop_at(j, old);
		return 1;
	}
	c = cookie_new(sc, dom, path);
	if (!c)
		return -ENOMEM;
	c->expires = exp;
	c->host_only = host_only;
	c->used = ++j->tick;
	if (put(j, c, old) != 0) {
		free(c);
		return -ENOMEM;
	}
	enforce_limits(j, c->domain);
	return 1;
}

int corio__hclient_jar_store(corio_http_cookie_jar *j, const corio_url *u, const char *line,
			     bool cross_site)
{
	corio__hclient_setcookie sc;
	size_t hn = strlen(u->host), pn = strlen(u->path);
	char *dom = malloc(hn + CORIO__HCLIENT_COOKIE_AV_MAX + 2), *path = malloc(pn + 2 + CORIO__HCLIENT_COOKIE_AV_MAX);
	bool host_only;
	int rc = 0;

	if (!dom || !path) {
		rc = -ENOMEM;
		goto out;
	}
	if (!corio__hclient_cookie_parse(line, &sc) || refused(&sc, u, cross_site))
		goto out;
	cookie_domain(&sc, u->host, dom, hn + CORIO__HCLIENT_COOKIE_AV_MAX + 2, &host_only);
	if (!dom[0])
		goto out;
	if (sc.path) {
		memcpy(path, sc.path, sc.path_len);
		path[sc.path_len] = 0;
	} else {
		corio__hclient_default_path(u->path, path, pn + 1);
	}
	rc = commit(j, &sc, dom, path, host_only, u);
out:
	free(dom);
	free(path);
	return rc;
}

int corio_http_cookie_jar_store(corio_http_cookie_jar *j, const char *url, const char *set_cookie)
{
	corio_url u;
	int rc;

	if (!j || !url || !set_cookie)
		return -EINVAL;
	rc = corio_url_parse(url, &u);
	if (rc < 0)
		return rc;
	rc = u.host[0] ? corio__hclient_jar_store(j, &u, set_cookie, false) : -EINVAL;
	corio_url_free(&u);
	return rc;
}

/* ---- the Cookie header -------------------------------------------------------------- */

bool corio__hclient_cross_site(const corio_url *u, const char *site_for_cookies)
{
	corio_url s;
	bool cross;

	if (!site_for_cookies)
		return false;
	if (corio_url_parse(site_for_cookies, &s) != 0)
		return true; /* a site nobody can name is no site of ours */
	cross = strcmp(corio__hclient_site(u->host), corio__hclient_site(s.host)) != 0;
	corio_url_free(&s);
	return cross;
}

static bool applies(const cookie *c, const corio_url *u, const char *method, bool cross_site)
{
	if (c->host_only ? strcmp(u->host, c->domain) != 0
			 : !corio__hclient_domain_match(u->host, c->domain))
		return false;
	if (!corio__hclient_path_match(u->path, c->path) || (c->secure && !secure_scheme(u)))
		return false;
	if (!cross_site || c->same_site == CORIO__HCLIENT_SS_NONE ||
	    c->same_site == CORIO__HCLIENT_SS_DEFAULT)
		return true;
	/* Strict: same-site only; Lax: also a cross-site request with a safe method. */
	return c->same_site == CORIO__HCLIENT_SS_LAX &&
	       (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
}

static int order(const void *a, const void *b)
{
	const cookie *x = *(cookie *const *)a, *y = *(cookie *const *)b;
	size_t lx = strlen(x->path), ly = strlen(y->path);

	if (lx != ly)
		return lx > ly ? -1 : 1;
	return x->created < y->created ? -1 : x->created > y->created;
}

int corio__hclient_jar_header(corio_http_cookie_jar *j, const corio_url *u, const char *method,
			      bool cross_site, char **out)
{
	cookie **pick;
	size_t n = 0;
	corio__buf b = {0};

	*out = NULL;
	drop_expired(j, j->now(j->ud));
	if (!j->n)
		return 0;
	pick = malloc(j->n * sizeof *pick);
	if (!pick)
		return -ENOMEM;
	for (size_t i = 0; i < j->n; i++)
		if (applies(j->v[i], u, method ? method : "GET", cross_site))
			pick[n++] = j->v[i];
	qsort(pick, n, sizeof *pick, order);
	for (size_t i = 0; i < n; i++) {
		pick[i]->used = ++j->tick;
		if ((i && corio__buf_append(&b, "; ", 2) != 0) ||
		    corio__buf_append(&b, pick[i]->name, strlen(pick[i]->name)) != 0 ||
		    corio__buf_append(&b, "=", 1) != 0 ||
		    corio__buf_append(&b, pick[i]->value, strlen(pick[i]->value) + 1) != 0)
			goto oom;
		b.len--; /* the NUL stays behind the text */
	}
	free(pick);
	*out = n ? b.p : NULL;
	if (!n)
		corio__buf_free(&b);
	return 0;
oom:
	free(pick);
	corio__buf_free(&b);
	return -ENOMEM;
}

int corio_http_cookie_jar_header(corio_http_cookie_jar *j, const char *url, const char *method,
				 const char *site_for_cookies, char **out)
{
	corio_url u;
	int rc;

	if (out)
		*out = NULL;
	if (!j || !url || !out)
		return -EINVAL;
	rc = corio_url_parse(url, &u);
	if (rc < 0)
		return rc;
	rc = u.host[0] ? corio__hclient_jar_header(j, &u, method,
						   corio__hclient_cross_site(&u, site_for_cookies),
						   out)
		       : -EINVAL;
	corio_url_free(&u);
	return rc;
}
