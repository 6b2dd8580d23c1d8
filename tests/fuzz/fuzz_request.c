/* tests/fuzz/fuzz_request.c: libFuzzer target for the server's request parser
 * (http/server/parser.c): request heads, body framing (Content-Length and chunked, decoded in
 * place by on_body) and pipelined requests, over an in-memory connection (no socket, no
 * loop). The loops below follow read_head (http/server/conn.c) and body_more
 * (http/server/body.c) step by step; those two are reachable only through socket receives,
 * so their parsing half is mirrored here and their receive replaced by a copy of the next
 * bytes of the input.
 *
 * Input: [step][limits][bytes a client sends...]
 *   step    every receive delivers at most this many bytes (0: up to the read buffer), so
 *           heads, values and chunks are split wherever the fuzzer likes
 *   limits  bits 0-1 max_header_bytes (16 KiB, 64, 256, 1024), bits 2-3 max_headers (100,
 *           1, 4, 16), bits 4-5 max_body_bytes (16 MiB, none, 16, 1024)
 *
 * Checked: the buffer cursors (rpos never past wpos), every stored header inside the arena
 * and NUL-terminated, the arena bounded by max_header_bytes, the decoded body inside the
 * bytes just parsed and counted exactly, a Content-Length body exactly that long, and what
 * finish_headers promises of an accepted request. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "http/server/server_internal.h"
#include "tests/fuzz/fuzz.h"

#define READ_BUFFER 1024 /* the server's smallest read buffer: the most receives per input */
#define MAX_REQUESTS 16  /* pipelined requests served per input */

/* The client's side of the connection: what is left to send, and how much per receive. */
typedef struct feed {
	const uint8_t *p;
	size_t left, step;
} feed;

/* What corio__hserver_recv does for read_head and body_more: the next bytes land at the
 * start of the connection's buffer. Their count, 0 at EOF. */
static size_t recv_next(corio__hserver_conn *c, feed *in)
{
	size_t n = in->left < in->step ? in->left : in->step;

	if (n > c->cap)
		n = c->cap;
	memcpy(c->buf, in->p, n);
	in->p += n;
	in->left -= n;
	c->rpos = 0;
	c->wpos = n;
	return n;
}

/* A stored string: offset and length inside the arena, NUL right after. */
static void check_stored(const corio_http_in *r, uint32_t off, uint32_t len)
{
	FUZZ_CHECK(off <= r->arena.len && len < r->arena.len - off);
	FUZZ_CHECK(r->arena.p[off + len] == '\0');
}

static void check_fields(const corio__hserver_conn *c)
{
	const corio_http_in *r = &c->req;
	const corio_http_server_opts *o = &c->hl->srv->o;

	FUZZ_CHECK(r->arena.len <= r->arena.cap);
	/* once the head is in, one more: the Host field an absolute-form target's authority
	 * becomes (parser.c, authority_as_host) */
	FUZZ_CHECK(r->nhdrs <= r->hcap && r->nhdrs <= o->max_headers + r->headers_done);
	/* Bounded by the limit: put_limited counts every byte but the NULs (two per field,
	 * one after the target) and the field being stored. */
	if (!r->headers_done)
		FUZZ_CHECK(r->arena.len <= o->max_header_bytes + 2 * (size_t)(r->nhdrs + 1) + 1);
	for (unsigned i = 0; i < r->nhdrs; i++) {
		const corio__hserver_field *h = &r->hdrs[i];

		check_stored(r, h->name, h->name_len);
		check_stored(r, h->value, h->value_len);
		FUZZ_CHECK(!memchr(r->arena.p + h->value, '\r', h->value_len));
		FUZZ_CHECK(!memchr(r->arena.p + h->value, '\n', h->value_len));
	}
}

/* One parser run over [rpos, wpos), with the checks of what it leaves behind. */
static llhttp_errno_t execute(corio__hserver_conn *c, uint64_t *body_seen)
{
	corio_http_in *r = &c->req;
	size_t before = c->rpos;
	llhttp_errno_t err = corio__hserver_parser_execute(c);

	FUZZ_CHECK(before <= c->rpos && c->rpos <= c->wpos && c->wpos <= c->cap);
	/* The decoded body: from where this run started, never past what it consumed. */
	FUZZ_CHECK(r->bptr == c->buf + before);
	FUZZ_CHECK(r->bwr >= r->bptr && r->bwr <= c->buf + c->rpos);
	FUZZ_CHECK(r->blen == (size_t)(r->bwr - r->bptr));
	*body_seen += r->blen;
	/* every byte counted was delivered, but the span that broke max_body_bytes */
	FUZZ_CHECK(*body_seen == r->body_read || r->body_err == -EMSGSIZE);
	check_fields(c);
	return err;
}

