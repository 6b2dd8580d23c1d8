/* http/common/url.c: owns URL parsing (RFC 3986: scheme, userinfo, host with IPv6 literals, port,
 * path, query, fragment), reference resolution (section 5.2, dot-segment removal), turning a
 * URL back into a string, and the percent-encoding helpers. Pure functions, never park. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <corio/http.h>

#include "runtime/util/str.h"

/* A URI reference split into spans of the input; len -1 = component absent. */
typedef struct span {
	const char *p;
	ssize_t len;
} span;

typedef struct parts {
	span scheme, userinfo, host, port, path, query, fragment;
	bool has_authority;
	bool ipv6;
} parts;

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_unreserved(int c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_subdelim(int c)
{
	return c && strchr("!$&'()*+,;=", c) != NULL;
}

/* pchar minus pct-encoded (checked separately), plus the extra characters allowed. */
static bool is_pchar(int c, const char *extra)
{
	return is_unreserved(c) || is_subdelim(c) || c == ':' || c == '@' ||
	       (c && extra && strchr(extra, c));
}

/* Checks that every byte of s[0..len) is allowed (extra: characters beyond pchar) and
 * that each '%' starts a valid escape. */
static int check_chars(const char *s, size_t len, const char *extra, bool pchar)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (len < 3 || i > len - 3)
				return -EINVAL;
			if (corio__hex_digit(s[i + 1]) < 0 || corio__hex_digit(s[i + 2]) < 0)
				return -EINVAL;
			i += 2;
			continue;
		}
		if (pchar ? !is_pchar(c, extra)
			  : !(is_unreserved(c) || is_subdelim(c) || (c && extra && strchr(extra, c))))
			return -EINVAL;
	}
	return 0;
}

static int parse_scheme(const char *s, parts *pt, const char **rest)
{
	const char *p = s;

	if (!is_alpha(*p))
		return 0; /* no scheme: a relative reference */
	while (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (*p != ':')
		return 0;
	pt->scheme = (span){s, p - s};
	*rest = p + 1;
	return 0;
}

static int parse_host(const char *h, size_t len, parts *pt)
{
	if (len > 0 && h[0] == '[') {
		char buf[INET6_ADDRSTRLEN + 1];
		struct in6_addr a;

		if (len < 3 || h[len - 1] != ']' || len - 2 >= sizeof buf)
			return -EINVAL;
		memcpy(buf, h + 1, len - 2);
		buf[len - 2] = 0;
		if (inet_pton(AF_INET6, buf, &a) != 1)
			return -EINVAL; /* IPvFuture and zone identifiers are not supported */
		pt->host = (span){h + 1, (ssize_t)len - 2};
		pt->ipv6 = true;
		return 0;
	}
	if (check_chars(h, len, NULL, false) != 0)
		return -EINVAL;
	pt->host = (span){h, (ssize_t)len};
	return 0;
}

static int parse_authority(const char *a, size_t len, parts *pt)
{
	const char *at = memchr(a, '@', len), *hp, *end = a + len, *colon = NULL;

	if (at) {
		if (memchr(at + 1, '@', (size_t)(end - at - 1)))
			return -EINVAL;
		if (check_chars(a, (size_t)(at - a), ":", false) != 0)
			return -EINVAL;
		pt->userinfo = (span){a, at - a};
		hp = at + 1;
	} else {
		hp = a;
	}
	if (hp < end && *hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(end - hp));

		if (!rb)
			return -EINVAL;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return -EINVAL;
			colon = rb + 1;
		}
	} else {
		colon = memchr(hp, ':', (size_t)(end - hp));
	}
	if (parse_host(hp, (size_t)((colon ? colon : end) - hp), pt) != 0)
		return -EINVAL;
	if (colon) {
		for (const char *q = colon + 1; q < end; q++)
			if (!is_digit(*q))
				return -EINVAL;
		pt->port = (span){colon + 1, end - colon - 1};
	}
	return 0;
}

