/* http/client/response.c: owns the client's response: reading its head and body off the
 * connection through the llhttp glue (parser.c) under the request's deadlines,
 * decoding (http/common/coding.c), the body size cap, handing the connection back to the pool the
 * moment the message is complete, and the accessors. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <corio/fs.h>
#include <corio/net.h>

#include "http/client/client_internal.h"

/* A read at least this large with nothing buffered receives straight into the caller's
 * buffer: below it, one receive into ours serves several small reads. */
#define DIRECT_MIN 4096
/* The block corio_http_response_read_to_fd reads and writes. */
#define TO_FD_BLOCK 65536
/* corio_http_response_text sizes its buffer from Content-Length, but a claimed length buys
 * at most TEXT_CLAIM_MAX before the bytes arrive; without a length it starts at
 * TEXT_FIRST. */
#define TEXT_CLAIM_MAX ((size_t)16 << 20)
#define TEXT_FIRST 16384
/* The block a drain reads and drops. */
#define DRAIN_BLOCK 4096

corio_http_response *corio__hclient_response_new(corio_http_client *c, corio__hclient_conn *conn,
						 bool head, uint64_t deadline, uint64_t max_body)
{
	corio_http_response *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->client = c;
	r->conn = conn;
	r->deadline = deadline;
	r->max_body = max_body;
	corio__hclient_parser_init(&r->h, head, c->o.max_header_bytes, c->o.max_headers,
				   c->o.max_chunk_ext);
	c->refs++;
	return r;
}

uint64_t corio__hclient_io_deadline(const corio_http_response *r)
{
	uint64_t d = corio__hclient_deadline(r->client->o.read_ns);

	return d < r->deadline ? d : r->deadline;
}

/* The message is complete (or failed): the connection goes back to the pool or is
 * closed. */
static void release_conn(corio_http_response *r)
{
	corio__hclient_conn *k = r->conn;

	if (!k)
		return;
	r->conn = NULL;
	corio__hclient_release(r->client, k,
			       r->h.message_done && r->h.keep_alive && !r->h.err && !r->err);
}

static int fail(corio_http_response *r, int err)
{
	if (!r->err)
		r->err = err;
	if (r->conn)
		r->conn->broken = true;
	release_conn(r);
	return r->err;
}

/* Parses up to maxraw more bytes of the connection (receiving when nothing is buffered),
 * body bytes going to r->h's sink / pending buffer. 0, 1 when the receive timed out at
 * soft (a deadline of the caller's, not an error), or -errno. May park. */
static int pump(corio_http_response *r, size_t maxraw, uint64_t soft)
{
	corio__hclient_conn *k = r->conn;
	ssize_t n;

	if (!k)
		return r->err ? r->err : -EPIPE;
	if (k->off == k->len) {
		uint64_t d = corio__hclient_io_deadline(r);
		corio__deadline dl;

		if (soft < d)
			d = soft;
		k->off = k->len = 0;
		corio__deadline_begin(&dl, d);
		n = corio__deadline_end(&dl, corio__hclient_recv(k, k->buf, sizeof k->buf));
		if (n == -ETIMEDOUT && d == soft && corio_now() >= soft)
			return 1;
		if (n < 0)
			return n;
		if (n == 0)
			return corio__hclient_parser_eof(&r->h);
		k->len = (size_t)n;
		if (!r->h.any_byte) /* the request's hooks, while it waits for its answer */
			corio__hclient_trace_ev(r->trace, CORIO_HTTP_TRACE_FIRST_BYTE, 0, 0);
	}
	n = (ssize_t)(k->len - k->off);
	if ((size_t)n > maxraw)
		n = (ssize_t)maxraw;
	n = corio__hclient_parser_feed(&r->h, k->buf + k->off, (size_t)n);
	if (n < 0)
		return (int)n;
	k->off += (size_t)n;
	return 0;
}

int corio__hclient_read_head(corio_http_response *r, bool until_interim, uint64_t soft)
{
	while (!r->h.headers_done && !(until_interim && r->h.interim_seen)) {
		int rc = pump(r, SIZE_MAX, soft);

		if (rc != 0)
			return rc < 0 ? fail(r, rc) : rc;
	}
	if (r->h.message_done)
		release_conn(r);
	return 0;
}

