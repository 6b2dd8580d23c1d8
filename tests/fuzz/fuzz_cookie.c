/* tests/fuzz/fuzz_cookie.c: libFuzzer target for the cookie jar (http/client/cookie_*.c):
 * Set-Cookie parsing, the cookie-date algorithm, storage rules and the Cookie header.
 *
 * Input: URL '\n' LINE '\n' LINE ... Each LINE is stored as a Set-Cookie received from URL
 * (the jar's clock advancing by the line's first byte in hours), then the Cookie header is
 * asked for URL and for URL's origin with "/" as its path, same-site and cross-site.
 *
 * Checked: store answers 0 or 1 (-EINVAL only for a URL without a host), the header never
 * holds a control byte other than HTAB (it goes into a request head as it is) nor a cookie over 4096 bytes,
 * the jar never holds more than 3000 cookies, and a cookie date is within 1601..9999. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <corio/http.h>

#include "http/client/cookie_internal.h"
#include "tests/fuzz/fuzz.h"

static int64_t g_now;

static int64_t fuzz_clock(void *ud)
{
	(void)ud;
	return g_now;
}

static void check_header(corio_http_cookie_jar *j, const char *url, const char *method,
			 const char *site)
{
	char *h = NULL;
	int rc = corio_http_cookie_jar_header(j, url, method, site, &h);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (!h)
		return;
	for (const char *p = h; *p; p++)
		FUZZ_CHECK(((unsigned char)*p >= 0x20 || *p == '\t') && *p != 0x7f);
	for (char *tok = strtok(h, ";"); tok; tok = strtok(NULL, ";"))
		FUZZ_CHECK(strlen(tok) <= 4096 + 2); /* "; " leaves a space in front */
	free(h);
}

static void check_date(const char *s)
{
	int64_t t;

	/* 1601-01-01 and 9999-12-31 23:59:59 */
	if (corio__hclient_cookie_date(s, strlen(s), &t))
		FUZZ_CHECK(t >= -11644473600LL && t <= 253402300799LL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *save = NULL, *url, *line;
	corio_http_cookie_jar *j = corio_http_cookie_jar_new();
	corio_url u;
	bool ok;

	FUZZ_CHECK(in && j);
	memcpy(in, data, size);
	in[size] = 0;
	g_now = 1700000000;
	corio_http_cookie_jar_clock(j, fuzz_clock, NULL);
	url = strtok_r(in, "\n", &save);
	ok = url && corio_url_parse(url, &u) == 0;
	if (ok) {
		ok = u.host[0] != 0;
		corio_url_free(&u);
	}
	while (url && (line = strtok_r(NULL, "\n", &save))) {
		int rc = corio_http_cookie_jar_store(j, url, line);

		FUZZ_CHECK(ok ? (rc == 0 || rc == 1) : rc == -EINVAL);
		check_date(line);
		g_now += (int64_t)(unsigned char)line[0] * 3600;
		FUZZ_CHECK(corio_http_cookie_jar_len(j) <= 3000);
	}
	if (url) {
		check_header(j, url, NULL, NULL);
		check_header(j, url, "POST", "https://other.example/");
	}
	corio_http_cookie_jar_free(j);
	free(in);
	return 0;
}
