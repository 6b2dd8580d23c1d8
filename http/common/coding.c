/* http/common/coding.c: owns the client's transfer and content codings (see coding.h).
 * gzip goes through inflateInit2(15 + 32) (zlib detects the gzip header); "deflate" is
 * meant to be zlib-wrapped (RFC 9110 8.4.1.2) but many servers send raw deflate, so the
 * first two bytes decide: a valid zlib header (CM 8, check bits) -> zlib, otherwise raw
 * (windowBits -15). Layers are decoded in the reverse of the order they were listed
 * (RFC 9110 8.4: the codings are listed in the order they were applied). Never parks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/common/coding.h"
#include "runtime/util/str.h"

/* The buffer between two layers. */
#define MID_SIZE 16384

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

bool corio__http_list_next(const char **s, const char **el, size_t *n)
{
	const char *p = *s, *end;

	if (!p || !*p)
		return false;
	end = p + strcspn(p, ",");
	*s = *end ? end + 1 : end;
	while (p < end && ows(*p))
		p++;
	while (end > p && ows(end[-1]))
		end--;
	*el = p;
	*n = (size_t)(end - p);
	return true;
}

void corio__http_te_add(corio__http_te *t, const char *value)
{
	const char *el;
	size_t n;

	while (corio__http_list_next(&value, &el, &n))
		if (n > 0) {
			t->codings++;
			t->last_chunked = CORIO__IEQ_LIT(el, n, "chunked");
		}
}

/* ---- Accept-Encoding ------------------------------------------------------------------- */

void corio__http_accept_init(corio__http_accept *a)
{
	a->gzip_q = a->star_q = -1;
}

/* A qvalue (RFC 9110 12.4.2: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ]) in thousandths,
 * -1 when malformed. */