void corio__hclient_response_ready(corio_http_response *r, bool decompress, uint64_t max_decoded)
{
	const char *ce;

	if (!decompress || r->h.head)
		return;
	/* Every Content-Encoding field counts: two fields are one list (RFC 9110 5.3), and
	 * decoding only the first would hand over half-decoded bytes. */
	corio__http_decoder_init(&r->dec, max_decoded);
	for (size_t i = 0; (ce = corio__hclient_parser_get(&r->h, false, "Content-Encoding", i)); i++)
		corio__http_decoder_add(&r->dec, ce);
	r->decoding = corio__http_decoder_active(&r->dec);
}

static ssize_t deliver(corio_http_response *r, ssize_t n)
{
	r->body_total += (uint64_t)n;
	if (r->body_total > r->max_body)
		return fail(r, -EFBIG);
	return n;
}

/* The body ended: a compressed stream must have ended too. */
static ssize_t finish(corio_http_response *r)
{
	if (r->decoding && !corio__http_decoder_done(&r->dec) &&
	    corio__http_decoder_started(&r->dec))
		return fail(r, -EPROTO);
	release_conn(r);
	r->eof = true;
	return 0;
}

/* A large read of a Content-Length body with nothing buffered: receive straight into the
 * caller's buffer (never past the body's end), then let llhttp account for the bytes.
 * > 0 bytes, 0 when not applicable, -errno. */
static ssize_t read_direct(corio_http_response *r, char *buf, size_t len)
{
	corio__hclient_conn *k = r->conn;
	uint64_t left = r->h.p.content_length; /* llhttp counts the body down in it */
	corio__deadline d;
	ssize_t n;

	if (!k || k->off != k->len || len < DIRECT_MIN || r->h.chunked || r->h.content_length < 0 ||
	    !r->h.headers_done || r->h.message_done || left == 0)
		return 0;
	if (len > left)
		len = (size_t)left;
	corio__deadline_begin(&d, corio__hclient_io_deadline(r));
	n = corio__deadline_end(&d, corio__hclient_recv(k, buf, len));
	if (n == 0)
		n = corio__hclient_parser_eof(&r->h);
	if (n <= 0)
		return n < 0 ? n : -EPROTO;
	r->h.sink = buf;
	r->h.sink_cap = (size_t)n;
	r->h.sink_len = 0;
	n = corio__hclient_parser_feed(&r->h, buf, (size_t)n);
	r->h.sink = NULL;
	if (n < 0)
		return n;
	return (ssize_t)r->h.sink_len;
}

static ssize_t read_plain(corio_http_response *r, char *buf, size_t len)
{
	for (;;) {
		size_t have = corio__hclient_parser_pending(&r->h);
		ssize_t n;
		int rc;

		if (have) {
			if (have > len)
				have = len;
			memcpy(buf, r->h.pend.p + r->h.pend_off, have);
			r->h.pend_off += have;
			return deliver(r, (ssize_t)have);
		}
		if (r->h.message_done)
			return finish(r);
		n = read_direct(r, buf, len);
		if (n < 0)
			return fail(r, (int)n);
		if (n > 0) {
			if (r->h.message_done)
				release_conn(r);
			return deliver(r, n);
		}
		/* Into the caller's buffer from ours: at most len raw bytes are parsed, and
		 * framing never makes the body longer than the bytes that carry it. */
		r->h.sink = buf;
		r->h.sink_cap = len;
		r->h.sink_len = 0;
		rc = pump(r, len, UINT64_MAX);
		r->h.sink = NULL;
		if (rc < 0)
			return fail(r, rc);
		if (r->h.message_done)
			release_conn(r);
		if (r->h.sink_len)
			return deliver(r, (ssize_t)r->h.sink_len);
	}
}

/* Decoding runs before every receive: the layers may hold output from input already
 * taken (zlib's window, the buffers between layers), which must not wait for more. */
