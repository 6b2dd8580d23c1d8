/* tests/http/gz_helpers.h: what the compression suites (test_static_cache.c,
 * test_compress.c) share: gzip encoding and decoding of whole buffers with zlib (to check
 * the server's gzip byte for byte, and to make precompressed files), compressible test text
 * that does not compress to nothing, and a GET with extra header lines. */
#ifndef CORIO_TESTS_HTTP_GZ_HELPERS_H
#define CORIO_TESTS_HTTP_GZ_HELPERS_H

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tests/http/server_helpers.h"

/* Decodes one whole gzip stream: the decoded bytes (malloc'd, *out_len set), or NULL when
 * in is not exactly one complete gzip stream. */
static inline char *gunzip(const void *in, size_t len, size_t *out_len)
{
	z_stream z = {0};
	size_t cap = 1u << 16, n = 0;
	char *out = malloc(cap);
	int zr = Z_OK;

	if (!out || inflateInit2(&z, 16 + 15) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	while (zr == Z_OK) {
		if (n == cap) {
			char *o = realloc(out, cap *= 2);

			if (!o)
				break;
			out = o;
		}
		z.next_out = (Bytef *)out + n;
		z.avail_out = (uInt)(cap - n);
		zr = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
	}
	inflateEnd(&z);
	if (zr != Z_STREAM_END || z.avail_in != 0) {
		free(out);
		return NULL;
	}
	*out_len = n;
	return out;
}

/* gzip of in (malloc'd, *out_len set), NULL without memory. */
static inline char *gzip_buf(const void *in, size_t len, size_t *out_len)
{
	z_stream z = {0};
	char *out;
	uLong cap;

	if (deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	cap = deflateBound(&z, (uLong)len);
	if (!(out = malloc(cap))) {
		deflateEnd(&z);
		return NULL;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		free(out);
		out = NULL;
	}
	*out_len = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

/* len bytes of text: words from a small list picked by a seeded generator (compresses to
 * roughly a third, never to nothing). */
static inline char *make_text(size_t len, unsigned seed)
{
	static const char *const words[] = { "corio ", "ring ", "coroutine ", "socket ",
					     "gzip\n", "static ", "etag ", "vary " };
	char *t = malloc(len + 1);
	size_t n = 0;

	while (t && n < len) {
		const char *w;

		seed = seed * 1103515245u + 12345u;
		w = words[(seed >> 16) % 8];
		for (; *w && n < len; w++)
			t[n++] = *w;
	}
	if (t)
		t[len] = '\0';
	return t;
}

/* GET (or method) path with extra header lines (each ending in CRLF) on a new connection. */
static inline int req_ex(int port, const char *method, const char *path, const char *version,
			 const char *extra, resp *r)
{
	size_t cap = strlen(path) + (extra ? strlen(extra) : 0) + 64;
	char *req = malloc(cap);
	int rc;

	if (!req)
		return -1;
	snprintf(req, cap, "%s %s HTTP/%s\r\nHost: t\r\n%s\r\n", method, path, version,
		 extra ? extra : "");
	rc = once(port, req, r, NULL);
	free(req);
	return rc;
}

static inline int get(int port, const char *path, const char *extra, resp *r)
{
	return req_ex(port, "GET", path, "1.1", extra, r);
}

/* The response's header name equals want (NULL: absent). */
static inline bool hdr_is(const resp *r, const char *name, const char *want)
{
	char v[512];
	const char *got = hval(r, name, v, sizeof v);

	if (!want || !got)
		return !want && !got;
	return strcmp(got, want) == 0;
}

/* r's body, gzip-decoded, is exactly want[0..len). */
static inline bool gz_body_is(const resp *r, const char *want, size_t len)
{
	size_t n = 0;
	char *d = gunzip(r->body, r->blen, &n);
	bool ok = d && n == len && memcmp(d, want, len) == 0;

	free(d);
	return ok;
}

#endif