static int qvalue(const char *s, size_t n)
{
	int q, scale = 100;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = (s[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (s[1] != '.' || n > 5)
		return -1;
	for (size_t k = 2; k < n; k++, scale /= 10) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		q += (s[k] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

/* The weight of the element el[0..n) ("gzip;q=0.5"), 1000 without a q parameter; *name /
 * *nl get the coding. -1 when a q parameter is malformed. */
static int element_q(const char *el, size_t n, const char **name, size_t *nl)
{
	const char *end = el + n, *p;
	int q = 1000;

	*name = el;
	for (p = el; p < end && *p != ';' && !ows(*p); p++)
		;
	*nl = (size_t)(p - el);
	while (p < end) {
		const char *v, *ve;

		while (p < end && (ows(*p) || *p == ';'))
			p++;
		for (v = p; v < end && *v != ';'; v++)
			;
		for (ve = v; ve > p && ows(ve[-1]); ve--)
			;
		if (ve - p >= 2 && corio__ascii_lower(p[0]) == 'q' && p[1] == '=')
			q = qvalue(p + 2, (size_t)(ve - p - 2));
		if (q < 0)
			return -1;
		p = v;
	}
	return q;
}

void corio__http_accept_add(corio__http_accept *a, const char *value)
{
	const char *el, *name;
	size_t n, nl;

	while (corio__http_list_next(&value, &el, &n)) {
		int q = n ? element_q(el, n, &name, &nl) : -1;
		int *slot = NULL;

		if (q < 0)
			continue;
		if (CORIO__IEQ_LIT(name, nl, "gzip") || CORIO__IEQ_LIT(name, nl, "x-gzip"))
			slot = &a->gzip_q;
		else if (nl == 1 && name[0] == '*')
			slot = &a->star_q;
		if (slot && q > *slot)
			*slot = q; /* listed twice: the higher weight */
	}
}

bool corio__http_accept_gzip(const corio__http_accept *a)
{
	return a->gzip_q > 0 || (a->gzip_q < 0 && a->star_q > 0);
}

bool corio__http_te_chunked_only(const corio__http_te *t)
{
	return t->codings == 1 && t->last_chunked;
}

/* ---- Content-Encoding ------------------------------------------------------------------ */

void corio__http_decoder_init(corio__http_decoder *d, uint64_t cap)
{
	memset(d, 0, sizeof *d);
	d->cap = cap;
}

/* Pushes one listed coding: it is undone before those listed earlier, so it goes first. */
static void push(corio__http_decoder *d, corio__http_coding c)
{
	if (d->n == CORIO__HTTP_MAX_CODINGS) {
		d->bad = true;
		return;
	}
	memmove(&d->l[1], &d->l[0], d->n * sizeof d->l[0]);
	memset(&d->l[0], 0, sizeof d->l[0]);
	d->l[0].coding = c;
	d->n++;
}

void corio__http_decoder_add(corio__http_decoder *d, const char *value)
{
	const char *el;
	size_t n;

	while (corio__http_list_next(&value, &el, &n)) {
		if (n == 0 || CORIO__IEQ_LIT(el, n, "identity"))
			continue;
		if (CORIO__IEQ_LIT(el, n, "gzip") || CORIO__IEQ_LIT(el, n, "x-gzip"))
			push(d, CORIO__HTTP_GZIP);
		else if (CORIO__IEQ_LIT(el, n, "deflate"))
			push(d, CORIO__HTTP_DEFLATE);
		else
			d->bad = true; /* br, zstd, compress, a typo: never handed over half-decoded */
	}
}

bool corio__http_decoder_active(const corio__http_decoder *d)
{
	return d->n > 0 || d->bad;
}

static int start(corio__http_layer *l, const unsigned char *in, size_t inlen)
{
	int wbits = 15 + 32;

	if (l->coding == CORIO__HTTP_DEFLATE) {
		if (inlen < 2)
			return 1; /* wait for more */
		wbits = ((in[0] & 0x0f) == 8 && (in[0] >> 4) <= 7 &&
			 ((unsigned)in[0] << 8 | in[1]) % 31 == 0)
				? 15
				: -15;
	}
	if (inflateInit2(&l->z, wbits) != Z_OK)
		return -ENOMEM;
	l->started = true;
	return 0;
}

/* One layer: inflates in[0..inlen) into out[0..outlen), at most cap bytes in all. Bytes
 * produced, *used the input consumed, or -errno. */
static ssize_t step(corio__http_layer *l, const unsigned char *in, size_t inlen, size_t *used,
		    void *out, size_t outlen, uint64_t cap)
{
	int rc;
	size_t produced;

	*used = 0;
	if (l->ended) {
		/* Another gzip member may follow; anything else is ignored, as zlib's gzip
		 * tools and browsers do. */
		if (l->coding != CORIO__HTTP_GZIP || inlen < 2 || in[0] != 0x1f || in[1] != 0x8b) {
			*used = inlen;
			return 0;
		}
		if (inflateReset(&l->z) != Z_OK)
			return -EBADMSG;
		l->ended = false;
	}
	if (!l->started) {
		rc = start(l, in, inlen);
		if (rc != 0)
			return rc > 0 ? 0 : rc;
	}
	if (outlen > UINT32_MAX)
		outlen = UINT32_MAX;
	if (inlen > UINT32_MAX)
		inlen = UINT32_MAX;
	l->z.next_in = (unsigned char *)in;
	l->z.avail_in = (uInt)inlen;
	l->z.next_out = out;
	l->z.avail_out = (uInt)outlen;
	rc = inflate(&l->z, Z_NO_FLUSH);
	*used = inlen - l->z.avail_in;
	produced = outlen - l->z.avail_out;
	if (rc == Z_STREAM_END)
		l->ended = true;
	else if (rc == Z_MEM_ERROR)
		return -ENOMEM;
	else if (rc != Z_OK && rc != Z_BUF_ERROR)
		return -EBADMSG;
	l->out_total += produced;
	if (l->out_total > cap)
		return -EFBIG;
	return (ssize_t)produced;
}

/* An inner layer's output is compressed data of the next one: a little larger than what
 * it decodes to at worst (stored blocks), never by this much. */
static uint64_t inner_cap(uint64_t cap)
{
	uint64_t c = cap + cap / 8 + 4096;

	return c < cap ? UINT64_MAX : c;
}

/* Moves the inner layers' data one step along: layer k reads l[k-1].mid (the body for
 * k == 0) into its own mid. Sets *moved when a byte was consumed or produced. */
static int fill_inner(corio__http_decoder *d, const unsigned char *in, size_t inlen,
		      size_t *used, bool *moved)
{
	for (size_t k = 0; k + 1 < d->n; k++) {
		corio__http_layer *l = &d->l[k], *prev = k ? &d->l[k - 1] : NULL;
		const unsigned char *src = prev ? (unsigned char *)prev->mid + prev->off : in + *used;
		size_t srclen = prev ? prev->len - prev->off : inlen - *used, u;
		ssize_t n;

		if (!l->mid && !(l->mid = malloc(MID_SIZE)))
			return -ENOMEM;
		if (l->off > 0) { /* keep the free room at the end */
			memmove(l->mid, l->mid + l->off, l->len - l->off);
			l->len -= l->off;
			l->off = 0;
		}
		if (l->len == MID_SIZE)
			continue;
		n = step(l, src, srclen, &u, l->mid + l->len, MID_SIZE - l->len, inner_cap(d->cap));
		if (n < 0)
			return (int)n;
		l->len += (size_t)n;
		if (prev)
			prev->off += u;
		else
			*used += u;
		*moved = *moved || n > 0 || u > 0;
	}
	return 0;
}

ssize_t corio__http_decode(corio__http_decoder *d, const void *in, size_t inlen, size_t *used,
			   void *out, size_t outlen)
{
	*used = 0;
	if (inlen > 0)
		d->any_input = true;
	if (d->bad)
		return inlen > 0 ? -EBADMSG : 0;
	if (d->n == 0) /* nothing to undo: the body is its own output */
		return -EINVAL;
	for (;;) {
		corio__http_layer *last = &d->l[d->n - 1], *prev = d->n > 1 ? last - 1 : NULL;
		bool moved = false;
		size_t u;
		ssize_t n;
		int rc = fill_inner(d, in, inlen, used, &moved);

		if (rc < 0)
			return rc;
		if (prev)
			n = step(last, (unsigned char *)prev->mid + prev->off, prev->len - prev->off, &u,
				 out, outlen, d->cap);
		else
			n = step(last, (const unsigned char *)in + *used, inlen - *used, &u, out, outlen,
				 d->cap);
		if (n < 0)
			return n;
		if (prev)
			prev->off += u;
		else
			*used += u;
		if (n > 0)
			return n;
		if (!moved && u == 0)
			return 0;
	}
}

bool corio__http_decoder_done(const corio__http_decoder *d)
{
	for (size_t k = 0; k < d->n; k++)
		if (!d->l[k].ended)
			return false;
	return true;
}

bool corio__http_decoder_started(const corio__http_decoder *d)
{
	return d->any_input;
}

void corio__http_decoder_free(corio__http_decoder *d)
{
	for (size_t k = 0; k < d->n; k++) {
		if (d->l[k].started)
			inflateEnd(&d->l[k].z);
		free(d->l[k].mid);
	}
	memset(d, 0, sizeof *d);
}
