/* tests/http/test_ws_frame.c: the WebSocket pieces that need no connection: frame headers
 * (the three length forms, the mask key, a length with its top bit, headers cut short),
 * masking (every length and phase against a byte-at-a-time reference), the UTF-8 validator
 * (the classic table: 2-, 3- and 4-byte forms, overlongs, surrogates, over U+10FFFF, stray
 * bytes, sequences split across feeds), close codes, the Accept key and token lists, and
 * permessage-deflate: the negotiation's parameters, and compression across messages. */
#define _GNU_SOURCE
#include "tests/support/helpers.h"
#include "http/ws/ws_internal.h"

START_TEST(frame_encode_decode)
{
	static const uint64_t lens[] = { 0, 1, 125, 126, 127, 65535, 65536, 1ull << 32,
					 (1ull << 63) - 1 };
	static const uint8_t key[4] = { 1, 2, 3, 4 };
	uint8_t b[CORIO__WS_MAX_HEADER];

	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
		for (int m = 0; m < 2; m++) {
			corio__ws_frame f;
			size_t n = corio__ws_frame_encode(b, m, CORIO_WS_BINARY, 0x40, m ? key : NULL,
							  lens[i]);
			size_t want = 2 + (lens[i] < 126 ? 0 : lens[i] <= 0xFFFF ? 2 : 8) + (m ? 4 : 0);

			ck_assert_uint_eq(n, want);
			for (size_t cut = 0; cut < n; cut++)
				ck_assert_int_eq(corio__ws_frame_decode(b, cut, &f), 0);
			ck_assert_int_eq(corio__ws_frame_decode(b, n, &f), (int)n);
			ck_assert(f.fin == (m != 0) && f.rsv == 0x40 && f.opcode == CORIO_WS_BINARY);
			ck_assert(f.masked == (m != 0) && f.len == lens[i]);
			if (m)
				ck_assert_mem_eq(f.mask, key, 4);
		}
	/* the RFC's examples (5.7): "Hello" unmasked, and a 256-byte binary header */
	ck_assert_uint_eq(corio__ws_frame_encode(b, true, CORIO_WS_TEXT, 0, NULL, 5), 2);
	ck_assert_mem_eq(b, "\x81\x05", 2);
	ck_assert_uint_eq(corio__ws_frame_encode(b, true, CORIO_WS_BINARY, 0, NULL, 256), 4);
	ck_assert_mem_eq(b, "\x82\x7e\x01\x00", 4);
}
END_TEST

START_TEST(frame_decode_edges)
{
	corio__ws_frame f;

	/* a 64-bit length with its top bit set is refused */
	ck_assert_int_eq(corio__ws_frame_decode((const uint8_t *)"\x82\x7f\x80\0\0\0\0\0\0\0", 10,
						&f), -EPROTO);
	/* non-minimal forms are accepted */
	ck_assert_int_eq(corio__ws_frame_decode((const uint8_t *)"\x82\x7e\x00\x05", 4, &f), 4);
	ck_assert_uint_eq(f.len, 5);
	ck_assert_int_eq(corio__ws_frame_decode((const uint8_t *)"\x02\x7f\0\0\0\0\0\0\0\x07", 10,
						&f), 10);
	ck_assert(f.len == 7 && !f.fin && f.opcode == 2);
	/* reserved bits and opcodes are decoded as they are; the rules are the receiver's */
	ck_assert_int_eq(corio__ws_frame_decode((const uint8_t *)"\xf3\x80" "abcd", 6, &f), 6);
	ck_assert(f.rsv == 0x70 && f.opcode == 3 && f.masked && f.len == 0);
}
END_TEST

