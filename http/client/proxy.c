/* http/client/proxy.c: owns the client's proxy configuration: parsing a proxy URL
 * ("http://[user:password@]host[:port]", or "host:port" as the environment often has it)
 * with its Basic Proxy-Authorization, the explicit options and (CORIO_HTTP_TRUST_ENV) the
 * environment's http_proxy/https_proxy/no_proxy, the no_proxy matching (domains, "*", IP
 * literals and CIDR blocks, host:port entries) and the pick of a proxy for a URL. Names
 * are never resolved to match no_proxy (as curl and Go do). A leaf; never parks. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/client/client_internal.h"
#include "http/client/session.h" /* Basic credentials (auth.c) */

void corio__hclient_proxy_free(corio__hclient_proxy *p)
{
	if (!p)
		return;
	free(p->host);
	free(p->auth);
	free(p);
}

/* "Basic " + base64(user:password) of a URL's (still percent-encoded) userinfo; a user
 * without a password gets an empty one, as curl and Go send it. A NUL decoded from %00
 * would cut the credentials short: refused (RFC 7617 allows no control characters). */
static int basic_of(const char *userinfo, char **out)
{
	char *dec = NULL, *more;
	ssize_t n = corio_url_decode(userinfo, strlen(userinfo), 0, &dec);
	int rc;

	if (n < 0)
		return (int)n;
	if (!memchr(dec, ':', (size_t)n)) {
		if (!(more = realloc(dec, (size_t)n + 2))) {
			free(dec);
			return -ENOMEM;
		}
		dec = more;
		dec[n++] = ':';
	}
	rc = memchr(dec, 0, (size_t)n) ? -EINVAL : corio__hclient_basic_raw(dec, (size_t)n, out);
	explicit_bzero(dec, (size_t)n); /* the plain credentials do not linger */
	free(dec);
	return rc;
}

static int from_url(const corio_url *u, corio__hclient_proxy **out)
{
	corio__hclient_proxy *p;

	if (strcmp(u->scheme, "http") != 0)
		return -EPROTONOSUPPORT; /* https:// and socks proxies are not spoken here */
	if (!u->host[0] || (u->query && u->query[0]) || u->fragment ||
	    (strcmp(u->path, "/") != 0 && u->path[0]))
		return -EINVAL;
	if (!(p = calloc(1, sizeof *p)) || !(p->host = strdup(u->host))) {
		corio__hclient_proxy_free(p);
		return -ENOMEM;
	}
	snprintf(p->port, sizeof p->port, "%u", u->port);
	p->ipv6 = u->ipv6;
	if (u->userinfo) {
		int rc = basic_of(u->userinfo, &p->auth);

		if (rc < 0) {
			corio__hclient_proxy_free(p);
			return rc;
		}
	}
	*out = p;
	return 0;
}

int corio__hclient_proxy_parse(const char *s, corio__hclient_proxy **out)
{
	char *full = NULL;
	corio_url u;
	int rc;

	*out = NULL;
	if (!s[0])
		return 0;
	if (!strstr(s, "://")) { /* "proxy:3128", as the environment often says it */
		if (asprintf(&full, "http://%s", s) < 0)
			return -ENOMEM;
		s = full;
	}
	rc = corio_url_parse(s, &u);
	free(full);
	if (rc < 0)
		return rc;
	rc = from_url(&u, out);
	corio_url_free(&u);
	return rc;
}

corio__hclient_proxy *corio__hclient_proxy_dup(const corio__hclient_proxy *p)
{
	corio__hclient_proxy *d = calloc(1, sizeof *d);

	if (!d)
		return NULL;
	*d = *p;
	d->host = strdup(p->host);
	d->auth = p->auth ? strdup(p->auth) : NULL;
	if (!d->host || (p->auth && !d->auth)) {
		corio__hclient_proxy_free(d);
		return NULL;
	}
	return d;
}

/* Same proxy and same credentials: connections made for one serve the other. */
bool corio__hclient_proxy_same(const corio__hclient_proxy *a, const corio__hclient_proxy *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a->host, b->host) == 0 && strcmp(a->port, b->port) == 0 &&
	       (a->auth ? b->auth && strcmp(a->auth, b->auth) == 0 : !b->auth);
}

/* ---- no_proxy ---------------------------------------------------------------------------- */

typedef struct ipaddr {
	int fam;
	unsigned char b[16];
} ipaddr;

static bool ip_of(const char *s, ipaddr *ip)
{
	if (inet_pton(AF_INET, s, ip->b) == 1) {
		ip->fam = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, ip->b) == 1) {
		ip->fam = AF_INET6;
		return true;
	}
	return false;
}

static bool prefix_eq(const ipaddr *a, const ipaddr *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (a->fam != b->fam || memcmp(a->b, b->b, full) != 0)
		return false;
	return !rest || ((a->b[full] ^ b->b[full]) & (0xff00u >> rest) & 0xff) == 0;
}

/* An IP literal or CIDR entry against host (matched only when host is an IP literal). */
static bool ip_match(char *e, const char *host)
{
	char *slash = strchr(e, '/');
	ipaddr net, h;
	unsigned long bits;
	char *end;

	if (slash)
		*slash = 0;
	if (!ip_of(e, &net) || !ip_of(host, &h))
		return false;
	bits = net.fam == AF_INET ? 32 : 128;
	if (slash) {
		unsigned long b = strtoul(slash + 1, &end, 10);

		if (slash[1] < '0' || slash[1] > '9' || *end || b > bits)
			return false;
		bits = b;
	}
	return prefix_eq(&net, &h, (unsigned)bits);
}

