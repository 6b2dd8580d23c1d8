/* http/ws/frame.c: WebSocket frame headers (RFC 6455 5.2): decoding and encoding the three
 * length forms (7, 16 and 64 bits), the mask key, the payload masking (8 bytes at a time),
 * and which close codes may travel on the wire. Never parks; touches no connection. */
#include <errno.h>
#include <string.h>

#include "http/ws/ws_internal.h"

/* A non-minimal length form (126 with a length under 126, 127 with one under 65536) is
 * accepted: RFC 6455 asks senders for the minimal form but gives receivers no rule. A
 * 64-bit length with its top bit set is refused (the RFC's "MUST be 0"). */
int corio__ws_frame_decode(const uint8_t *p, size_t n, corio__ws_frame *f)
{
	size_t need = 2;
	uint64_t len;

	if (n < 2)
		return 0;
	f->fin = (p[0] & 0x80) != 0;
	f->rsv = p[0] & 0x70;
	f->opcode = p[0] & 0x0F;
	f->masked = (p[1] & 0x80) != 0;
	len = p[1] & 0x7F;
	need += len == 126 ? 2 : len == 127 ? 8 : 0;
	need += f->masked ? 4 : 0;
	if (n < need)
		return 0;
	if (len == 126) {
		len = (uint64_t)p[2] << 8 | p[3];
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		if (len >> 63)
			return -EPROTO;
	}
	f->len = len;
	if (f->masked)
		memcpy(f->mask, p + need - 4, 4);
	return (int)need;
}

size_t corio__ws_frame_encode(uint8_t *out, bool fin, uint8_t opcode, uint8_t rsv,
			      const uint8_t *mask, uint64_t len)
{
	size_t n = 2;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv & 0x70) | (opcode & 0x0F));
	out[1] = mask ? 0x80 : 0;
	if (len < 126) {
		out[1] |= (uint8_t)len;
	} else if (len <= 0xFFFF) {
		out[1] |= 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		n = 4;
	} else {
		out[1] |= 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (mask) {
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}

/* The key repeated over 8 bytes starting at the right phase: 8 is a multiple of 4, so
 * the same word masks every aligned step. memcpy loads and stores: no alignment needed. */
void corio__ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off)
{
	uint8_t k[8];
	uint64_t w;
	size_t i = 0;

	for (int j = 0; j < 8; j++)
		k[j] = mask[(off + (uint64_t)j) & 3];
	memcpy(&w, k, 8);
	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		v ^= w;
		memcpy(p + i, &v, 8);
	}
	for (size_t j = 0; i < n; i++, j++)
		p[i] ^= k[j];
}

/* RFC 6455 7.4.1 and 7.4.2: 1000-1003, 1007-1011 and the later IANA ones (1012-1014),
 * 3000-4999 for libraries and applications. 1004-1006 and 1015 are reserved or never
 * sent; below 1000 and 1016-2999 are unassigned. */
bool corio__ws_close_code_ok(unsigned code)
{
	if (code >= 3000 && code <= 4999)
		return true;
	if (code < 1000 || code > 1014)
		return false;
	return code != 1004 && code != 1005 && code != 1006;
}
