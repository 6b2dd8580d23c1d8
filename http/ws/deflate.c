/* http/ws/deflate.c: permessage-deflate (RFC 7692) with zlib: the negotiation (the
 * server's pick among the client's offers, the client's check of the answer; parameters
 * server_no_context_takeover, client_no_context_takeover, server_max_window_bits,
 * client_max_window_bits) and a message's compression and decompression (raw deflate;
 * the 00 00 ff ff tail of a sync flush stripped on the wire and put back to inflate; the
 * context kept across messages unless the negotiation said otherwise). A window of 8 bits
 * is declined: zlib's raw deflate uses 9 when asked for 8. Never parks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "http/ws/ws_internal.h"

struct corio__ws_zip {
	z_stream def, inf;
	bool def_reset, inf_reset; /* no context takeover in that direction */
};

/* ---- negotiation -------------------------------------------------------------------------- */

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* The next ';'-separated element of [*p, end), trimmed, as [*s, *e); false at the end. */
static bool next_elem(const char **p, const char *end, const char **s, const char **e)
{
	const char *q;

	if (*p >= end)
		return false;
	for (q = *p; q < end && *q != ';'; q++)
		;
	*s = *p;
	*e = q;
	*p = q < end ? q + 1 : end;
	while (*s < *e && is_ows(**s))
		(*s)++;
	while (*e > *s && is_ows((*e)[-1]))
		(*e)--;
	return true;
}

