/* http/client/cookie_internal.h: what the cookie files of http/client/ share: a Set-Cookie
 * line taken apart (cookie_parse.c, RFC 6265 5.2 with the 6265bis changes), the cookie
 * date (5.1.1), and the domain rules (cookie_domain.c: domain-match, path-match, IP hosts,
 * the built-in public suffixes, sites for SameSite), and the jar's calls for the client's
 * requests (cookie_jar.c). Never park. Never installed. */
#ifndef CORIO_HTTP_CLIENT_COOKIE_INTERNAL_H
#define CORIO_HTTP_CLIENT_COOKIE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/http.h>

/* Name and value together may not exceed this (RFC 6265bis 5.6, step 4). */
#define CORIO__HCLIENT_COOKIE_MAX 4096
/* An attribute value beyond this is ignored (6265bis 5.6, step 6). */
#define CORIO__HCLIENT_COOKIE_AV_MAX 1024
/* Expiry is capped at 400 days from now (6265bis 5.6.1 / 5.6.2). */
#define CORIO__HCLIENT_COOKIE_MAX_AGE (400 * 86400LL)

enum corio__hclient_samesite {
	CORIO__HCLIENT_SS_DEFAULT = 0, /* no (or an unknown) SameSite: no restriction */
	CORIO__HCLIENT_SS_NONE,
	CORIO__HCLIENT_SS_LAX,
	CORIO__HCLIENT_SS_STRICT,
};

/* One Set-Cookie line taken apart. The spans point into the line; domain and path are
 * NULL when the attribute was absent or ignored (domain: without its leading dot, not yet
 * lowercased). */
typedef struct corio__hclient_setcookie {
	const char *name, *value, *domain, *path;
	size_t name_len, value_len, domain_len, path_len;
	bool has_max_age, has_expires, secure, http_only;
	int64_t max_age;  /* seconds, as written (<= 0 deletes) */
	int64_t expires;  /* seconds since the epoch (INT64_MIN: long ago) */
	int same_site;    /* corio__hclient_samesite */
} corio__hclient_setcookie;

/* Takes line apart; false when the cookie must be ignored (no '=', an empty name, a
 * control byte, name + value too long). */
bool corio__hclient_cookie_parse(const char *line, corio__hclient_setcookie *out);
/* The cookie-date algorithm of RFC 6265 5.1.1 over s[0..n): seconds since the epoch (may
 * be negative), or false when s is not a date. */
bool corio__hclient_cookie_date(const char *s, size_t n, int64_t *out);

/* cookie_domain.c. Hosts and domains are lowercase ASCII, without brackets for IPv6. */
bool corio__hclient_is_ip(const char *host);
/* RFC 6265 5.1.3: host equals domain, or ends with "." domain and is not an IP. */
bool corio__hclient_domain_match(const char *host, const char *domain);
/* RFC 6265 5.1.4: request path against a cookie's path. */
bool corio__hclient_path_match(const char *req_path, const char *cookie_path);
/* The default-path of a request path (5.1.4) into out (at most n bytes + NUL). */
void corio__hclient_default_path(const char *req_path, char *out, size_t n);
/* A public suffix: in the built-in list, or a single label (every TLD is one). */
bool corio__hclient_public_suffix(const char *domain);
/* The site of a host for SameSite: its registrable domain (the public suffix plus one
 * label), the host itself when it is an IP or a public suffix. Points into host. */
const char *corio__hclient_site(const char *host);

/* cookie_jar.c, for the client's requests (url already parsed). cross_site: the request
 * is not same-site with its site for cookies (corio__hclient_cross_site). */
bool corio__hclient_cross_site(const corio_url *u, const char *site_for_cookies);
/* 1 stored or deleted, 0 ignored, -ENOMEM. A cross-site response sets no Lax or Strict
 * cookie (6265bis 5.6 step 13). */
int corio__hclient_jar_store(corio_http_cookie_jar *j, const corio_url *u, const char *line,
			     bool cross_site);
/* The Cookie header value for u (*out malloc'd, NULL when none applies). 0, -ENOMEM. */
int corio__hclient_jar_header(corio_http_cookie_jar *j, const corio_url *u, const char *method,
			      bool cross_site, char **out);

#endif