START_TEST(masking)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	uint8_t buf[80], ref[80];

	/* every length up to 70 at every phase and buffer offset (unaligned) */
	for (size_t off = 0; off < 4; off++)
		for (size_t phase = 0; phase < 9; phase++)
			for (size_t n = 0; n <= 70; n++) {
				for (size_t i = 0; i < n; i++)
					buf[off + i] = ref[i] = (uint8_t)(i * 7 + n);
				for (size_t i = 0; i < n; i++)
					ref[i] ^= key[(phase + i) & 3];
				corio__ws_mask(buf + off, n, key, phase);
				ck_assert(n == 0 || memcmp(buf + off, ref, n) == 0);
			}
	/* the RFC's example (5.7): a masked "Hello" */
	memcpy(buf, "Hello", 5);
	corio__ws_mask(buf, 5, key, 0);
	ck_assert_mem_eq(buf, "\x7f\x9f\x4d\x51\x58", 5);
	/* masking in two pieces equals one */
	memcpy(buf, "Hello, world, again", 19);
	corio__ws_mask(buf, 7, key, 0);
	corio__ws_mask(buf + 7, 12, key, 7);
	corio__ws_mask(buf, 19, key, 0);
	ck_assert_mem_eq(buf, "Hello, world, again", 19);
}
END_TEST

static bool valid(const char *s, size_t n)
{
	return corio__ws_utf8_valid(s, n);
}
#define V(lit) valid(lit, sizeof lit - 1)

START_TEST(utf8_table)
{
	ck_assert(V("") && V("plain ASCII, longer than eight bytes") && V("\x7f"));
	ck_assert(V("\xc2\x80") && V("\xdf\xbf"));                     /* U+0080, U+07FF */
	ck_assert(V("\xe0\xa0\x80") && V("\xef\xbf\xbf"));             /* U+0800, U+FFFF */
	ck_assert(V("\xed\x9f\xbf") && V("\xee\x80\x80"));             /* around surrogates */
	ck_assert(V("\xf0\x90\x80\x80") && V("\xf4\x8f\xbf\xbf"));     /* U+10000, U+10FFFF */
	ck_assert(V("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")); /* kosme */
	ck_assert(!V("\xc0\x80") && !V("\xc1\xbf"));                   /* overlong 2-byte */
	ck_assert(!V("\xe0\x80\x80") && !V("\xe0\x9f\xbf"));           /* overlong 3-byte */
	ck_assert(!V("\xf0\x80\x80\x80") && !V("\xf0\x8f\xbf\xbf"));   /* overlong 4-byte */
	ck_assert(!V("\xed\xa0\x80") && !V("\xed\xbf\xbf"));           /* surrogates */
	ck_assert(!V("\xf4\x90\x80\x80") && !V("\xf5\x80\x80\x80"));   /* over U+10FFFF */
	ck_assert(!V("\xf8\x88\x80\x80\x80") && !V("\xfe") && !V("\xff"));
	ck_assert(!V("\x80") && !V("a\xbf") && !V("\xc2\x41"));        /* stray, bad next */
	ck_assert(!V("\xc2") && !V("\xe2\x82") && !V("\xf0\x9f\x98")); /* cut at the end */
	ck_assert(!V("0123456789\xc2"));                               /* after an ASCII run */
}
END_TEST

START_TEST(utf8_split)
{
	static const char s[] = "a\xc2\xa2" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80" "d";
	const size_t n = sizeof s - 1;

	/* every split in two (and in single bytes) gives the same answer as one feed */
	for (size_t cut = 0; cut <= n; cut++) {
		corio__ws_utf8 u;

		corio__ws_utf8_init(&u);
		ck_assert(corio__ws_utf8_feed(&u, (const uint8_t *)s, cut));
		ck_assert(corio__ws_utf8_feed(&u, (const uint8_t *)s + cut, n - cut));
		ck_assert(corio__ws_utf8_done(&u));
	}
	{
		corio__ws_utf8 u;

		corio__ws_utf8_init(&u);
		for (size_t i = 0; i < n; i++)
			ck_assert(corio__ws_utf8_feed(&u, (const uint8_t *)s + i, 1));
		ck_assert(corio__ws_utf8_done(&u));
		/* a sequence cut at the end of the message: fine per feed, not at the end */
		corio__ws_utf8_init(&u);
		ck_assert(corio__ws_utf8_feed(&u, (const uint8_t *)"\xf0\x9f", 2));
		ck_assert(!corio__ws_utf8_done(&u));
		/* the check of the second byte holds across the split (a surrogate) */
		corio__ws_utf8_init(&u);
		ck_assert(corio__ws_utf8_feed(&u, (const uint8_t *)"\xed", 1));
		ck_assert(!corio__ws_utf8_feed(&u, (const uint8_t *)"\xa0\x80", 2));
	}
}
END_TEST

