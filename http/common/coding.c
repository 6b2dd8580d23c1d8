/* http/common/coding.c: owns Content-Encoding decoding for the client (see coding.h).
 * gzip goes through inflateInit2(15 + 32) (zlib detects the gzip header); "deflate" is
 * meant to be zlib-wrapped (RFC 9110 8.4.1.2) but many servers send raw deflate, so the
 * first two bytes decide: a valid zlib header (CM 8, check bits) -> zlib, otherwise raw
 * (windowBits -15). Never parks. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "http/common/coding.h"
#include "runtime/util/str.h"

int corio__http_coding_of(const char *ce)
{
	size_t n;

	if (!ce)
		return CORIO__HTTP_IDENTITY;
	while (*ce == ' ' || *ce == '\t')
		ce++;
	n = strlen(ce);
	while (n > 0 && (ce[n - 1] == ' ' || ce[n - 1] == '\t'))
		n--;
	if (n == 0 || CORIO__IEQ_LIT(ce, n, "identity"))
		return CORIO__HTTP_IDENTITY;
	if (CORIO__IEQ_LIT(ce, n, "gzip") || CORIO__IEQ_LIT(ce, n, "x-gzip"))
		return CORIO__HTTP_GZIP;
	if (CORIO__IEQ_LIT(ce, n, "deflate"))
		return CORIO__HTTP_DEFLATE;
	return -1;
}

void corio__http_decoder_init(corio__http_decoder *d, corio__http_coding coding, uint64_t cap)
{
	memset(d, 0, sizeof *d);
	d->coding = coding;
	d->cap = cap;
}

static int start(corio__http_decoder *d, const unsigned char *in, size_t inlen)
{
	int wbits = 15 + 32;

	if (d->coding == CORIO__HTTP_DEFLATE) {
		if (inlen < 2)
			return 1; /* wait for more */
		wbits = ((in[0] & 0x0f) == 8 && (in[0] >> 4) <= 7 &&
			 ((unsigned)in[0] << 8 | in[1]) % 31 == 0)
				? 15
				: -15;
	}
	if (inflateInit2(&d->z, wbits) != Z_OK)
		return -ENOMEM;
	d->started = true;
	return 0;
}

ssize_t corio__http_decode(corio__http_decoder *d, const void *in, size_t inlen, size_t *used,
			   void *out, size_t outlen)
{
	const unsigned char *src = in;
	int rc;
	size_t produced;

	*used = 0;
	if (d->ended) {
		/* Another gzip member may follow; anything else is ignored, as zlib's gzip
		 * tools and browsers do. */
		if (d->coding != CORIO__HTTP_GZIP || inlen < 2 || src[0] != 0x1f || src[1] != 0x8b) {
			*used = inlen;
			return 0;
		}
		if (inflateReset(&d->z) != Z_OK)
			return -EBADMSG;
		d->ended = false;
	}
	if (!d->started) {
		rc = start(d, src, inlen);
		if (rc != 0)
			return rc > 0 ? 0 : rc;
	}
	if (outlen > UINT32_MAX)
		outlen = UINT32_MAX;
	if (inlen > UINT32_MAX)
		inlen = UINT32_MAX;
	d->z.next_in = (unsigned char *)src;
	d->z.avail_in = (uInt)inlen;
	d->z.next_out = out;
	d->z.avail_out = (uInt)outlen;
	rc = inflate(&d->z, Z_NO_FLUSH);
	*used = inlen - d->z.avail_in;
	produced = outlen - d->z.avail_out;
	if (rc == Z_STREAM_END)
		d->ended = true;
	else if (rc == Z_MEM_ERROR)
		return -ENOMEM;
	else if (rc != Z_OK && rc != Z_BUF_ERROR)
		return -EBADMSG;
	d->out_total += produced;
	if (d->out_total > d->cap)
		return -EFBIG;
	return (ssize_t)produced;
}

bool corio__http_decoder_done(const corio__http_decoder *d)
{
	return d->ended;
}

void corio__http_decoder_free(corio__http_decoder *d)
{
	if (d->started)
		inflateEnd(&d->z);
	memset(d, 0, sizeof *d);
}