/* Splits the URI reference s (RFC 3986 section 4.1) and validates every component. */
static int split(const char *s, parts *pt)
{
	const char *p = s, *q;
	size_t n;

	memset(pt, 0, sizeof *pt);
	pt->scheme.len = pt->userinfo.len = pt->host.len = pt->port.len = -1;
	pt->query.len = pt->fragment.len = -1;
	for (q = s; *q; q++) /* no control, space or non-ASCII byte anywhere */
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return -EINVAL;
	parse_scheme(s, pt, &p);
	if (p[0] == '/' && p[1] == '/') {
		p += 2;
		n = strcspn(p, "/?#");
		pt->has_authority = true;
		if (parse_authority(p, n, pt) != 0)
			return -EINVAL;
		p += n;
	}
	n = strcspn(p, "?#");
	if (check_chars(p, n, "/", true) != 0)
		return -EINVAL;
	/* A relative-path reference cannot have a ':' in its first segment (section 4.2). */
	if (pt->scheme.len < 0 && !pt->has_authority) {
		size_t seg = strcspn(p, "/?#");

		if (memchr(p, ':', seg))
			return -EINVAL;
	}
	pt->path = (span){p, (ssize_t)n};
	p += n;
	if (*p == '?') {
		n = strcspn(++p, "#");
		if (check_chars(p, n, "/?", true) != 0)
			return -EINVAL;
		pt->query = (span){p, (ssize_t)n};
		p += n;
	}
	if (*p == '#') {
		n = strlen(++p);
		if (check_chars(p, n, "/?", true) != 0)
			return -EINVAL;
		pt->fragment = (span){p, (ssize_t)n};
	}
	return 0;
}

uint16_t corio_url_default_port(const char *scheme)
{
	static const struct {
		const char *name;
		uint16_t port;
	} tab[] = {{"http", 80}, {"https", 443}, {"ws", 80}, {"wss", 443}, {"ftp", 21}};

	for (size_t i = 0; scheme && i < sizeof tab / sizeof tab[0]; i++)
		if (strcasecmp(scheme, tab[i].name) == 0)
			return tab[i].port;
	return 0;
}

static bool is_http_like(const char *scheme, size_t len)
{
	return CORIO__IEQ_LIT(scheme, len, "http") || CORIO__IEQ_LIT(scheme, len, "https") ||
	       CORIO__IEQ_LIT(scheme, len, "ws") || CORIO__IEQ_LIT(scheme, len, "wss");
}

/* Copies a span into the storage cursor as a C string; NULL for an absent span. */
static const char *put(char **cur, const char *p, ssize_t len)
{
	char *d = *cur;

	if (len < 0)
		return NULL;
	if (len > 0)
		memcpy(d, p, (size_t)len);
	d[len] = 0;
	*cur = d + len + 1;
	return d;
}

/* Lowercases and decodes a registered name in place; -EINVAL when an escape decodes to a
 * byte not allowed in a host name. */
