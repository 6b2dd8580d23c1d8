/* tests/fuzz/fuzz_url.c: libFuzzer target for the URL code (http/common/url.c): parsing,
 * reference resolution, turning a URL back into a string, and the percent-encoding
 * helpers.
 *
 * Input: BASE '\n' REF (no newline: REF is empty). BASE is parsed as an absolute URL, REF
 * resolved against it; REF's bytes also go through corio_url_encode and _decode.
 *
 * Checked: what parse and resolve promise of a URL (scheme lowercase, host, path), that
 * every URL they give turns into a string that parses again to the same string (a fixed
 * point), that resolving an absolute URL is idempotent, and that decoding an encoding gives
 * back the original bytes. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <corio/http.h>

#include "tests/fuzz/fuzz.h"

static char *dup_span(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	FUZZ_CHECK(s != NULL);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void check_url(const corio_url *u)
{
	FUZZ_CHECK(u->scheme && *u->scheme && u->host && u->path);
	for (const char *c = u->scheme; *c; c++)
		FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'));
	if (u->has_port)
		FUZZ_CHECK(u->port != 0);
	if (!u->has_authority)
		FUZZ_CHECK(!u->userinfo && !*u->host && !u->has_port);
}

/* u's string parses again, to a URL with the same string. Returns the string. */
static char *check_round_trip(const corio_url *u)
{
	char *s = corio_url_string(u), *s2;
	corio_url v;

	FUZZ_CHECK(s != NULL);
	if (corio_url_parse(s, &v) != 0) {
		fprintf(stderr, "fuzz_url: \"%s\" does not parse again\n", s);
		FUZZ_CHECK(!"a URL's string parses");
	}
	check_url(&v);
	s2 = corio_url_string(&v);
	FUZZ_CHECK(s2 != NULL);
	if (strcmp(s, s2) != 0) {
		fprintf(stderr, "fuzz_url: \"%s\" parses to \"%s\"\n", s, s2);
		FUZZ_CHECK(!"a URL's string is a fixed point");
	}
	FUZZ_CHECK(v.port == u->port && v.has_port == u->has_port && v.ipv6 == u->ipv6);
	free(s2);
	corio_url_free(&v);
	return s;
}

/* ref resolved against base, checked, as a string; NULL when refused. */
static char *resolve_string(const corio_url *base, const char *ref)
{
	corio_url out;
	char *s;
	int rc = corio_url_resolve(base, ref, &out);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc != 0)
		return NULL;
	check_url(&out);
	s = check_round_trip(&out);
	corio_url_free(&out);
	return s;
}

/* Resolution is idempotent: an absolute reference with its dot segments gone resolves to
 * itself. (Once, not from the start: a reference with an empty path keeps the base's path
 * as written, dots included, while an absolute one has them removed, RFC 3986 5.2.2.) */
static void check_resolve(const corio_url *base, const char *ref)
{
	char *s1 = resolve_string(base, ref), *s2, *s3;

	if (!s1)
		return;
	s2 = resolve_string(base, s1);
	if (!s2) {
		/* refused only where dot removal leaves "//" at the start of a path without
		 * an authority, which no URL can have (RFC 3986 3.3) */
		corio_url u1;

		FUZZ_CHECK(corio_url_parse(s1, &u1) == 0);
		FUZZ_CHECK(!u1.has_authority && strncmp(u1.path, "//", 2) != 0);
		corio_url_free(&u1);
		free(s1);
		return;
	}
	s3 = resolve_string(base, s2);
	FUZZ_CHECK(s3 != NULL);
	if (strcmp(s2, s3) != 0) {
		fprintf(stderr, "fuzz_url: \"%s\" resolves to \"%s\"\n", s2, s3);
		FUZZ_CHECK(!"a resolved URL resolves to itself");
	}
	free(s1);
	free(s2);
	free(s3);
}

static void check_coding(const uint8_t *p, size_t n)
{
	char *enc, *dec;
	ssize_t elen = corio_url_encode(p, n, "/", &enc), dlen;

	FUZZ_CHECK(elen >= 0 && (size_t)elen <= 3 * n && strlen(enc) == (size_t)elen);
	dlen = corio_url_decode(enc, (size_t)elen, 0, &dec);
	FUZZ_CHECK(dlen == (ssize_t)n && memcmp(dec, p, n) == 0);
	free(enc);
	free(dec);
	/* any bytes: decoded or refused, never more bytes than went in */
	dlen = corio_url_decode((const char *)p, n, CORIO_URL_DECODE_PLUS, &dec);
	FUZZ_CHECK(dlen == -EINVAL || (dlen >= 0 && (size_t)dlen <= n));
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t blen = nl ? (size_t)(nl - data) : size;
	char *base = dup_span(data, blen);
	char *ref = dup_span(data + blen + (nl != NULL), size - blen - (nl != NULL));
	corio_url u;
	int rc = corio_url_parse(base, &u);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		check_url(&u);
		free(check_round_trip(&u));
		check_resolve(&u, ref);
		corio_url_free(&u);
	}
	check_coding(data + blen, size - blen);
	free(base);
	free(ref);
	return 0;
}