static ssize_t read_decoded(corio_http_response *r, char *buf, size_t len)
{
	for (;;) {
		size_t have = corio__hclient_parser_pending(&r->h), used = 0;
		const char *src = have ? r->h.pend.p + r->h.pend_off : "";
		ssize_t n;
		int rc;

		n = corio__http_decode(&r->dec, src, have, &used, buf, len);
		if (n < 0)
			return fail(r, (int)n);
		r->h.pend_off += used;
		if (n > 0)
			return deliver(r, n);
		if (used && corio__hclient_parser_pending(&r->h))
			continue;
		if (r->h.message_done)
			return finish(r);
		/* The connection stays with r until the stream decoded cleanly (finish): a
		 * corrupt or oversized body closes it, as any other error does. */
		rc = pump(r, SIZE_MAX, UINT64_MAX);
		if (rc < 0)
			return fail(r, rc);
	}
}

ssize_t corio_http_response_read(corio_http_response *r, void *buf, size_t len)
{
	if (!r || (!buf && len))
		return -EINVAL;
	if (r->err)
		return r->err;
	if (r->eof)
		return 0;
	if (len == 0)
		return 0;
	if (!corio_current())
		return -EPERM;
	return r->decoding ? read_decoded(r, buf, len) : read_plain(r, buf, len);
}

int64_t corio_http_response_read_to_fd(corio_http_response *r, int fd)
{
	const size_t cap = TO_FD_BLOCK;
	char *buf;
	int64_t total = 0;

	if (!r || fd < 0)
		return -EINVAL;
	buf = malloc(cap); /* coroutine stacks are small: never 64 KiB on the stack */
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = corio_http_response_read(r, buf, cap), w;

		if (n <= 0) {
			free(buf);
			return n < 0 ? n : total;
		}
		w = corio_write_all(fd, buf, (size_t)n, -1);
		if (w < 0) {
			free(buf);
			return w;
		}
		total += n;
	}
}

/* corio_http_response_text's first size: Content-Length + 1 (up to TEXT_CLAIM_MAX), or
 * TEXT_FIRST when the length is unknown or the body is decoded. */
static size_t text_first_cap(const corio_http_response *r)
{
	if (r->decoding || r->h.content_length <= 0 || r->h.head)
		return TEXT_FIRST;
	return (size_t)(r->h.content_length < (int64_t)TEXT_CLAIM_MAX ? r->h.content_length
								       : (int64_t)TEXT_CLAIM_MAX) + 1;
}

/* Reads the whole body into t (NUL-terminated). 0 or -errno (t is then the caller's to
 * free). */
static int read_text(corio_http_response *r, corio__buf *t)
{
	size_t first = text_first_cap(r);

	/* max = first: the size is exactly the claimed length + 1, not buf.h's power of 2 */
	if (corio__buf_reserve_max(t, first, first) != 0)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (t->cap - t->len < 2 && r->h.message_done && !r->decoding &&
		    !corio__hclient_parser_pending(&r->h)) {
			finish(r); /* exactly Content-Length bytes: no need to grow */
			break;
		}
		/* Doubles (need = cap + 1); small buffers keep 4 KiB of room per read. */
		if (t->cap - t->len < (t->cap > TEXT_FIRST ? 2 : 4096) &&
		    corio__buf_reserve(t, t->cap - t->len + 1) != 0)
			return -ENOMEM;
		n = corio_http_response_read(r, t->p + t->len, t->cap - t->len - 1);
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		t->len += (size_t)n;
	}
	t->p[t->len] = 0;
	return 0;
}

int corio_http_response_text(corio_http_response *r, const char **body, size_t *len)
{
	if (!r)
		return -EINVAL;
	if (!r->text) {
		corio__buf t = CORIO__BUF_INIT;
		int rc;

		if (r->err)
			return r->err;
		if (!r->decoding && r->h.content_length > 0 &&
		    (uint64_t)r->h.content_length > r->max_body)
			return fail(r, -EFBIG);
		rc = read_text(r, &t);
		if (rc < 0) {
			corio__buf_free(&t);
			return rc;
		}
		r->text = t.p;
		r->text_len = t.len;
	}
	if (body)
		*body = r->text;
	if (len)
		*len = r->text_len;
	return 0;
}