/* A window size value: 8..15, optionally quoted. -1 when bad. */
static int bits_value(const char *v, const char *e)
{
	if (e - v == 3 && v[0] == '"' && e[-1] == '"')
		v++, e--;
	if (e - v == 1 && *v >= '8' && *v <= '9')
		return *v - '0';
	if (e - v == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
		return 10 + v[1] - '0';
	return -1;
}

/* Parses one extension [s, e) ("permessage-deflate; p; p=v"). false when it is another
 * extension, or a parameter is unknown, repeated or bad. client_bits 0: not offered;
 * -1: offered without a value. */
static bool parse_pmd(const char *s, const char *e, corio__ws_pmd *p)
{
	const char *a, *b;
	unsigned seen = 0;

	memset(p, 0, sizeof *p);
	p->server_bits = 15;
	if (!next_elem(&s, e, &a, &b) || b - a != 18 || strncasecmp(a, "permessage-deflate", 18))
		return false;
	while (next_elem(&s, e, &a, &b)) {
		const char *eq = memchr(a, '=', (size_t)(b - a));
		const char *ne = eq ? eq : b, *v = eq ? eq + 1 : b;
		size_t n;
		unsigned bit;

		while (ne > a && is_ows(ne[-1]))
			ne--;
		while (v < b && is_ows(*v))
			v++;
		n = (size_t)(ne - a);
		if (n == 26 && !strncasecmp(a, "server_no_context_takeover", n) && !eq)
			bit = 1, p->server_no_ctx = true;
		else if (n == 26 && !strncasecmp(a, "client_no_context_takeover", n) && !eq)
			bit = 2, p->client_no_ctx = true;
		else if (n == 22 && !strncasecmp(a, "server_max_window_bits", n) && eq &&
			 (p->server_bits = bits_value(v, b)) > 0)
			bit = 4;
		else if (n == 22 && !strncasecmp(a, "client_max_window_bits", n) &&
			 (!eq || (p->client_bits = bits_value(v, b)) > 0))
			bit = 8, p->client_bits = eq ? p->client_bits : -1;
		else
			return false;
		if (seen & bit)
			return false;
		seen |= bit;
	}
	p->on = true;
	return true;
}

struct offers {
	corio__ws_pmd *p;
	bool found;
};

static bool take_offer(const char *tok, size_t n, void *arg)
{
	struct offers *o = arg;

	/* zlib cannot deflate with a window of 8 bits (it uses 9) */
	return (o->found = parse_pmd(tok, tok + n, o->p) && o->p->server_bits > 8);
}

bool corio__ws_pmd_accept(const char *offers, corio__ws_pmd *p, char *answer, size_t cap)
{
	struct offers o = { p, false };

	if (!offers || !corio__ws_list_each(offers, take_offer, &o)) {
		memset(p, 0, sizeof *p);
		return false;
	}
	/* our answer: the client's requests granted; its own window left as it chose */
	snprintf(answer, cap, "permessage-deflate%s%s", p->server_no_ctx ? "; server_no_context_takeover" : "",
		 p->client_no_ctx ? "; client_no_context_takeover" : "");
	if (p->server_bits < 15)
		snprintf(answer + strlen(answer), cap - strlen(answer), "; server_max_window_bits=%d",
			 p->server_bits);
	p->client_bits = 15;
	return true;
}

int corio__ws_pmd_check(const char *answer, corio__ws_pmd *p)
{
	if (!parse_pmd(answer, answer + strlen(answer), p) || strchr(answer, ','))
		return -EPROTO;
	if (p->client_bits == -1)
		return -EPROTO; /* the server must give a value */
	if (p->client_bits == 0)
		p->client_bits = 15;
	return p->client_bits > 8 ? 0 : -EPROTO; /* 8: see above */
}

/* ---- compression -------------------------------------------------------------------------- */

corio__ws_zip *corio__ws_zip_new(const corio__ws_pmd *p, bool server)
{
	corio__ws_zip *z = calloc(1, sizeof *z);
	int def_bits = server ? p->server_bits : p->client_bits;

	if (!z)
		return NULL;
	if (deflateInit2(&z->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -def_bits, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		return NULL;
	}
	if (inflateInit2(&z->inf, -15) != Z_OK) { /* 15 inflates any smaller window too */
		deflateEnd(&z->def);
		free(z);
		return NULL;
	}
	z->def_reset = server ? p->server_no_ctx : p->client_no_ctx;
	z->inf_reset = server ? p->client_no_ctx : p->server_no_ctx;
	return z;
}

void corio__ws_zip_free(corio__ws_zip *z)
{
	if (!z)
		return;
	deflateEnd(&z->def);
	inflateEnd(&z->inf);
	free(z);
}

/* Room for more output in *buf (capacity *cap) past *len, at most max in all. */
static int grow(uint8_t **buf, size_t *cap, size_t len, size_t max)
{
	size_t c = *cap ? *cap * 2 : 4096;
	uint8_t *p;

	if (len >= max)
		return -EMSGSIZE;
	if (c > max)
		c = max;
	if (c <= *cap)
		return 0;
	if (!(p = realloc(*buf, c)))
		return -ENOMEM;
	*buf = p;
	*cap = c;
	return 0;
}

int corio__ws_zip_deflate(corio__ws_zip *z, const void *in, size_t n, uint8_t **buf, size_t *cap,
			  size_t *out_len)
{
	size_t len = 0;
	int rc;

	z->def.next_in = (Bytef *)(uintptr_t)in;
	z->def.avail_in = (uInt)n; /* messages over 4 GiB are not compressed (conn.c) */
	do {
		if (*cap - len < 64 && (rc = grow(buf, cap, len, SIZE_MAX)) < 0)
			return rc;
		z->def.next_out = *buf + len;
		z->def.avail_out = (uInt)(*cap - len);
		if (deflate(&z->def, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
			return -EIO;
		len = *cap - z->def.avail_out;
	} while (z->def.avail_out == 0 || z->def.avail_in > 0);
	if (len == 0) {
		/* nothing since the last flush (zlib adds no empty block then): an empty
		 * message is the one byte 0x00 (RFC 7692 7.2.3.6) */
		**buf = 0;
		len = 5;
	} else if (len < 4 || memcmp(*buf + len - 4, "\0\0\xff\xff", 4) != 0) {
		return -EIO;
	}
	*out_len = len - 4; /* the tail every sync flush ends with stays off the wire */
	if (z->def_reset)
		deflateReset(&z->def);
	return 0;
}

/* Inflates in[0..n) then the tail, into *buf, at most max bytes (-EMSGSIZE beyond);
 * -EBADMSG for a broken stream. A final block (BFINAL) ends the message's stream: the
 * next message starts a new one. */
int corio__ws_zip_inflate(corio__ws_zip *z, const uint8_t *in, size_t n, uint8_t **buf,
			  size_t *cap, size_t max, size_t *out_len)
{
	static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
	bool ended = false;
	size_t len = 0;
	int rc = 0;

	for (int part = 0; part < 2 && rc == 0 && !ended; part++) {
		z->inf.next_in = (Bytef *)(uintptr_t)(part ? tail : in);
		z->inf.avail_in = (uInt)(part ? 4 : n);
		for (;;) {
			int zr;

			if (len == *cap && (rc = grow(buf, cap, len, max + 1)) < 0)
				break;
			z->inf.next_out = *buf + len;
			z->inf.avail_out = (uInt)(*cap - len);
			zr = inflate(&z->inf, Z_SYNC_FLUSH);
			len = *cap - z->inf.avail_out;
			if (zr == Z_STREAM_END) {
				ended = true;
				break;
			}
			if (zr != Z_OK && zr != Z_BUF_ERROR) {
				rc = -EBADMSG;
				break;
			}
			if (len > max) {
				rc = -EMSGSIZE;
				break;
			}
			if (z->inf.avail_in == 0 && z->inf.avail_out > 0)
				break; /* all taken and all given out */
		}
	}
	if (rc == 0 && len > max)
		rc = -EMSGSIZE;
	if (ended || (rc == 0 && z->inf_reset))
		inflateReset(&z->inf);
	*out_len = len;
	return rc;
}
