/* http/ws/utf8.c: the UTF-8 check of text messages and close reasons (RFC 3629), run as the
 * bytes arrive so that a message split into fragments is checked across their edges: a
 * sequence cut between two fragments is fine, one cut at the message's end is not
 * (corio__ws_utf8_done). Never parks. */
#include <string.h>

#include "http/ws/ws_internal.h"

/* What a lead byte asks of the next one: how many continuation bytes follow and the range
 * of the first of them (which is where overlong forms, surrogates and code points over
 * U+10FFFF show). false for a byte that cannot lead. */
static bool lead(corio__ws_utf8 *u, uint8_t b)
{
	u->lo = 0x80;
	u->hi = 0xBF;
	if (b >= 0xC2 && b <= 0xDF) {
		u->need = 1;
	} else if (b >= 0xE0 && b <= 0xEF) {
		u->need = 2;
		if (b == 0xE0)
			u->lo = 0xA0; /* below: overlong */
		else if (b == 0xED)
			u->hi = 0x9F; /* above: U+D800..U+DFFF, surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		u->need = 3;
		if (b == 0xF0)
			u->lo = 0x90; /* below: overlong */
		else if (b == 0xF4)
			u->hi = 0x8F; /* above: over U+10FFFF */
	} else {
		return false; /* 0x80..0xC1 (continuation, overlong 2-byte), 0xF5.. */
	}
	return true;
}

bool corio__ws_utf8_feed(corio__ws_utf8 *u, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t b;

		if (u->need == 0) {
			/* ASCII runs 8 bytes at a time (text is mostly ASCII). */
			while (i + 8 <= n) {
				uint64_t w;

				memcpy(&w, p + i, 8);
				if (w & 0x8080808080808080ull)
					break;
				i += 8;
			}
			if (i == n)
				break;
		}
		b = p[i++];
		if (u->need == 0) {
			if (b < 0x80)
				continue;
			if (!lead(u, b))
				return false;
			continue;
		}
		if (b < u->lo || b > u->hi)
			return false;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xBF;
	}
	return true;
}

bool corio__ws_utf8_valid(const void *p, size_t n)
{
	corio__ws_utf8 u;

	corio__ws_utf8_init(&u);
	return corio__ws_utf8_feed(&u, p, n) && corio__ws_utf8_done(&u);
}
