/* tests/http/test_url.c: the URL parser (http/common/url.c): table-driven valid and invalid URLs
 * (RFC 3986 components, IPv6 literals, default ports, bad ports, spaces, control bytes,
 * bad escapes), reference resolution against RFC 3986 section 5.4's examples, round trips
 * through corio_url_string, and the percent-encoding helpers. Pure functions: no loop. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/http.h>

#include "tests/support/suite.h"

#define NONE ((const char *)1) /* component absent (NULL) */

typedef struct good_case {
	const char *in;
	const char *scheme, *userinfo, *host;
	unsigned port;
	bool has_port, ipv6;
	const char *path, *query, *fragment;
} good_case;

static const good_case good[] = {
	{"http://example.com", "http", NONE, "example.com", 80, false, false, "/", NONE, NONE},
	{"http://example.com/", "http", NONE, "example.com", 80, false, false, "/", NONE, NONE},
	{"HTTP://Example.COM/A/b", "http", NONE, "example.com", 80, false, false, "/A/b", NONE, NONE},
	{"https://h:8443/x?y=1#z", "https", NONE, "h", 8443, true, false, "/x", "y=1", "z"},
	{"http://user:pw@h/p", "http", "user:pw", "h", 80, false, false, "/p", NONE, NONE},
	{"http://u%40x@h/", "http", "u%40x", "h", 80, false, false, "/", NONE, NONE},
	{"http://[::1]:8080/p", "http", NONE, "::1", 8080, true, true, "/p", NONE, NONE},
	{"http://[2001:DB8::7]/", "http", NONE, "2001:db8::7", 80, false, true, "/", NONE, NONE},
	{"http://[::ffff:1.2.3.4]/", "http", NONE, "::ffff:1.2.3.4", 80, false, true, "/", NONE, NONE},
	{"http://127.0.0.1:1/", "http", NONE, "127.0.0.1", 1, true, false, "/", NONE, NONE},
	{"http://h:65535", "http", NONE, "h", 65535, true, false, "/", NONE, NONE},
	{"http://h:080/", "http", NONE, "h", 80, true, false, "/", NONE, NONE},
	{"http://h:/", "http", NONE, "h", 80, false, false, "/", NONE, NONE},
	{"http://h?", "http", NONE, "h", 80, false, false, "/", "", NONE},
	{"http://h#", "http", NONE, "h", 80, false, false, "/", NONE, ""},
	{"http://h/?a=b?c/d#f?g/h", "http", NONE, "h", 80, false, false, "/", "a=b?c/d", "f?g/h"},
	{"http://h/a%20b/%7E", "http", NONE, "h", 80, false, false, "/a%20b/%7E", NONE, NONE},
	{"http://h/a:b@c;d=e,f!$&'()*+", "http", NONE, "h", 80, false, false,
	 "/a:b@c;d=e,f!$&'()*+", NONE, NONE},
	{"http://ex%41mple.com/", "http", NONE, "example.com", 80, false, false, "/", NONE, NONE},
	{"http://h/../a/./b", "http", NONE, "h", 80, false, false, "/../a/./b", NONE, NONE},
	{"ws://h/chat", "ws", NONE, "h", 80, false, false, "/chat", NONE, NONE},
	{"wss://h/chat", "wss", NONE, "h", 443, false, false, "/chat", NONE, NONE},
	{"ftp://ftp.example.org/f.txt", "ftp", NONE, "ftp.example.org", 21, false, false, "/f.txt",
	 NONE, NONE},
	{"file:///etc/hosts", "file", NONE, "", 0, false, false, "/etc/hosts", NONE, NONE},
	{"mailto:a@b.c", "mailto", NONE, "", 0, false, false, "a@b.c", NONE, NONE},
	{"urn:isbn:0451450523", "urn", NONE, "", 0, false, false, "isbn:0451450523", NONE, NONE},
	{"a+b-c.d://h/", "a+b-c.d", NONE, "h", 0, false, false, "/", NONE, NONE},
};