void corio__hclient_drain(corio_http_response *r, size_t max)
{
	char *buf;

	if (!r->conn || r->err)
		return;
	/* Only what is already buffered, plus up to max more bytes. */
	buf = malloc(DRAIN_BLOCK);
	if (!buf)
		return;
	while (r->conn && !r->h.message_done && max > 0 && !r->err) {
		ssize_t n = read_plain(r, buf, DRAIN_BLOCK); /* raw: drained bytes are not looked at */

		if (n <= 0)
			break;
		max = (size_t)n >= max ? 0 : max - (size_t)n;
	}
	free(buf);
}

/* Completes the message from what is already buffered, without any I/O, so that a
 * response freed unread can still give its connection back. */
static void finish_buffered(corio_http_response *r)
{
	corio__hclient_conn *k = r->conn;

	while (k && !r->h.message_done && !r->h.err && k->off < k->len) {
		ssize_t n = corio__hclient_parser_feed(&r->h, k->buf + k->off, k->len - k->off);

		if (n < 0)
			break;
		k->off += (size_t)n;
		r->h.pend_off = r->h.pend.len = 0; /* nobody will read it */
	}
}

void corio_http_response_free(corio_http_response *r)
{
	corio_http_client *c;

	if (!r)
		return;
	c = r->client;
	if (r->conn && !r->err) {
		finish_buffered(r);
		if (!r->h.message_done || r->h.err)
			r->conn->broken = true;
	}
	release_conn(r);
	corio__http_decoder_free(&r->dec);
	corio__hclient_parser_free(&r->h);
	free(r->text);
	free(r->url);
	corio_url_free(&r->final);
	free(r);
	corio__hclient_unref(c);
}

/* ---- accessors ---------------------------------------------------------------------- */

int corio_http_response_status(const corio_http_response *r)
{
	return r ? r->h.status : -EINVAL;
}

const char *corio_http_response_reason(const corio_http_response *r)
{
	return r && r->h.has_reason ? r->h.hdr.arena.p : "";
}

int corio_http_response_version(const corio_http_response *r)
{
	return r ? r->h.version : -EINVAL;
}

/* The string is made on first use (most callers never ask): the cache is the only
 * state this const accessor changes. NULL when out of memory. */
const char *corio_http_response_url(const corio_http_response *r)
{
	corio_http_response *w = (corio_http_response *)r;

	if (!r)
		return NULL;
	if (!w->url && w->final.scheme)
		w->url = corio_url_string(&w->final);
	return w->url;
}

unsigned corio_http_response_redirects(const corio_http_response *r)
{
	return r ? r->redirects : 0;
}

const char *corio_http_response_header(const corio_http_response *r, const char *name)
{
	return r && name ? corio__hclient_parser_get(&r->h, false, name, 0) : NULL;
}

const char *corio_http_response_header_n(const corio_http_response *r, const char *name,
					 size_t i)
{
	return r && name ? corio__hclient_parser_get(&r->h, false, name, i) : NULL;
}

size_t corio_http_response_header_count(const corio_http_response *r)
{
	return r && r->h.headers_done ? r->h.hdr.n : 0;
}

int corio_http_response_header_at(const corio_http_response *r, size_t i, const char **name,
				  const char **value)
{
	if (!r || !r->h.headers_done || i >= r->h.hdr.n)
		return -ENOENT;
	if (name)
		*name = r->h.hdr.arena.p + r->h.hdr.f[i].name;
	if (value)
		*value = r->h.hdr.arena.p + r->h.hdr.f[i].value;
	return 0;
}

const char *corio_http_response_trailer(const corio_http_response *r, const char *name)
{
	return r && name ? corio__hclient_parser_get(&r->h, true, name, 0) : NULL;
}

int64_t corio_http_response_content_length(const corio_http_response *r)
{
	return r ? r->h.content_length : -1;
}
