/* http/client/cookie_domain.c: owns the cookie rules about hosts and paths: domain-match and
 * path-match (RFC 6265 5.1.3, 5.1.4), the default path, IP hosts, the built-in public
 * suffixes and the site of a host (its registrable domain) for SameSite.
 *
 * The public suffixes: a full Public Suffix List is megabytes of data to ship and keep
 * current; corio keeps the rule that matters most (every single label, "com", "uk",
 * "localhost", is a suffix: the list's implicit "*" rule) and a short list of multi-label
 * suffixes that are common in practice (country second levels such as co.uk and com.au,
 * and shared hosting such as github.io). A domain missing from it can be given cookies by
 * its subdomains; a caller that needs the full list must filter Set-Cookie itself.
 * Pure functions, never park. */
#include <stdlib.h>
#include <string.h>

#include "http/client/cookie_internal.h"

/* Sorted for bsearch. */
static const char *const suffixes[] = {
	"ac.jp",	  "ac.uk",	    "appspot.com",   "azurewebsites.net",
	"blogspot.com",	  "cloudfront.net", "co.in",	     "co.jp",
	"co.kr",	  "co.nz",	    "co.uk",	     "co.za",
	"com.au",	  "com.br",	    "com.cn",	     "com.mx",
	"com.tr",	  "edu.au",	    "firebaseapp.com", "github.io",
	"gitlab.io",	  "go.jp",	    "gov.au",	     "gov.uk",
	"herokuapp.com",  "ltd.uk",	    "me.uk",	     "ne.jp",
	"net.au",	  "net.uk",	    "netlify.app",   "or.jp",
	"org.au",	  "org.nz",	    "org.uk",	     "pages.dev",
	"plc.uk",	  "s3.amazonaws.com", "vercel.app",  "web.app",
	"workers.dev",
};

static int cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool corio__hclient_public_suffix(const char *domain)
{
	if (!*domain)
		return true;
	if (!strchr(domain, '.'))
		return true; /* a single label */
	return bsearch(&domain, suffixes, sizeof suffixes / sizeof suffixes[0], sizeof *suffixes,
		       cmp) != NULL;
}

/* An IPv6 literal (the URL parser gives it without brackets) or a host whose last label is
 * numeric (URL parsers read "1.2.3.4" and "0x7f.1" alike as IPv4; none is a domain). */
bool corio__hclient_is_ip(const char *host)
{
	const char *last = strrchr(host, '.');

	if (strchr(host, ':'))
		return true;
	last = last ? last + 1 : host;
	if (!(*last >= '0' && *last <= '9'))
		return false;
	for (; *last; last++)
		if (!(*last >= '0' && *last <= '9') && *last != 'x' && *last != 'X')
			return false;
	return true;
}

bool corio__hclient_domain_match(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);

	if (strcmp(host, domain) == 0)
		return true;
	return d > 0 && h > d && strcmp(host + h - d, domain) == 0 && host[h - d - 1] == '.' &&
	       !corio__hclient_is_ip(host);
}

bool corio__hclient_path_match(const char *req, const char *path)
{
	size_t n = strlen(path);

	if (strncmp(req, path, n) != 0)
		return false;
	/* "/foo" matches "/foo" and "/foo/bar", never "/foobar". */
	return req[n] == 0 || (n > 0 && path[n - 1] == '/') || req[n] == '/';
}

void corio__hclient_default_path(const char *req, char *out, size_t n)
{
	const char *last = req[0] == '/' ? strrchr(req, '/') : NULL;
	size_t len = last && last != req ? (size_t)(last - req) : 1;

	if (len > n)
		len = n; /* paths are short; out is sized for the request's path */
	memcpy(out, last ? req : "/", last ? len : 1);
	out[last ? len : 1] = 0;
}

const char *corio__hclient_site(const char *host)
{
	const char *prev = NULL;

	if (corio__hclient_is_ip(host))
		return host;
	/* The leftmost label start whose rest is a public suffix gives the longest suffix;
	 * the registrable domain is one label more. */
	for (const char *p = host; p; prev = p, p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL)
		if (corio__hclient_public_suffix(p))
			return prev ? prev : host;
	return host;
}