/* ".example.com", "example.com" and "*.example.com" all match example.com and below. */
static bool domain_match(const char *d, const char *host)
{
	size_t dl, hl = strlen(host);

	if (d[0] == '*' && d[1] == '.')
		d++;
	if (d[0] == '.')
		d++;
	dl = strlen(d);
	if (dl && d[dl - 1] == '.')
		dl--;
	if (hl && host[hl - 1] == '.')
		hl--;
	if (!dl || dl > hl || strncasecmp(host + hl - dl, d, dl) != 0)
		return false;
	return hl == dl || host[hl - dl - 1] == '.';
}

/* Splits a trailing ":port" off e ("[v6]:port", "host:port"; a bare IPv6 literal has
 * more than one colon and no port). -1: no port; -2: a bad one. */
static int split_port(char **e)
{
	char *s = *e, *colon, *end;
	unsigned long p;

	if (s[0] == '[') {
		char *close = strchr(s, ']');

		if (!close)
			return -2;
		*close = 0;
		*e = s + 1;
		colon = close[1] == ':' ? close + 1 : NULL;
		if (!colon && close[1] && close[1] != '/')
			return -2;
		if (close[1] == '/') /* "[v6]/64" */
			memmove(close, close + 1, strlen(close + 1) + 1);
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			return -1; /* an IPv6 literal */
	}
	if (!colon)
		return -1;
	*colon = 0;
	p = strtoul(colon + 1, &end, 10);
	return colon[1] < '0' || colon[1] > '9' || *end || p == 0 || p > 65535 ? -2 : (int)p;
}

static bool entry_match(const char *e, size_t n, const char *host, uint16_t port)
{
	char buf[300], *s = buf;
	int p;

	if (n == 1 && e[0] == '*')
		return true;
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, e, n);
	buf[n] = 0;
	p = split_port(&s);
	if (p == -2 || (p >= 0 && p != port) || !*s)
		return false;
	if (strchr(s, '/') || ip_of(s, &(ipaddr){0}))
		return ip_match(s, host);
	return domain_match(s, host);
}

bool corio__hclient_no_proxy_match(const char *list, const char *host, uint16_t port)
{
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ','), *a = p, *b;

		if (!end)
			end = p + strlen(p);
		b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (entry_match(a, (size_t)(b - a), host, port))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/* ---- the client's configuration ---------------------------------------------------------- */

/* The first non-empty of the environment variables named (NULL ends the list). */
static const char *env_any(const char *a, const char *b)
{
	const char *v = getenv(a);

	if ((!v || !*v) && b)
		v = getenv(b);
	return v && *v ? v : NULL;
}

/* One of proxy_http / proxy_https: the option when given (an error for a bad one), else
 * the environment's when trusted (a bad one kept as *err). */
static int one_proxy(const char *opt, const char *env, corio__hclient_proxy **p, int *err)
{
	int rc;

	if (opt)
		return corio__hclient_proxy_parse(opt, p);
	if (!env)
		return 0;
	rc = corio__hclient_proxy_parse(env, p);
	if (rc == -ENOMEM)
		return rc;
	*err = rc;
	return 0;
}

int corio__hclient_proxies_init(corio__hclient_proxies *px, const corio_http_client_opts *o)
{
	bool env = (o->flags & CORIO_HTTP_TRUST_ENV) != 0;
	/* CGI (RFC 3875): a request's "Proxy:" header arrives as HTTP_PROXY; it is never
	 * the user's choice of proxy ("httpoxy"). */
	bool cgi = getenv("REQUEST_METHOD") != NULL;
	const char *np = o->no_proxy;
	int rc;

	memset(px, 0, sizeof *px);
	rc = one_proxy(o->proxy_http, env ? env_any("http_proxy", cgi ? NULL : "HTTP_PROXY") : NULL,
		       &px->http, &px->http_err);
	if (rc == 0)
		rc = one_proxy(o->proxy_https, env ? env_any("https_proxy", "HTTPS_PROXY") : NULL,
			       &px->https, &px->https_err);
	if (!np && env)
		np = env_any("no_proxy", "NO_PROXY");
	if (rc == 0 && np && *np && !(px->no_proxy = strdup(np)))
		rc = -ENOMEM;
	if (rc != 0)
		corio__hclient_proxies_free(px);
	return rc;
}

void corio__hclient_proxies_free(corio__hclient_proxies *px)
{
	corio__hclient_proxy_free(px->http);
	corio__hclient_proxy_free(px->https);
	free(px->no_proxy);
	memset(px, 0, sizeof *px);
}

int corio__hclient_proxy_pick(const corio__hclient_proxies *px, const corio_url *u,
			      const corio__hclient_proxy **out)
{
	bool tls = strcmp(u->scheme, "https") == 0;
	const corio__hclient_proxy *p = tls ? px->https : px->http;
	int err = tls ? px->https_err : px->http_err;

	*out = NULL;
	if ((!p && !err) || (px->no_proxy && corio__hclient_no_proxy_match(px->no_proxy, u->host,
									       u->port)))
		return 0;
	*out = p;
	return err;
}
