/* tests/http/test_cookie_jar.c: the cookie jar alone (RFC 6265 / 6265bis), no network:
 * domains (host-only, Domain=, other domains, public suffixes, IP hosts), paths, Secure,
 * expiry through the jar's clock, Max-Age, malformed lines, SameSite, the name prefixes,
 * the limits with least-recently-used eviction, the header's order, and the date parser. */
#define _GNU_SOURCE
#include "tests/support/helpers.h"

#include "http/client/cookie_internal.h"

static int64_t g_now = 1700000000; /* 2023-11-14 */

static int64_t test_clock(void *ud)
{
	(void)ud;
	return g_now;
}

static corio_http_cookie_jar *jar(void)
{
	corio_http_cookie_jar *j = corio_http_cookie_jar_new();

	ck_assert_ptr_nonnull(j);
	g_now = 1700000000;
	corio_http_cookie_jar_clock(j, test_clock, NULL);
	return j;
}

/* The Cookie header for url (GET, same-site) as a static string, "" when none. */
static const char *hdr_m(corio_http_cookie_jar *j, const char *url, const char *method,
			 const char *site)
{
	static char out[8192];
	char *h = NULL;

	ck_assert_int_eq(corio_http_cookie_jar_header(j, url, method, site, &h), 0);
	snprintf(out, sizeof out, "%s", h ? h : "");
	free(h);
	return out;
}
#define HDR(j, url) hdr_m((j), (url), NULL, NULL)
#define STORE(j, url, line) corio_http_cookie_jar_store((j), (url), (line))

START_TEST(host_only_and_domain_cookies)
{
	corio_http_cookie_jar *j = jar();

	ck_assert_int_eq(STORE(j, "http://www.example.com/", "h=1"), 1);
	ck_assert_int_eq(STORE(j, "http://www.example.com/", "d=2; Domain=example.com"), 1);
	ck_assert_int_eq(STORE(j, "http://www.example.com/", "e=3; Domain=.EXAMPLE.com"), 1);
	ck_assert_str_eq(HDR(j, "http://www.example.com/"), "h=1; d=2; e=3");
	/* host-only: not for the parent nor a sibling; the domain cookies are */
	ck_assert_str_eq(HDR(j, "http://example.com/"), "d=2; e=3");
	ck_assert_str_eq(HDR(j, "http://a.b.example.com/x"), "d=2; e=3");
	ck_assert_str_eq(HDR(j, "http://notexample.com/"), "");
	/* a port is no part of a cookie's scope */
	ck_assert_str_eq(HDR(j, "http://www.example.com:8080/"), "h=1; d=2; e=3");
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 3);
	corio_http_cookie_jar_clear(j);
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 0);
	corio_http_cookie_jar_free(j);
}
END_TEST

START_TEST(other_domains_and_public_suffixes_refused)
{
	corio_http_cookie_jar *j = jar();

	ck_assert_int_eq(STORE(j, "http://www.example.com/", "a=1; Domain=other.com"), 0);
	ck_assert_int_eq(STORE(j, "http://www.example.com/", "a=1; Domain=ww.example.com"), 0);
	ck_assert_int_eq(STORE(j, "http://www.example.com/", "a=1; Domain=sub.www.example.com"), 0);
	ck_assert_int_eq(STORE(j, "http://www.example.com/", "a=1; Domain=com"), 0);
	ck_assert_int_eq(STORE(j, "http://shop.example.co.uk/", "a=1; Domain=co.uk"), 0);
	ck_assert_int_eq(STORE(j, "http://me.github.io/", "a=1; Domain=github.io"), 0);
	ck_assert_int_eq(STORE(j, "http://www.example.com/", "a=1; Domain=ex\xc3\xa4mple.com"), 0);
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 0);
	/* the registrable domain itself is fine */
	ck_assert_int_eq(STORE(j, "http://shop.example.co.uk/", "b=2; Domain=example.co.uk"), 1);
	ck_assert_str_eq(HDR(j, "http://example.co.uk/"), "b=2");
	ck_assert_str_eq(HDR(j, "http://other.co.uk/"), "");
	/* a suffix as the request's own host: kept, as host-only (RFC 6265 5.3 step 5) */
	ck_assert_int_eq(STORE(j, "http://localhost/", "c=3; Domain=localhost"), 1);
	ck_assert_str_eq(HDR(j, "http://localhost/"), "c=3");
	ck_assert_str_eq(HDR(j, "http://a.localhost/"), "");
	corio_http_cookie_jar_free(j);
}
END_TEST

