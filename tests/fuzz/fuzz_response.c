/* tests/fuzz/fuzz_response.c: libFuzzer target for the client's response parsing: the llhttp
 * glue (http/client/parser.c: status line, headers, trailers, chunked framing, 1xx, limits)
 * and Content-Encoding decoding (http/common/coding.c), over an in-memory connection (no
 * socket, no loop). pump, read_plain and read_decoded of http/client/response.c park on
 * receives, so their logic is mirrored here step by step with the receive replaced by a
 * copy of the next bytes of the input (read_direct, which receives straight into the
 * caller's buffer, feeds the parser the same way as the sink path mirrored here). A kept
 * connection whose buffer was used up serves the next response, as the pool would.
 *
 * Input: [step][flags][bytes a server sends...]
 *   step   every receive delivers at most this many bytes (0: up to the connection's 16 KiB)
 *   flags  bit 0 the request was HEAD, bit 1 decode gzip/deflate, bits 2-3 the reader's
 *          buffer (4096, 1, 7, 512 bytes), bits 4-5 max_header_bytes (64 KiB, 64, 256, 4096)
 *          and max_headers (100, 2, 8, 100), bits 6-7 max_chunk_ext (4096, 0, 8, 64)
 *
 * Checked: the parser consumes no more than it was given and stops early only at a
 * message's end, a sink never overfills, the body is never longer than the raw bytes that
 * carried it, a Content-Length body is exactly that long, decoding fills no more than the
 * output buffer, and every header and trailer is stored inside its arena. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "http/client/client_internal.h"
#include "tests/fuzz/fuzz.h"

#define CONN_BUFSIZE 16384          /* CORIO__HCLIENT_BUFSIZE: one receive at most */
#define MAX_BODY ((uint64_t)1 << 20) /* max_body_size and max_decoded_size: bounded output */
#define MAX_RESPONSES 8             /* responses per input on a kept connection */

/* A connection: the bytes of the last receive (allocated to their exact size, so that a
 * read past them is caught), the cursor, and what the server still sends. */
typedef struct conn {
	uint8_t *buf;
	size_t off, len;
	const uint8_t *next;
	size_t left, step;
	size_t fed; /* raw bytes the last pump gave the parser */
} conn;

typedef struct resp {
	corio__hclient_parser h;
	corio__http_decoder dec;
	bool decoding, eof;
	int err;
	uint64_t body_total, raw_total;
	conn *k;
} resp;

static size_t recv_next(conn *k)
{
	size_t n = k->left < k->step ? k->left : k->step;

	free(k->buf);
	k->buf = NULL;
	k->off = k->len = 0;
	if (n == 0)
		return 0;
	k->buf = malloc(n);
	FUZZ_CHECK(k->buf != NULL);
	memcpy(k->buf, k->next, n);
	k->next += n;
	k->left -= n;
	k->len = n;
	return n;
}

/* response.c's pump: parses up to maxraw buffered bytes, receiving first when none are. */
static int pump(resp *r, size_t maxraw)
{
	conn *k = r->k;
	size_t n;
	ssize_t used;
	bool head_before = r->h.headers_done;

	k->fed = 0;
	if (k->off == k->len && recv_next(k) == 0)
		return corio__hclient_parser_eof(&r->h);
	n = k->len - k->off < maxraw ? k->len - k->off : maxraw;
	used = corio__hclient_parser_feed(&r->h, (const char *)k->buf + k->off, n);
	if (used < 0)
		return (int)used;
	FUZZ_CHECK((size_t)used <= n);
	/* short only at the end of the head (paused there, so that the body goes straight
	 * to the reader) or of the message */
	FUZZ_CHECK((size_t)used == n || r->h.message_done || (!head_before && r->h.headers_done));
	k->off += (size_t)used;
	k->fed = (size_t)used;
	r->raw_total += (size_t)used;
	return 0;
}

static int fail(resp *r, int err)
{
	if (!r->err)
		r->err = err;
	return r->err;
}

static ssize_t deliver(resp *r, size_t n)
{
	r->body_total += n;
	return r->body_total > MAX_BODY ? fail(r, -EFBIG) : (ssize_t)n;
}

static ssize_t finish(resp *r)
{
	if (r->decoding && !corio__http_decoder_done(&r->dec) &&
	    corio__http_decoder_started(&r->dec))
		return fail(r, -EPROTO);
	r->eof = true;
	return 0;
}

/* read_plain: body bytes through the sink, the caller's buffer. */
static ssize_t read_plain(resp *r, char *buf, size_t len)
{
	for (;;) {
		size_t have = corio__hclient_parser_pending(&r->h);
		int rc;

		if (have) {
			have = have < len ? have : len;
			memcpy(buf, r->h.pend.p + r->h.pend_off, have);
			r->h.pend_off += have;
			return deliver(r, have);
		}
		if (r->h.message_done)
			return finish(r);
		r->h.sink = buf;
		r->h.sink_cap = len;
		r->h.sink_len = 0;
		rc = pump(r, len);
		r->h.sink = NULL;
		if (rc < 0)
			return fail(r, rc);
		/* framing never makes the body longer than the bytes that carry it */
		FUZZ_CHECK(r->h.sink_len <= len && r->h.sink_len <= r->k->fed);
		if (r->h.sink_len)
			return deliver(r, r->h.sink_len);
	}
}