static const char *const bad[] = {
	"",
	"example.com/path",          /* no scheme */
	"/just/a/path",
	"1http://h/",                /* scheme must start with a letter */
	"ht tp://h/",
	"://h/",
	"http://h/a b",              /* space */
	"http://h/a\tb",             /* control */
	"http://h/a\nb",
	"http://h/a\rb",
	"http://h/\x7f",
	"http://h/\x80",             /* non-ASCII */
	"http://h/caf\xc3\xa9",
	" http://h/",
	"http://h/ ",
	"http://h:port/",            /* bad ports */
	"http://h:65536/",
	"http://h:99999999999999999999/",
	"http://h:0/",
	"http://h:-1/",
	"http://h:80:80/",
	"http://h: 80/",
	"http://[::1/",              /* bad IPv6 literals */
	"http://[::1]x/",
	"http://[:::1]/",
	"http://[1.2.3.4]/",
	"http://[]/",
	"http://[fe80::1%25eth0]/",  /* zone identifiers: unsupported */
	"http://::1/",
	"http://a@b@c/",             /* two '@' */
	"http://",                   /* no host */
	"http:///path",
	"http:/h/",
	"http:h",
	"http://h/%",                /* bad escapes */
	"http://h/%4",
	"http://h/%zz",
	"http://h/?%g0",
	"http://h/#%",
	"http://h/a#b#c",            /* '#' in the fragment */
	"http://h/<x>",              /* characters RFC 3986 excludes */
	"http://h/a\"b",
	"http://h/a\\b",
	"http://h/{x}",
	"http://h/a|b",
	"http://h/a^b",
	"http://h/`",
	"http://h%2F/",              /* an escape decoding to '/' in the host */
	"http://h%00/",
	"http://h_[x]/",
	"http://us er@h/",
};

static const char *show(const char *s)
{
	return s ? s : "(null)";
}

static void check_str(const char *what, const char *in, const char *got, const char *want)
{
	if (want == NONE)
		ck_assert_msg(got == NULL, "%s: %s is \"%s\", want NULL", in, what, show(got));
	else
		ck_assert_msg(got && strcmp(got, want) == 0, "%s: %s is \"%s\", want \"%s\"", in,
			      what, show(got), want);
}

START_TEST(parse_good)
{
	const good_case *t = &good[_i];
	corio_url u;
	int rc = corio_url_parse(t->in, &u);

	ck_assert_msg(rc == 0, "%s: rc %d", t->in, rc);
	check_str("scheme", t->in, u.scheme, t->scheme);
	check_str("userinfo", t->in, u.userinfo, t->userinfo);
	check_str("host", t->in, u.host, t->host);
	ck_assert_msg(u.port == t->port, "%s: port %u want %u", t->in, u.port, t->port);
	ck_assert_msg(u.has_port == t->has_port, "%s: has_port", t->in);
	ck_assert_msg(u.ipv6 == t->ipv6, "%s: ipv6", t->in);
	check_str("path", t->in, u.path, t->path);
	check_str("query", t->in, u.query, t->query);
	check_str("fragment", t->in, u.fragment, t->fragment);
	corio_url_free(&u);
	ck_assert_ptr_null(u.storage_);
	corio_url_free(&u); /* twice is harmless */
}
END_TEST

START_TEST(parse_bad)
{
	corio_url u;
	int rc = corio_url_parse(bad[_i], &u);

	ck_assert_msg(rc == -EINVAL, "\"%s\": rc %d, want -EINVAL", bad[_i], rc);
	ck_assert_ptr_null(u.storage_);
	ck_assert_ptr_null(u.scheme);
}
END_TEST

START_TEST(parse_null_args)
{
	corio_url u;

	ck_assert_int_eq(corio_url_parse(NULL, &u), -EINVAL);
	ck_assert_int_eq(corio_url_parse("http://h/", NULL), -EINVAL);
	corio_url_free(NULL);
	ck_assert_int_eq(corio_url_default_port("HTTP"), 80);
	ck_assert_int_eq(corio_url_default_port("gopher"), 0);
	ck_assert_int_eq(corio_url_default_port(NULL), 0);
}
END_TEST

