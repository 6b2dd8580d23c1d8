/* http/ws/handshake.c: what both opening handshakes share (RFC 6455 4): the
 * Sec-WebSocket-Accept value (base64 of SHA-1 over the key and the protocol's GUID,
 * through OpenSSL's EVP) and the comma-separated token lists of Connection, Upgrade and
 * Sec-WebSocket-Protocol. Never parks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "http/ws/ws_internal.h"

int corio__ws_accept_key(const char *key, char out[29])
{
	char buf[64 + sizeof CORIO__WS_GUID];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t n = strlen(key);

	if (n > 64)
		return -EINVAL;
	memcpy(buf, key, n);
	memcpy(buf + n, CORIO__WS_GUID, sizeof CORIO__WS_GUID - 1);
	if (!EVP_Digest(buf, n + sizeof CORIO__WS_GUID - 1, md, &mdlen, EVP_sha1(), NULL) ||
	    mdlen != 20)
		return -ENOMEM;
	EVP_EncodeBlock((unsigned char *)out, md, 20); /* 28 characters and the NUL */
	return 0;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

bool corio__ws_list_each(const char *list, bool (*fn)(const char *tok, size_t n, void *arg),
			 void *arg)
{
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ','), *e;

		if (!end)
			end = p + strlen(p);
		while (p < end && is_ows(*p))
			p++;
		for (e = end; e > p && is_ows(e[-1]); e--)
			;
		if (e > p && fn(p, (size_t)(e - p), arg))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

struct want {
	const char *tok;
	size_t n;
	bool icase;
};

static bool same(const char *t, size_t n, void *arg)
{
	const struct want *w = arg;

	if (n != w->n)
		return false;
	return w->icase ? strncasecmp(t, w->tok, n) == 0 : memcmp(t, w->tok, n) == 0;
}

bool corio__ws_list_has(const char *list, const char *tok, size_t n, bool icase)
{
	struct want w = { tok, n, icase };

	return corio__ws_list_each(list, same, &w);
}