START_TEST(close_codes_keys_lists)
{
	static const unsigned ok[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
				       1012, 1013, 1014, 3000, 4999 };
	static const unsigned bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000,
					65535 };
	char acc[29];

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		ck_assert_msg(corio__ws_close_code_ok(ok[i]), "%u", ok[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!corio__ws_close_code_ok(bad[i]), "%u", bad[i]);
	ck_assert_int_eq(corio__ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", acc), 0);
	ck_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 1.3 */
	ck_assert(corio__ws_list_has("keep-alive, Upgrade", "upgrade", 7, true));
	ck_assert(!corio__ws_list_has("keep-alive, Upgrade", "upgrade", 7, false));
	ck_assert(corio__ws_list_has(" a ,\tb\t, c", "b", 1, false));
	ck_assert(!corio__ws_list_has("upgrades, xupgrade", "upgrade", 7, true));
	ck_assert(!corio__ws_list_has(",,", "", 0, true));
}
END_TEST

START_TEST(deflate_negotiation)
{
	corio__ws_pmd p;
	char ans[128];

	ck_assert(corio__ws_pmd_accept("permessage-deflate", &p, ans, sizeof ans));
	ck_assert_str_eq(ans, "permessage-deflate");
	ck_assert(p.on && !p.server_no_ctx && !p.client_no_ctx && p.server_bits == 15);
	ck_assert(corio__ws_pmd_accept("x-foo, permessage-deflate; server_no_context_takeover; "
				       "client_no_context_takeover; server_max_window_bits=10; "
				       "client_max_window_bits", &p, ans, sizeof ans));
	ck_assert_str_eq(ans, "permessage-deflate; server_no_context_takeover; "
			      "client_no_context_takeover; server_max_window_bits=10");
	ck_assert(p.server_no_ctx && p.client_no_ctx && p.server_bits == 10);
	/* the first acceptable offer wins: a window of 8, unknown or repeated parameters,
	 * bad values are passed over */
	ck_assert(corio__ws_pmd_accept("permessage-deflate; server_max_window_bits=8, "
				       "permessage-deflate; foo, "
				       "permessage-deflate; server_no_context_takeover; "
				       "server_no_context_takeover, "
				       "permessage-deflate; server_max_window_bits=16, "
				       "permessage-deflate; server_max_window_bits, "
				       "permessage-deflate; client_max_window_bits=\"9\"",
				       &p, ans, sizeof ans));
	ck_assert(p.on && p.server_bits == 15 && !p.server_no_ctx);
	ck_assert(!corio__ws_pmd_accept("x-webkit-deflate-frame, permessage-deflat", &p, ans,
					sizeof ans));
	ck_assert(!corio__ws_pmd_accept(NULL, &p, ans, sizeof ans) && !p.on);
	/* the client's check of an answer */
	ck_assert_int_eq(corio__ws_pmd_check("permessage-deflate", &p), 0);
	ck_assert(p.on && p.client_bits == 15);
	ck_assert_int_eq(corio__ws_pmd_check("permessage-deflate; client_max_window_bits=12; "
					     "client_no_context_takeover", &p), 0);
	ck_assert(p.client_bits == 12 && p.client_no_ctx);
	ck_assert_int_eq(corio__ws_pmd_check("permessage-deflate; client_max_window_bits", &p),
			 -EPROTO);
	ck_assert_int_eq(corio__ws_pmd_check("permessage-deflate; client_max_window_bits=8", &p),
			 -EPROTO);
	ck_assert_int_eq(corio__ws_pmd_check("permessage-deflate; x=1", &p), -EPROTO);
	ck_assert_int_eq(corio__ws_pmd_check("permessage-deflate, permessage-deflate", &p), -EPROTO);
	ck_assert_int_eq(corio__ws_pmd_check("x-other", &p), -EPROTO);
}
END_TEST

/* Compression round trips, the RFC's example, context kept (the second "Hello" is
 * shorter) or not, the size limit and broken data. */
START_TEST(deflate_messages)
{
	corio__ws_pmd p = { .on = true, .server_bits = 15, .client_bits = 15 };
	corio__ws_zip *srv = corio__ws_zip_new(&p, true), *cli = corio__ws_zip_new(&p, false);
	uint8_t *d = NULL, *i = NULL, *big = malloc(1u << 20);
	size_t dc = 0, ic = 0, dl, il, first;

	ck_assert(srv && cli && big);
	ck_assert_int_eq(corio__ws_zip_deflate(srv, "Hello", 5, &d, &dc, &dl), 0);
	ck_assert_uint_eq(dl, 7);
	ck_assert_mem_eq(d, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7); /* RFC 7692 7.2.3.1 */
	first = dl;
	ck_assert_int_eq(corio__ws_zip_inflate(cli, d, dl, &i, &ic, 100, &il), 0);
	ck_assert(il == 5 && !memcmp(i, "Hello", 5));
	ck_assert_int_eq(corio__ws_zip_deflate(srv, "Hello", 5, &d, &dc, &dl), 0);
	ck_assert_uint_lt(dl, first); /* refers back to the first message */
	ck_assert_int_eq(corio__ws_zip_inflate(cli, d, dl, &i, &ic, 100, &il), 0);
	ck_assert(il == 5 && !memcmp(i, "Hello", 5));
	/* the RFC's uncompressed-block example inflates too (a stream of its own) */
	{
		corio__ws_zip *z = corio__ws_zip_new(&p, false);

		ck_assert_int_eq(corio__ws_zip_inflate(z, (const uint8_t *)"\x00\x05\x00\xfa\xff"
						       "Hello", 10, &i, &ic, 100, &il), 0);
		ck_assert(il == 5 && !memcmp(i, "Hello", 5));
		corio__ws_zip_free(z);
	}
	/* 1 MiB of text, then the limit: one byte less than the message is refused */
	for (size_t k = 0; k < (1u << 20); k++)
		big[k] = (uint8_t)('a' + (k * 7 + k / 1000) % 26);
	ck_assert_int_eq(corio__ws_zip_deflate(srv, big, 1u << 20, &d, &dc, &dl), 0);
	ck_assert_int_eq(corio__ws_zip_inflate(cli, d, dl, &i, &ic, 1u << 20, &il), 0);
	ck_assert(il == (1u << 20) && !memcmp(i, big, il));
	ck_assert_int_eq(corio__ws_zip_deflate(srv, big, 1u << 20, &d, &dc, &dl), 0);
	ck_assert_int_eq(corio__ws_zip_inflate(cli, d, dl, &i, &ic, (1u << 20) - 1, &il), -EMSGSIZE);
	corio__ws_zip_free(cli);
	cli = corio__ws_zip_new(&p, false);
	ck_assert_int_eq(corio__ws_zip_inflate(cli, (const uint8_t *)"\xff\xff\xff", 3, &i, &ic, 100,
					       &il), -EBADMSG);
	/* an empty message */
	corio__ws_zip_free(cli);
	cli = corio__ws_zip_new(&p, false);
	ck_assert_int_eq(corio__ws_zip_deflate(srv, "", 0, &d, &dc, &dl), 0);
	ck_assert_int_eq(corio__ws_zip_inflate(cli, d, dl, &i, &ic, 100, &il), 0);
	ck_assert_uint_eq(il, 0);
	corio__ws_zip_free(srv);
	corio__ws_zip_free(cli);
	free(d);
	free(i);
	free(big);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("ws_frame", 30, frame_encode_decode, frame_decode_edges, masking,
				utf8_table, utf8_split, close_codes_keys_lists, deflate_negotiation,
				deflate_messages));
}