START_TEST(ip_hosts)
{
	corio_http_cookie_jar *j = jar();

	ck_assert_int_eq(STORE(j, "http://127.0.0.1:8080/", "a=1"), 1);
	ck_assert_int_eq(STORE(j, "http://127.0.0.1/", "b=2; Domain=0.0.1"), 0);
	ck_assert_int_eq(STORE(j, "http://127.0.0.1/", "b=2; Domain=example.com"), 0);
	ck_assert_int_eq(STORE(j, "http://127.0.0.1/", "c=3; Domain=127.0.0.1"), 1);
	ck_assert_str_eq(HDR(j, "http://127.0.0.1/"), "a=1; c=3");
	ck_assert_str_eq(HDR(j, "http://27.0.0.1/"), "");
	ck_assert_str_eq(HDR(j, "http://localhost/"), "");
	ck_assert_int_eq(STORE(j, "http://[::1]/", "v6=1"), 1);
	ck_assert_int_eq(STORE(j, "http://[::1]/", "w=1; Domain=1"), 0);
	ck_assert_str_eq(HDR(j, "http://[::1]:81/"), "v6=1");
	corio_http_cookie_jar_free(j);
}
END_TEST

START_TEST(paths)
{
	corio_http_cookie_jar *j = jar();

	ck_assert_int_eq(STORE(j, "http://e.org/", "root=1; Path=/"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "foo=1; Path=/foo"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "slash=1; Path=/foo/"), 1);
	/* default path: the request path up to its last '/' */
	ck_assert_int_eq(STORE(j, "http://e.org/docs/a/page.html?q=1", "dflt=1"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/top", "top=1"), 1);           /* "/" */
	ck_assert_int_eq(STORE(j, "http://e.org/x", "rel=1; Path=relative"), 1); /* "/" */
	ck_assert_str_eq(HDR(j, "http://e.org/foobar"), "root=1; top=1; rel=1");
	ck_assert_str_eq(HDR(j, "http://e.org/foo"), "foo=1; root=1; top=1; rel=1");
	ck_assert_str_eq(HDR(j, "http://e.org/foo/x"), "slash=1; foo=1; root=1; top=1; rel=1");
	ck_assert_str_eq(HDR(j, "http://e.org/docs/a/other"), "dflt=1; root=1; top=1; rel=1");
	ck_assert_str_eq(HDR(j, "http://e.org/docs/ab"), "root=1; top=1; rel=1");
	corio_http_cookie_jar_free(j);
}
END_TEST

START_TEST(order_and_replacement)
{
	corio_http_cookie_jar *j = jar();

	ck_assert_int_eq(STORE(j, "http://e.org/", "b=1; Path=/"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "a=1; Path=/"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "c=1; Path=/a"), 1);
	ck_assert_str_eq(HDR(j, "http://e.org/a"), "c=1; b=1; a=1");
	/* replacing keeps the creation time, hence the place */
	ck_assert_int_eq(STORE(j, "http://e.org/", "b=2; Path=/"), 1);
	ck_assert_str_eq(HDR(j, "http://e.org/a"), "c=1; b=2; a=1");
	/* another path is another cookie */
	ck_assert_int_eq(STORE(j, "http://e.org/", "b=3; Path=/a"), 1);
	ck_assert_str_eq(HDR(j, "http://e.org/a"), "c=1; b=3; b=2; a=1");
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 4);
	/* values as written, quotes and '=' included */
	ck_assert_int_eq(STORE(j, "http://q.org/", " q = \"x=y\" ; Path=/"), 1);
	ck_assert_str_eq(HDR(j, "http://q.org/"), "q=\"x=y\"");
	corio_http_cookie_jar_free(j);
}
END_TEST

START_TEST(secure_cookies)
{
	corio_http_cookie_jar *j = jar();

	/* an http:// response cannot set a Secure cookie */
	ck_assert_int_eq(STORE(j, "http://e.org/", "s=1; Secure"), 0);
	ck_assert_int_eq(STORE(j, "https://e.org/", "s=1; Secure"), 1);
	ck_assert_str_eq(HDR(j, "https://e.org/"), "s=1");
	ck_assert_str_eq(HDR(j, "http://e.org/"), "");
	/* nor overwrite or shadow one, whatever its domain and path */
	ck_assert_int_eq(STORE(j, "http://e.org/", "s=evil"), 0);
	ck_assert_int_eq(STORE(j, "http://www.e.org/", "s=evil; Domain=e.org; Path=/sub"), 0);
	ck_assert_str_eq(HDR(j, "https://e.org/"), "s=1");
	/* another name is fine; https may replace it with a plain one */
	ck_assert_int_eq(STORE(j, "http://e.org/", "t=1"), 1);
	ck_assert_int_eq(STORE(j, "https://e.org/", "s=2"), 1);
	ck_assert_str_eq(HDR(j, "http://e.org/"), "s=2; t=1");
	corio_http_cookie_jar_free(j);
}
END_TEST

START_TEST(expiry_through_the_clock)
{
	corio_http_cookie_jar *j = jar();

	/* 2023-11-14 22:13:20 is now; these expire a minute later */
	ck_assert_int_eq(STORE(j, "http://e.org/", "x=1; Expires=Tue, 14 Nov 2023 22:14:20 GMT"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "m=1; Max-Age=60"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "s=1"), 1); /* session: no expiry */
	/* Max-Age wins over Expires, in either order */
	ck_assert_int_eq(STORE(j, "http://e.org/", "p=1; Expires=Wed, 01 Jan 2020 00:00:00 GMT; Max-Age=120"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "q=1; Max-Age=30; Expires=Fri, 01 Jan 2100 00:00:00 GMT"), 1);
	ck_assert_str_eq(HDR(j, "http://e.org/"), "x=1; m=1; s=1; p=1; q=1");
	g_now += 30;
	ck_assert_str_eq(HDR(j, "http://e.org/"), "x=1; m=1; s=1; p=1");
	g_now += 30;
	ck_assert_str_eq(HDR(j, "http://e.org/"), "s=1; p=1");
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 2);
	/* Max-Age=0, a negative one and a past date delete */
	ck_assert_int_eq(STORE(j, "http://e.org/", "s=gone; Max-Age=0"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "p=gone; Max-Age=-5"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "n=1; Max-Age=0"), 0); /* nothing to delete */
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 0);
	ck_assert_int_eq(STORE(j, "http://e.org/", "d=1"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "d=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT"), 1);
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 0);
	/* capped at 400 days */
	ck_assert_int_eq(STORE(j, "http://e.org/", "far=1; Max-Age=999999999999999999999"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "far2=1; Expires=Fri, 01 Jan 9999 00:00:00 GMT"), 1);
	g_now += 400LL * 86400 - 1;
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 2);
	g_now += 1;
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 0);
	/* a Max-Age that is not a number and a bad date are ignored: session cookies */
	ck_assert_int_eq(STORE(j, "http://e.org/", "b=1; Max-Age=12a; Expires=Feb 30 2024 10:00:00"), 1);
	g_now += 1000LL * 86400;
	ck_assert_str_eq(HDR(j, "http://e.org/"), "b=1");
	corio_http_cookie_jar_free(j);
}
END_TEST