/* RFC 3986 section 5.4.1 and 5.4.2, base "http://a/b/c/d;p?q". */
static const char *const resolve_cases[][2] = {
	{"g:h", "g:h"},
	{"g", "http://a/b/c/g"},
	{"./g", "http://a/b/c/g"},
	{"g/", "http://a/b/c/g/"},
	{"/g", "http://a/g"},
	{"//g", "http://g/"},
	{"?y", "http://a/b/c/d;p?y"},
	{"g?y", "http://a/b/c/g?y"},
	{"#s", "http://a/b/c/d;p?q#s"},
	{"g#s", "http://a/b/c/g#s"},
	{"g?y#s", "http://a/b/c/g?y#s"},
	{";x", "http://a/b/c/;x"},
	{"g;x", "http://a/b/c/g;x"},
	{"g;x?y#s", "http://a/b/c/g;x?y#s"},
	{"", "http://a/b/c/d;p?q"},
	{".", "http://a/b/c/"},
	{"./", "http://a/b/c/"},
	{"..", "http://a/b/"},
	{"../", "http://a/b/"},
	{"../g", "http://a/b/g"},
	{"../..", "http://a/"},
	{"../../", "http://a/"},
	{"../../g", "http://a/g"},
	{"../../../g", "http://a/g"},
	{"../../../../g", "http://a/g"},
	{"/./g", "http://a/g"},
	{"/../g", "http://a/g"},
	{"g.", "http://a/b/c/g."},
	{".g", "http://a/b/c/.g"},
	{"g..", "http://a/b/c/g.."},
	{"..g", "http://a/b/c/..g"},
	{"./../g", "http://a/b/g"},
	{"./g/.", "http://a/b/c/g/"},
	{"g/./h", "http://a/b/c/g/h"},
	{"g/../h", "http://a/b/c/h"},
	{"g;x=1/./y", "http://a/b/c/g;x=1/y"},
	{"g;x=1/../y", "http://a/b/c/y"},
	{"g?y/./x", "http://a/b/c/g?y/./x"},
	{"g?y/../x", "http://a/b/c/g?y/../x"},
	{"g#s/./x", "http://a/b/c/g#s/./x"},
	{"g#s/../x", "http://a/b/c/g#s/../x"},
	{"http:g", NULL}, /* strict parsers treat it as absolute: http with no authority */
	{"http://other:81/x/../y", "http://other:81/y"},
	{"//[::1]:9/z", "http://[::1]:9/z"},
};

START_TEST(resolve_rfc)
{
	corio_url base, out;
	const char *ref = resolve_cases[_i][0], *want = resolve_cases[_i][1];
	int rc;

	ck_assert_int_eq(corio_url_parse("http://a/b/c/d;p?q", &base), 0);
	rc = corio_url_resolve(&base, ref, &out);
	if (!want) {
		ck_assert_msg(rc == -EINVAL, "\"%s\": rc %d", ref, rc);
	} else {
		char *s;

		ck_assert_msg(rc == 0, "\"%s\": rc %d", ref, rc);
		s = corio_url_string(&out);
		ck_assert_msg(strcmp(s, want) == 0, "\"%s\" -> \"%s\", want \"%s\"", ref, s, want);
		free(s);
		corio_url_free(&out);
	}
	corio_url_free(&base);
}
END_TEST

START_TEST(resolve_keeps_port_and_rejects_bad)
{
	corio_url base, out;
	char *s;

	ck_assert_int_eq(corio_url_parse("http://h:8080/a/b?q#f", &base), 0);
	ck_assert_int_eq(corio_url_resolve(&base, "c", &out), 0);
	s = corio_url_string(&out);
	ck_assert_str_eq(s, "http://h:8080/a/c");
	ck_assert_int_eq(out.port, 8080);
	free(s);
	corio_url_free(&out);
	ck_assert_int_eq(corio_url_resolve(&base, "a b", &out), -EINVAL);
	ck_assert_int_eq(corio_url_resolve(&base, "x:y:z\x01", &out), -EINVAL);
	ck_assert_int_eq(corio_url_resolve(&base, "//h:99999/", &out), -EINVAL);
	ck_assert_int_eq(corio_url_resolve(&base, "/%zz", &out), -EINVAL);
	ck_assert_int_eq(corio_url_resolve(NULL, "/", &out), -EINVAL);
	corio_url_free(&base);
}
END_TEST