static int normalize_host(char *h)
{
	char *w = h;

	for (const char *r = h; *r; r++) {
		int c = (unsigned char)*r;

		if (c == '%') {
			c = corio__hex_digit(r[1]) * 16 + corio__hex_digit(r[2]);
			r += 2;
			if (!(is_unreserved(c) || is_subdelim(c)))
				return -EINVAL;
		}
		*w++ = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	*w = 0;
	return 0;
}

static int parse_port(span sp, uint16_t *port)
{
	unsigned long v = 0;

	for (ssize_t i = 0; i < sp.len; i++) {
		v = v * 10 + (unsigned long)(sp.p[i] - '0');
		if (v > 65535)
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* Builds *out from validated parts (path may be replaced by a separately built string). */
static int build(const parts *pt, const char *path, size_t path_len, corio_url *out)
{
	size_t need = 16;
	char *cur;
	const span *all[] = {&pt->scheme, &pt->userinfo, &pt->host, &pt->query, &pt->fragment};

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		need += all[i]->len > 0 ? (size_t)all[i]->len + 1 : 1;
	need += path_len + 2;
	out->storage_ = malloc(need);
	if (!out->storage_)
		return -ENOMEM;
	cur = out->storage_;
	out->scheme = put(&cur, pt->scheme.p, pt->scheme.len);
	for (char *c = (char *)out->scheme; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	out->userinfo = put(&cur, pt->userinfo.p, pt->userinfo.len);
	out->host = put(&cur, pt->host.p, pt->host.len < 0 ? 0 : pt->host.len);
	out->has_authority = pt->has_authority;
	out->ipv6 = pt->ipv6;
	if (!pt->ipv6 && normalize_host((char *)out->host) != 0)
		goto bad;
	if (pt->ipv6)
		for (char *c = (char *)out->host; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	out->port = corio_url_default_port(out->scheme);
	if (pt->port.len > 0) {
		if (parse_port(pt->port, &out->port) != 0)
			goto bad;
		out->has_port = true;
	}
	/* RFC 3986 3.3: without an authority a path cannot begin with "//" (its string would
	 * read as one). Only dot removal in a resolution can make such a path. */
	if (!pt->has_authority && path_len >= 2 && path[0] == '/' && path[1] == '/')
		goto bad;
	if (is_http_like(pt->scheme.p, (size_t)pt->scheme.len)) {
		if (!pt->has_authority || !*out->host)
			goto bad;
		if (path_len == 0) {
			path = "/";
			path_len = 1;
		}
	}
	out->path = put(&cur, path, (ssize_t)path_len);
	out->query = put(&cur, pt->query.p, pt->query.len);
	out->fragment = put(&cur, pt->fragment.p, pt->fragment.len);
	return 0;
bad:
	free(out->storage_);
	memset(out, 0, sizeof *out);
	return -EINVAL;
}

int corio_url_parse(const char *s, corio_url *out)
{
	parts pt;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	if (!s || split(s, &pt) != 0 || pt.scheme.len <= 0)
		return -EINVAL;
	return build(&pt, pt.path.p, (size_t)pt.path.len, out);
}

void corio_url_free(corio_url *u)
{
	if (!u)
		return;
	free(u->storage_);
	memset(u, 0, sizeof *u);
}

/* p[0..rem) starts with, or is exactly, the literal lit. */
#define STARTS_LIT(p, rem, lit) ((rem) >= CORIO__SLEN(lit) && !memcmp((p), CORIO__LIT(lit)))
#define IS_LIT(p, rem, lit) ((rem) == CORIO__SLEN(lit) && !memcmp((p), CORIO__LIT(lit)))

/* RFC 3986 5.2.4: removes "." and ".." segments from in[0..len) into out (same size or
 * larger); returns the output length. */
static size_t remove_dots(const char *in, size_t len, char *out)
{
	size_t o = 0, i = 0;

	while (i < len) {
		const char *p = in + i;
		size_t rem = len - i;

		if (STARTS_LIT(p, rem, "../")) { /* A */
			i += CORIO__SLEN("../");
		} else if (STARTS_LIT(p, rem, "./")) {
			i += CORIO__SLEN("./");
		} else if (STARTS_LIT(p, rem, "/./")) { /* B: "/./" becomes "/" */
			i += CORIO__SLEN("/.");
		} else if (IS_LIT(p, rem, "/.")) {
			out[o++] = '/';
			i += CORIO__SLEN("/.");
		} else if (STARTS_LIT(p, rem, "/../") || IS_LIT(p, rem, "/..")) { /* C */
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			if (IS_LIT(p, rem, "/.."))
				out[o++] = '/';
			i += CORIO__SLEN("/..");
		} else if (IS_LIT(p, rem, ".") || IS_LIT(p, rem, "..")) { /* D */
			i += rem;
		} else { /* E: the first segment, with its leading '/' */
			out[o++] = in[i++];
			while (i < len && in[i] != '/')
				out[o++] = in[i++];
		}
	}
	return o;
}

#undef STARTS_LIT
#undef IS_LIT

static int build_dotless(const parts *pt, const char *path, size_t len, corio_url *out)
{
	char *tmp = malloc(len + 2);
	int rc;

	if (!tmp)
		return -ENOMEM;
	len = remove_dots(path, len, tmp);
	rc = build(pt, tmp, len, out);
	free(tmp);
	return rc;
}

static span str_span(const char *s)
{
	return (span){s, s ? (ssize_t)strlen(s) : -1};
}

/* Base components as spans (host re-bracketing is not needed: parts keep ipv6 apart). */
static void base_parts(const corio_url *b, parts *pt)
{
	pt->scheme = str_span(b->scheme);
	pt->userinfo = str_span(b->userinfo);
	pt->host = b->has_authority ? str_span(b->host) : (span){NULL, -1};
	pt->ipv6 = b->ipv6;
	pt->has_authority = b->has_authority;
	pt->port = (span){NULL, -1};
	pt->query = str_span(b->query);
}

static int resolve_merge(const corio_url *base, const parts *r, corio_url *out)
{
	parts t;
	char portbuf[8];
	char *merged;
	size_t n;
	int rc;

	base_parts(base, &t);
	if (base->has_port) {
		n = (size_t)snprintf(portbuf, sizeof portbuf, "%u", base->port);
		t.port = (span){portbuf, (ssize_t)n};
	}
	t.fragment = r->fragment;
	if (r->path.len == 0) {
		if (r->query.len >= 0)
			t.query = r->query;
		return build(&t, base->path, strlen(base->path), out);
	}
	t.query = r->query;
	if (r->path.p[0] == '/')
		return build_dotless(&t, r->path.p, (size_t)r->path.len, out);
	/* Merge (5.2.3): the base path up to its last '/', then the reference's path. */
	{
		const char *slash = strrchr(base->path, '/');
		size_t keep = slash ? (size_t)(slash - base->path) + 1 : 0;

		if (base->has_authority && !*base->path)
			keep = 0;
		merged = malloc(keep + (size_t)r->path.len + 2);
		if (!merged)
			return -ENOMEM;
		n = 0;
		if (base->has_authority && !*base->path)
			merged[n++] = '/';
		memcpy(merged + n, base->path, keep);
		memcpy(merged + n + keep, r->path.p, (size_t)r->path.len);
		rc = build_dotless(&t, merged, n + keep + (size_t)r->path.len, out);
		free(merged);
	}
	return rc;
}

int corio_url_resolve(const corio_url *base, const char *ref, corio_url *out)
{
	parts r;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	if (!base || !base->scheme || !ref || split(ref, &r) != 0)
		return -EINVAL;
	if (r.scheme.len > 0)
		return build_dotless(&r, r.path.p, (size_t)r.path.len, out);
	if (r.has_authority) {
		r.scheme = str_span(base->scheme);
		return build_dotless(&r, r.path.p, (size_t)r.path.len, out);
	}
	return resolve_merge(base, &r, out);
}

char *corio_url_string(const corio_url *u)
{
	size_t need;
	char *s, port[8] = "";

	if (!u || !u->scheme)
		return NULL;
	if (u->has_port)
		snprintf(port, sizeof port, "%u", u->port);
	need = strlen(u->scheme) + strlen(u->host) + strlen(u->path) + strlen(port) + 16 +
	       (u->userinfo ? strlen(u->userinfo) : 0) + (u->query ? strlen(u->query) : 0) +
	       (u->fragment ? strlen(u->fragment) : 0);
	s = malloc(need);
	if (!s)
		return NULL;
	snprintf(s, need, "%s:%s%s%s%s%s%s%s%s%s%s%s%s%s", u->scheme, u->has_authority ? "//" : "",
		 u->userinfo ? u->userinfo : "", u->userinfo ? "@" : "", u->ipv6 ? "[" : "",
		 u->host, u->ipv6 ? "]" : "", *port ? ":" : "", port, u->path,
		 u->query ? "?" : "", u->query ? u->query : "", u->fragment ? "#" : "",
		 u->fragment ? u->fragment : "");
	return s;
}

ssize_t corio_url_encode(const void *src, size_t len, const char *safe, char **out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = src;
	char *d;
	size_t o = 0;

	if (!out || (!src && len))
		return -EINVAL;
	*out = NULL;
	if (len > (SIZE_MAX - 1) / 3)
		return -ENOMEM;
	d = malloc(len * 3 + 1);
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (is_unreserved(s[i]) || (s[i] && safe && strchr(safe, s[i]))) {
			d[o++] = (char)s[i];
		} else {
			d[o++] = '%';
			d[o++] = hex[s[i] >> 4];
			d[o++] = hex[s[i] & 15];
		}
	}
	d[o] = 0;
	*out = d;
	return (ssize_t)o;
}

ssize_t corio_url_decode(const char *src, size_t len, unsigned flags, char **out)
{
	char *d;
	size_t o = 0;

	if (!out || (!src && len))
		return -EINVAL;
	*out = NULL;
	d = malloc(len + 1);
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (src[i] == '%') {
			int hi = i + 2 < len ? corio__hex_digit(src[i + 1]) : -1;
			int lo = i + 2 < len ? corio__hex_digit(src[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				free(d);
				return -EINVAL;
			}
			d[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (src[i] == '+' && (flags & CORIO_URL_DECODE_PLUS)) {
			d[o++] = ' ';
		} else {
			d[o++] = src[i];
		}
	}
	d[o] = 0;
	*out = d;
	return (ssize_t)o;
}