START_TEST(malformed_lines)
{
	corio_http_cookie_jar *j = jar();
	size_t big = 5000;
	char *line = malloc(big + 16);

	ck_assert_int_eq(STORE(j, "http://e.org/", "novalue"), 0);
	ck_assert_int_eq(STORE(j, "http://e.org/", "=value"), 0);
	ck_assert_int_eq(STORE(j, "http://e.org/", "  =value; Path=/"), 0);
	ck_assert_int_eq(STORE(j, "http://e.org/", ""), 0);
	ck_assert_int_eq(STORE(j, "http://e.org/", ";;;"), 0);
	ck_assert_int_eq(STORE(j, "http://e.org/", "a=b\x01"), 0);
	ck_assert_int_eq(STORE(j, "http://e.org/", "a=b\r\nX-Evil: 1"), 0);
	ck_assert_int_eq(STORE(j, "http://e.org/", "a=b; Path=/\x7f"), 0);
	memset(line, 'v', big);
	memcpy(line, "big=", 4);
	line[big] = 0;
	ck_assert_int_eq(STORE(j, "http://e.org/", line), 0); /* name + value > 4096 */
	line[4098] = 0;
	ck_assert_int_eq(STORE(j, "http://e.org/", line), 0); /* 3 + 4094 */
	line[4097] = 0;
	ck_assert_int_eq(STORE(j, "http://e.org/", line), 1); /* 3 + 4093 = 4096 */
	corio_http_cookie_jar_clear(j);
	/* an oversized attribute value is ignored, not the cookie */
	memset(line, 'p', big);
	memcpy(line, "c=1; Path=/", 11);
	line[11 + 1100] = 0;
	ck_assert_int_eq(STORE(j, "http://e.org/", line), 1);
	ck_assert_str_eq(HDR(j, "http://e.org/x"), "c=1");
	/* empty value, tabs, attributes without value, an empty Domain */
	ck_assert_int_eq(STORE(j, "http://e.org/", "\tempty=\t; Bogus=; HttpOnly; Domain=; ="), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "w=1; Domain=e.org; Domain="), 1); /* host-only */
	ck_assert_str_eq(HDR(j, "http://x.e.org/x"), "");
	ck_assert_int_eq(STORE(j, "http://e.org/", NULL), -EINVAL);
	ck_assert_int_eq(STORE(j, "not a url", "a=1"), -EINVAL);
	ck_assert_int_eq(STORE(NULL, "http://e.org/", "a=1"), -EINVAL);
	{
		char *h = (char *)1;

		ck_assert_int_eq(corio_http_cookie_jar_header(j, "::", NULL, NULL, &h), -EINVAL);
		ck_assert_ptr_null(h);
	}
	free(line);
	corio_http_cookie_jar_free(j);
}
END_TEST