START_TEST(string_round_trip)
{
	static const char *const urls[] = {
		"http://h/",
		"http://u:p@h:81/a/b?c=d#e",
		"http://[::1]:8080/p?q",
		"https://example.com/x%20y",
		"mailto:a@b.c",
		"file:///etc/hosts",
	};

	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		corio_url u;
		char *s;

		ck_assert_int_eq(corio_url_parse(urls[i], &u), 0);
		s = corio_url_string(&u);
		ck_assert_str_eq(s, urls[i]);
		free(s);
		corio_url_free(&u);
	}
}
END_TEST

START_TEST(encode_decode)
{
	char *out;
	ssize_t n;
	const unsigned char bin[] = {0, 0xff, ' ', '/', 'a', '~'};

	n = corio_url_encode("a b/c?d=e&f~g", 13, NULL, &out);
	ck_assert_int_eq(n, (ssize_t)strlen("a%20b%2Fc%3Fd%3De%26f~g"));
	ck_assert_str_eq(out, "a%20b%2Fc%3Fd%3De%26f~g");
	free(out);
	n = corio_url_encode("/a b/c", 6, "/", &out);
	ck_assert_str_eq(out, "/a%20b/c");
	ck_assert_int_eq(n, 8);
	free(out);
	n = corio_url_encode(bin, sizeof bin, NULL, &out);
	ck_assert_str_eq(out, "%00%FF%20%2Fa~");
	free(out);
	n = corio_url_encode("", 0, NULL, &out);
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(out, "");
	free(out);
	ck_assert_int_eq(corio_url_encode(NULL, 1, NULL, &out), -EINVAL);

	n = corio_url_decode("a%20b%2fc%3D+d", 14, 0, &out);
	ck_assert_int_eq(n, 8);
	ck_assert_str_eq(out, "a b/c=+d");
	free(out);
	n = corio_url_decode("a+b%2B", 6, CORIO_URL_DECODE_PLUS, &out);
	ck_assert_str_eq(out, "a b+");
	free(out);
	n = corio_url_decode("%00%ff", 6, 0, &out);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(out[0], 0);
	ck_assert_int_eq((unsigned char)out[1], 0xff);
	free(out);
	ck_assert_int_eq(corio_url_decode("%", 1, 0, &out), -EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(corio_url_decode("%4", 2, 0, &out), -EINVAL);
	ck_assert_int_eq(corio_url_decode("a%4g", 4, 0, &out), -EINVAL);
	ck_assert_int_eq(corio_url_decode("%41", 2, 0, &out), -EINVAL); /* len cuts the escape */
	n = corio_url_decode("%41", 3, 0, &out);
	ck_assert_str_eq(out, "A");
	free(out);
	/* Round trip of every byte value. */
	{
		unsigned char all[256];
		char *enc, *dec;

		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		n = corio_url_encode(all, 256, NULL, &enc);
		ck_assert_int_gt(n, 256);
		n = corio_url_decode(enc, (size_t)n, 0, &dec);
		ck_assert_int_eq(n, 256);
		ck_assert_int_eq(memcmp(dec, all, 256), 0);
		free(enc);
		free(dec);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("url");
	TCase *tc = tcase_create("url");

	tcase_add_loop_test(tc, parse_good, 0, (int)(sizeof good / sizeof good[0]));
	tcase_add_loop_test(tc, parse_bad, 0, (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, parse_null_args);
	tcase_add_loop_test(tc, resolve_rfc, 0,
			    (int)(sizeof resolve_cases / sizeof resolve_cases[0]));
	tcase_add_test(tc, resolve_keeps_port_and_rejects_bad);
	tcase_add_test(tc, string_round_trip);
	tcase_add_test(tc, encode_decode);
	suite_add_tcase(s, tc);
	return th_run_suite(s);
}