/* read_decoded: body bytes through the pending buffer and the decoder, which runs before
 * every receive (its layers may hold output from input already taken). */
static ssize_t read_decoded(resp *r, char *buf, size_t len)
{
	for (;;) {
		size_t have = corio__hclient_parser_pending(&r->h), used = 0;
		const char *src = have ? r->h.pend.p + r->h.pend_off : "";
		ssize_t n = corio__http_decode(&r->dec, src, have, &used, buf, len);
		int rc;

		if (n < 0)
			return fail(r, (int)n);
		FUZZ_CHECK((size_t)n <= len && used <= have);
		r->h.pend_off += used;
		if (n > 0)
			return deliver(r, (size_t)n);
		if (used && corio__hclient_parser_pending(&r->h))
			continue;
		if (r->h.message_done)
			return finish(r);
		rc = pump(r, SIZE_MAX);
		if (rc < 0)
			return fail(r, rc);
	}
}

static void check_fields(const corio__hclient_fields *fs)
{
	FUZZ_CHECK(fs->n <= fs->fcap || fs->n == 0);
	for (size_t i = 0; i < fs->n; i++) {
		uint32_t name = fs->f[i].name, value = fs->f[i].value;

		FUZZ_CHECK(name < fs->arena.len && value < fs->arena.len);
		FUZZ_CHECK(memchr(fs->arena.p + name, 0, fs->arena.len - name) != NULL);
		FUZZ_CHECK(memchr(fs->arena.p + value, 0, fs->arena.len - value) != NULL);
	}
}

static void check_head(const resp *r, size_t max_headers)
{
	const corio__hclient_parser *h = &r->h;

	FUZZ_CHECK(h->headers_done && h->status >= 0 && h->status <= 999);
	FUZZ_CHECK(h->status < 100 || h->status >= 200); /* 1xx are skipped, 101 refused */
	FUZZ_CHECK(h->hdr.n <= max_headers);
	check_fields(&h->hdr);
	for (size_t i = 0; i < h->hdr.n; i++)
		FUZZ_CHECK(corio__hclient_parser_get(h, false, h->hdr.arena.p + h->hdr.f[i].name, 0));
}

/* The whole body, as corio_http_response_read would give it; then what the framing
 * promised. */
static void read_all(resp *r, size_t out_len)
{
	char *out = malloc(out_len);
	ssize_t n;

	FUZZ_CHECK(out != NULL);
	do
		n = r->decoding ? read_decoded(r, out, out_len) : read_plain(r, out, out_len);
	while (n > 0);
	free(out);
	if (n < 0)
		return;
	check_fields(&r->h.trl);
	if (r->decoding)
		return;
	FUZZ_CHECK(r->body_total <= r->raw_total);
	if (r->h.content_length >= 0 && !r->h.chunked && !r->h.head && r->h.status != 204 &&
	    r->h.status != 304)
		FUZZ_CHECK(r->body_total == (uint64_t)r->h.content_length);
}

/* corio__hclient_response_ready: every Content-Encoding field adds its layers. */
static void set_decoding(resp *r)
{
	const char *ce;

	corio__http_decoder_init(&r->dec, MAX_BODY);
	for (size_t i = 0; (ce = corio__hclient_parser_get(&r->h, false, "Content-Encoding", i)); i++)
		corio__http_decoder_add(&r->dec, ce);
	r->decoding = corio__http_decoder_active(&r->dec);
}

/* One response on k. True when the connection would go back to the pool. */
static bool one_response(conn *k, uint8_t flags)
{
	static const size_t out_lens[] = { 4096, 1, 7, 512 };
	static const size_t header_bytes[] = { 65536, 64, 256, 4096 };
	static const size_t headers[] = { 100, 2, 8, 100 };
	static const size_t chunk_ext[] = { 4096, 0, 8, 64 };
	size_t max_headers = headers[(flags >> 4) & 3];
	resp r = { .k = k }; /* a zeroed decoder, as calloc leaves it in response.c */
	bool keep = false;
	int rc = 0;

	corio__hclient_parser_init(&r.h, flags & 1, header_bytes[(flags >> 4) & 3], max_headers,
				   chunk_ext[(flags >> 6) & 3]);
	while (!r.h.headers_done && rc == 0)
		rc = pump(&r, SIZE_MAX);
	if (rc == 0) {
		check_head(&r, max_headers);
		if ((flags & 2) && !r.h.head)
			set_decoding(&r);
		read_all(&r, out_lens[(flags >> 2) & 3]);
		/* client.c keeps a connection only with nothing left in its buffer */
		keep = r.h.message_done && r.h.keep_alive && !r.h.err && !r.err && k->off == k->len;
	}
	corio__http_decoder_free(&r.dec);
	corio__hclient_parser_free(&r.h);
	return keep;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	conn k = { 0 };

	if (size < 2)
		return 0;
	k.next = data + 2;
	k.left = size - 2;
	k.step = data[0] ? data[0] : CONN_BUFSIZE;
	for (unsigned i = 0; i < MAX_RESPONSES && k.left > 0 && one_response(&k, data[1]); i++)
		;
	free(k.buf);
	return 0;
}