START_TEST(same_site)
{
	corio_http_cookie_jar *j = jar();
	const char *site = "https://www.example.com/page", *other = "https://evil.test/";

	ck_assert_int_eq(STORE(j, "https://api.example.com/", "st=1; SameSite=Strict"), 1);
	ck_assert_int_eq(STORE(j, "https://api.example.com/", "lx=1; SameSite=lax"), 1);
	ck_assert_int_eq(STORE(j, "https://api.example.com/", "no=1; SameSite=None; Secure"), 1);
	ck_assert_int_eq(STORE(j, "https://api.example.com/", "df=1; SameSite=bogus"), 1);
	ck_assert_int_eq(STORE(j, "https://api.example.com/", "bad=1; SameSite=None"), 0);
	/* same-site (another host of the same registrable domain) and no site: all */
	ck_assert_str_eq(hdr_m(j, "https://api.example.com/", "POST", site), "st=1; lx=1; no=1; df=1");
	ck_assert_str_eq(hdr_m(j, "https://api.example.com/", "POST", NULL), "st=1; lx=1; no=1; df=1");
	/* cross-site: no Strict; Lax only with a safe method */
	ck_assert_str_eq(hdr_m(j, "https://api.example.com/", "GET", other), "lx=1; no=1; df=1");
	ck_assert_str_eq(hdr_m(j, "https://api.example.com/", "HEAD", other), "lx=1; no=1; df=1");
	ck_assert_str_eq(hdr_m(j, "https://api.example.com/", "POST", other), "no=1; df=1");
	ck_assert_str_eq(hdr_m(j, "https://api.example.com/", "GET", "::bad"), "lx=1; no=1; df=1");
	/* registrable domains under a multi-label suffix */
	ck_assert_int_eq(STORE(j, "https://a.shop.co.uk/", "uk=1; SameSite=Strict"), 1);
	ck_assert_str_eq(hdr_m(j, "https://a.shop.co.uk/", "GET", "https://b.shop.co.uk/"), "uk=1");
	ck_assert_str_eq(hdr_m(j, "https://a.shop.co.uk/", "GET", "https://other.co.uk/"), "");
	corio_http_cookie_jar_free(j);
}
END_TEST