/* read_head of conn.c without the socket: 0 (the handler would run), > 0 the status of the
 * error answer, -1 EOF. */
static int read_head(corio__hserver_conn *c, feed *in, uint64_t *body_seen)
{
	corio_http_in *r = &c->req;
	size_t max = c->hl->srv->o.max_header_bytes;
	int st;

	for (;;) {
		if (c->rpos < c->wpos) {
			llhttp_errno_t err = execute(c, body_seen);

			if (err == HPE_PAUSED && r->headers_done)
				break;
			if (err != HPE_OK)
				return r->err_status ? r->err_status : 400;
			if (r->hdr_raw > max)
				return 431;
			continue;
		}
		if (recv_next(c, in) == 0)
			return -1;
	}
	if (r->hdr_raw > max)
		return 431;
	st = corio__hserver_parser_finish_headers(c);
	if (st == 0 && r->content_length == 0 && !r->chunked && execute(c, body_seen) != HPE_PAUSED)
		return 400;
	return st;
}

/* What finish_headers promises of a request it accepted. */
static void check_accepted(const corio_http_in *r)
{
	const char *name, *value;

	FUZZ_CHECK(r->method && r->target && r->path && r->query);
	FUZZ_CHECK(r->version == 10 || r->version == 11);
	FUZZ_CHECK(r->version == 10 ? r->hosts <= 1 : r->hosts == 1);
	FUZZ_CHECK(r->chunked == (r->content_length == -1));
	FUZZ_CHECK(r->content_length >= -1);
	FUZZ_CHECK(r->target == r->arena.p + r->url_off && strlen(r->target) == r->url_len);
	for (size_t i = 0; i < corio_http_in_header_count(r); i++) {
		FUZZ_CHECK(corio_http_in_header_at(r, i, &name, &value) == 0);
		FUZZ_CHECK(corio_http_in_header(r, name) != NULL);
	}
	FUZZ_CHECK(corio_http_in_header_at(r, corio_http_in_header_count(r), &name, &value) ==
		   -ENOENT);
}

/* body_more of body.c without the socket, until the message's end. False when the body
 * failed (the connection would close). */
static bool read_body(corio__hserver_conn *c, feed *in, uint64_t *body_seen)
{
	corio_http_in *r = &c->req;

	while (!r->msg_done) {
		llhttp_errno_t err;

		if (c->rpos == c->wpos) {
			if (recv_next(c, in) > 0)
				continue;
			/* EOF: a request body is never EOF-delimited, so this fails it */
			return llhttp_finish(&c->parser) == HPE_OK && r->msg_done;
		}
		err = execute(c, body_seen);
		if (err != HPE_OK && !((err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) && r->msg_done))
			return false;
	}
	if (!r->chunked)
		FUZZ_CHECK(r->body_read == (uint64_t)r->content_length);
	return true;
}

/* One request, as serve() in conn.c handles it. True when the connection is kept. */
static bool serve_one(corio__hserver_conn *c, feed *in)
{
	uint64_t body_seen = 0;
	bool keep;

	corio__hserver_parser_next(c);
	if (read_head(c, in, &body_seen) != 0)
		return false;
	check_accepted(&c->req);
	keep = corio__hserver_parser_keep_alive(c) && !c->req.upgrade;
	return read_body(c, in, &body_seen) && keep;
}

static void set_limits(corio_http_server_opts *o, uint8_t b)
{
	static const size_t header_bytes[] = { 16384, 64, 256, 1024 };
	static const unsigned headers[] = { 100, 1, 4, 16 };
	static const uint64_t body_bytes[] = { 16u << 20, UINT64_MAX, 16, 1024 };

	o->max_header_bytes = header_bytes[b & 3];
	o->max_headers = headers[(b >> 2) & 3];
	o->max_body_bytes = body_bytes[(b >> 4) & 3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	corio_http_server srv = { 0 };
	corio__hserver_loop hl = { .srv = &srv };
	corio__hserver_conn c = { .hl = &hl, .fd = -1, .cap = READ_BUFFER };
	feed in;

	if (size < 2)
		return 0;
	set_limits(&srv.o, data[1]);
	in = (feed){ data + 2, size - 2, data[0] ? data[0] : SIZE_MAX };
	c.buf = malloc(c.cap);
	FUZZ_CHECK(c.buf != NULL);
	corio__hserver_parser_init(&c);
	for (unsigned n = 0; n < MAX_REQUESTS && serve_one(&c, &in); n++)
		;
	/* as conn_free: parser_next frees the body copy */
	corio__hserver_parser_next(&c);
	corio__buf_free(&c.req.arena);
	free(c.req.hdrs);
	free(c.buf);
	return 0;
}