START_TEST(name_prefixes)
{
	corio_http_cookie_jar *j = jar();

	ck_assert_int_eq(STORE(j, "https://e.org/", "__Secure-a=1"), 0);
	ck_assert_int_eq(STORE(j, "http://e.org/", "__Secure-a=1; Secure"), 0);
	ck_assert_int_eq(STORE(j, "https://e.org/", "__secure-b=1; Secure; Domain=e.org"), 1);
	ck_assert_int_eq(STORE(j, "https://e.org/", "__Host-c=1; Secure"), 0);      /* no Path=/ */
	ck_assert_int_eq(STORE(j, "https://e.org/", "__Host-c=1; Secure; Path=/x"), 0);
	ck_assert_int_eq(STORE(j, "https://e.org/", "__Host-c=1; Path=/"), 0);      /* no Secure */
	ck_assert_int_eq(STORE(j, "https://e.org/", "__Host-c=1; Secure; Path=/; Domain=e.org"), 0);
	ck_assert_int_eq(STORE(j, "https://e.org/", "__Host-c=1; Secure; Path=/"), 1);
	ck_assert_str_eq(HDR(j, "https://e.org/"), "__secure-b=1; __Host-c=1");
	corio_http_cookie_jar_free(j);
}
END_TEST

START_TEST(limits_and_lru_eviction)
{
	corio_http_cookie_jar *j = jar();
	char line[64], url[64];

	for (int i = 0; i < 50; i++) {
		snprintf(line, sizeof line, "c%d=%d", i, i);
		ck_assert_int_eq(STORE(j, "http://e.org/", line), 1);
	}
	/* storing again refreshes: c0 stays, c1 (now the least recently used) goes */
	ck_assert_int_eq(STORE(j, "http://e.org/", "c0=0"), 1);
	ck_assert_int_eq(STORE(j, "http://e.org/", "c50=50"), 1);
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 50);
	ck_assert_ptr_null(strstr(HDR(j, "http://e.org/"), "c1="));
	ck_assert_ptr_nonnull(strstr(HDR(j, "http://e.org/"), "c0=0"));
	corio_http_cookie_jar_clear(j);
	/* sending refreshes too: a0 (path /a) is sent, then b1 is the oldest */
	ck_assert_int_eq(STORE(j, "http://e.org/a/", "a0=0"), 1);
	for (int i = 1; i < 50; i++) {
		snprintf(line, sizeof line, "b%d=%d", i, i);
		ck_assert_int_eq(STORE(j, "http://e.org/b/", line), 1);
	}
	ck_assert_str_eq(HDR(j, "http://e.org/a/x"), "a0=0");
	ck_assert_int_eq(STORE(j, "http://e.org/b/", "b50=50"), 1);
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 50);
	ck_assert_str_eq(HDR(j, "http://e.org/a/x"), "a0=0");
	ck_assert_ptr_null(strstr(HDR(j, "http://e.org/b/x"), "b1="));
	ck_assert_ptr_nonnull(strstr(HDR(j, "http://e.org/b/x"), "b2=2"));
	/* another domain has its own 50 */
	ck_assert_int_eq(STORE(j, "http://f.org/", "f=1"), 1);
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 51);
	corio_http_cookie_jar_clear(j);
	/* 3000 in all: 61 domains of 50 */
	for (int d = 0; d < 61; d++)
		for (int i = 0; i < 50; i++) {
			snprintf(url, sizeof url, "http://d%d.org/", d);
			snprintf(line, sizeof line, "c%d=%d", i, i);
			ck_assert_int_eq(STORE(j, url, line), 1);
		}
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 3000);
	ck_assert_str_eq(HDR(j, "http://d0.org/"), ""); /* the oldest domain went first */
	ck_assert_ptr_nonnull(strstr(HDR(j, "http://d60.org/"), "c49=49"));
	corio_http_cookie_jar_free(j);
}
END_TEST

START_TEST(cookie_dates)
{
	static const struct {
		const char *s;
		int64_t t; /* -1: not a date */
	} cases[] = {
		{"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
		{"Sunday, 06-Nov-94 08:49:37 GMT", 784111777},
		{"Sun Nov  6 08:49:37 1994", 784111777},
		{"6 nov 1994 8:49:37", 784111777},
		{"08:49:37 1994 Nov 06", 784111777},
		{"Thu, 01 Jan 1970 00:00:00 GMT", 0},
		{"Wed, 29 Feb 2024 12:00:00 GMT", 1709208000},
		{"Fri, 01 Jan 2100 00:00:00 GMT", 4102444800},
		{"01 Jan 1601 00:00:00", -11644473600},
		{"Thu, 29 Feb 2023 12:00:00 GMT", -1},  /* no such day */
		{"Thu, 31 Apr 2023 12:00:00 GMT", -1},
		{"01 Jan 1600 00:00:00", -1},
		{"01 Jan 2020 24:00:00", -1},
		{"01 Jan 2020 23:60:00", -1},
		{"01 Foo 2020 23:00:00", -1},
		{"01 Jan 2020", -1},
		{"", -1},
		{"123 Jan 2020 10:00:00", -1},
		{"01 Jan 12345 10:00:00", -1},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t t = 12345;
		bool ok = corio__hclient_cookie_date(cases[i].s, strlen(cases[i].s), &t);

		ck_assert_msg(ok == (cases[i].t != -1) && (!ok || t == cases[i].t),
			      "%s: %d %lld", cases[i].s, ok, (long long)t);
	}
}
END_TEST

START_TEST(domain_helpers)
{
	ck_assert(corio__hclient_public_suffix("com"));
	ck_assert(corio__hclient_public_suffix("co.uk"));
	ck_assert(corio__hclient_public_suffix("github.io"));
	ck_assert(!corio__hclient_public_suffix("example.com"));
	ck_assert_str_eq(corio__hclient_site("a.b.example.co.uk"), "example.co.uk");
	ck_assert_str_eq(corio__hclient_site("example.com"), "example.com");
	ck_assert_str_eq(corio__hclient_site("com"), "com");
	ck_assert_str_eq(corio__hclient_site("10.0.0.1"), "10.0.0.1");
	ck_assert(corio__hclient_is_ip("10.0.0.1") && corio__hclient_is_ip("::1"));
	ck_assert(!corio__hclient_is_ip("x.example") && !corio__hclient_is_ip("a1"));
	ck_assert(!corio__hclient_domain_match("1.10.0.0.1", "10.0.0.1"));
	ck_assert(corio__hclient_path_match("/foo/bar", "/foo"));
	ck_assert(!corio__hclient_path_match("/foobar", "/foo"));
	ck_assert(corio__hclient_path_match("/foo/", "/foo/"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cookie_jar");

	TH_TCASE(s, "jar", TH_TIMEOUT, host_only_and_domain_cookies,
		 other_domains_and_public_suffixes_refused, ip_hosts, paths, order_and_replacement,
		 secure_cookies, expiry_through_the_clock, malformed_lines, same_site, name_prefixes,
		 limits_and_lru_eviction, cookie_dates, domain_helpers);
	return th_main(s);
}
