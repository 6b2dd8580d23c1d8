/* http/client/parser.c: owns the llhttp callbacks of the client's response parser (see
 * parser.h for what it guards against). Never parks, never does I/O. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/client/parser.h"
#include "http/common/coding.h"

#define H(p) ((corio__hclient_parser *)(p)->data)

static int fail(corio__hclient_parser *h, int err)
{
	if (!h->err)
		h->err = err;
	return -1;
}

static int arena_put(corio__hclient_fields *fs, const char *p, size_t n)
{
	return corio__buf_append(&fs->arena, p, n) == 0 ? 0 : -ENOMEM;
}

static corio__hclient_fields *cur_fields(corio__hclient_parser *h)
{
	return h->headers_done ? &h->trl : &h->hdr;
}

/* Terminates what the last span callback was building. */
static int close_span(corio__hclient_parser *h)
{
	corio__hclient_fields *fs = cur_fields(h);

	if (h->last == CORIO__HCLIENT_SPAN_NAME) { /* a field with no value callback: empty value */
		if (arena_put(fs, "", 1) != 0)
			return -ENOMEM;
		fs->f[fs->n - 1].value = (uint32_t)fs->arena.len;
		return arena_put(fs, "", 1);
	}
	if (h->last == CORIO__HCLIENT_SPAN_VALUE) {
		/* llhttp leaves trailing whitespace in the value (OWS, RFC 9110 5.5) */
		size_t start = fs->f[fs->n - 1].value;

		while (fs->arena.len > start && (fs->arena.p[fs->arena.len - 1] == ' ' ||
					   fs->arena.p[fs->arena.len - 1] == '\t'))
			fs->arena.len--;
	}
	if (h->last == CORIO__HCLIENT_SPAN_VALUE || h->last == CORIO__HCLIENT_SPAN_STATUS)
		return arena_put(fs, "", 1);
	return 0;
}

static int count_bytes(corio__hclient_parser *h, size_t n)
{
	h->header_bytes += n;
	return h->header_bytes > h->max_header_bytes ? -EMSGSIZE : 0;
}

/* Status-line bytes following the version, from at to the end of the current feed. */
static void sl_take(corio__hclient_parser *h, const char *at, const char *end)
{
	while (h->sl_len < sizeof h->sl && at < end)
		h->sl[h->sl_len++] = *at++;
}

static int on_version(llhttp_t *p, const char *at, size_t n)
{
	corio__hclient_parser *h = H(p);

	/* Called again when the version was split between two feeds: the later call sees
	 * the bytes after it. */
	h->sl_armed = true;
	h->sl_len = 0;
	sl_take(h, at + n, h->feed_end);
	return 0;
}

/* RFC 9112 4: HTTP/1.x, SP, a status code of exactly three digits in 100..599 (RFC 9110
 * 15), then SP and a reason or the line's end. */
static bool status_line_ok(const corio__hclient_parser *h)
{
	const char *s = h->sl;
	int st = h->p.status_code;

	return h->p.http_major == 1 && h->sl_len == sizeof h->sl && s[0] == ' ' &&
	       s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] >= '0' &&
	       s[3] <= '9' && (s[4] == ' ' || s[4] == '\r') && st >= 100 && st <= 599;
}

/* reason-phrase = *( HTAB / SP / VCHAR / obs-text ): no NUL or other control byte. */
static bool reason_ok(const char *at, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)at[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static int on_status(llhttp_t *p, const char *at, size_t n)
{
	corio__hclient_parser *h = H(p);

	if (!reason_ok(at, n))
		return fail(h, -EBADMSG);
	h->last = CORIO__HCLIENT_SPAN_STATUS;
	h->has_reason = true;
	if (count_bytes(h, n) != 0)
		return fail(h, -EMSGSIZE);
	return arena_put(&h->hdr, at, n) == 0 ? 0 : fail(h, -ENOMEM);
}

static int on_field(llhttp_t *p, const char *at, size_t n)
{
	corio__hclient_parser *h = H(p);
	corio__hclient_fields *fs = cur_fields(h);

	if (count_bytes(h, n) != 0)
		return fail(h, -EMSGSIZE);
	if (h->last != CORIO__HCLIENT_SPAN_NAME) {
		if (close_span(h) != 0)
			return fail(h, -ENOMEM);
		if (fs->n >= h->max_headers)
			return fail(h, -EMSGSIZE);
		if (fs->n == fs->fcap) {
			size_t nc = fs->fcap ? fs->fcap * 2 : 16;
			corio__hclient_field *nf = realloc(fs->f, nc * sizeof *nf);

			if (!nf)
				return fail(h, -ENOMEM);
			fs->f = nf;
			fs->fcap = nc;
		}
		fs->f[fs->n].name = (uint32_t)fs->arena.len;
		fs->f[fs->n].value = 0;
		fs->n++;
		h->header_bytes += 4; /* ": " and CRLF */
		h->last = CORIO__HCLIENT_SPAN_NAME;
	}
	return arena_put(fs, at, n) == 0 ? 0 : fail(h, -ENOMEM);
}

static int on_value(llhttp_t *p, const char *at, size_t n)
{
	corio__hclient_parser *h = H(p);
	corio__hclient_fields *fs = cur_fields(h);
	char before = at > h->feed_base ? at[-1] : h->prev;

	if (n == 0) /* llhttp reports an empty value as an empty span after the line end */
		return 0;
	/* llhttp 8.1.0 accepts obsolete line folding and hands the continuation line over as
	 * another span of the value: a value span right after a line break is a fold. */
	if (before == '\n' || before == '\r')
		return fail(h, -EBADMSG);
	if (count_bytes(h, n) != 0)
		return fail(h, -EMSGSIZE);
	if (h->last == CORIO__HCLIENT_SPAN_NAME) {
		if (arena_put(fs, "", 1) != 0)
			return fail(h, -ENOMEM);
		fs->f[fs->n - 1].value = (uint32_t)fs->arena.len;
		h->last = CORIO__HCLIENT_SPAN_VALUE;
	}
	return arena_put(fs, at, n) == 0 ? 0 : fail(h, -ENOMEM);
}

static int on_chunk_ext(llhttp_t *p, const char *at, size_t n)
{
	corio__hclient_parser *h = H(p);

	h->chunk_ext += n;
	return h->chunk_ext > h->max_chunk_ext ? fail(h, -EMSGSIZE) : 0;
}

static int on_chunk_complete(llhttp_t *p)
{
	H(p)->chunk_ext = 0;
	return 0;
}

/* The message's Transfer-Encoding: 0 when absent or a lone chunked, -EBADMSG otherwise
 * (llhttp 8.1.0 frames "gzip, chunked" as chunked and would hand over gzip bytes as the
 * body; any other coding it would read to EOF). */
static int check_te(corio__hclient_parser *h)
{
	corio__http_te te = {0};

	if (!(h->p.flags & F_TRANSFER_ENCODING))
		return 0;
	for (size_t k = 0; k < h->hdr.n; k++)
		if (strcasecmp(h->hdr.arena.p + h->hdr.f[k].name, "Transfer-Encoding") == 0)
			corio__http_te_add(&te, h->hdr.arena.p + h->hdr.f[k].value);
	return corio__http_te_chunked_only(&te) ? 0 : -EBADMSG;
}

static int on_headers_complete(llhttp_t *p)
{
	corio__hclient_parser *h = H(p);
	int st = p->status_code;
	bool bodyless = h->head || st == 204 || st == 304 || (st == 101 && h->upgrade);

	if (close_span(h) != 0)
		return fail(h, -ENOMEM);
	h->last = CORIO__HCLIENT_SPAN_NONE;
	h->chunk_ext = 0;
	if (!status_line_ok(h))
		return fail(h, -EBADMSG);
	h->sl_armed = false;
	if (st == 101 && !h->upgrade)
		return fail(h, -EBADMSG); /* never asked for an upgrade */
	if (st >= 100 && st < 200 && st != 101)
		return 1; /* interim: no body; the final response follows */
	if (!bodyless && check_te(h) != 0)
		return fail(h, -EBADMSG);
	/* llhttp takes any length up to UINT64_MAX. Above INT64_MAX it would be stored as a
	 * negative number, which says "no Content-Length" (read to EOF) to every reader: a
	 * length no body can have is a broken message, not an absent one. */
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > INT64_MAX)
		return fail(h, -EBADMSG);
	h->headers_done = true;
	h->status = st;
	h->version = p->http_major * 10 + p->http_minor;
	/* RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means its framing is faulty:
	 * the message is read as framed, then the connection is closed. */
	h->must_close = h->version < 11 && (p->flags & F_TRANSFER_ENCODING);
	h->chunked = (p->flags & F_CHUNKED) != 0;
	h->content_length = (p->flags & F_CONTENT_LENGTH) ? (int64_t)p->content_length : -1;
	h->last = CORIO__HCLIENT_SPAN_NONE;
	/* Pausing here stops the parser right after the head, so that body bytes are parsed
	 * later straight into the reader's buffer. Returning 1 (no body) cannot be combined
	 * with a pause, so the flag that 1 would set is set by hand: on resume llhttp 8.1.0
	 * continues in after_headers_complete, which reads it. */
	if (bodyless)
		p->flags |= F_SKIPBODY;
	return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
	corio__hclient_parser *h = H(p);

	if (h->sink && h->sink_len < h->sink_cap) {
		size_t k = h->sink_cap - h->sink_len;

		if (k > n)
			k = n;
		/* memmove: a body received straight into the sink is "copied" onto itself */
		memmove(h->sink + h->sink_len, at, k);
		h->sink_len += k;
		at += k;
		n -= k;
	}
	if (n == 0)
		return 0;
	if (h->pend_off == h->pend.len)
		h->pend_off = h->pend.len = 0;
	return corio__buf_append(&h->pend, at, n) == 0 ? 0 : fail(h, -ENOMEM);
}

static int on_message_complete(llhttp_t *p)
{
	corio__hclient_parser *h = H(p);

	if (!h->headers_done) { /* the end of a 1xx: forget it, parse the final response */
		h->hdr.arena.len = h->hdr.n = 0;
		h->header_bytes = 0;
		h->has_reason = false;
		h->last = CORIO__HCLIENT_SPAN_NONE;
		h->interim_seen = true;
		return 0;
	}
	if (close_span(h) != 0)
		return fail(h, -ENOMEM);
	h->last = CORIO__HCLIENT_SPAN_NONE;
	h->message_done = true;
	/* Must be asked here: llhttp clears the flags it depends on right after. */
	h->keep_alive = llhttp_should_keep_alive(p) != 0 && !h->must_close;
	return HPE_PAUSED; /* stop at the message's last byte */
}

static const llhttp_settings_t settings = {
	.on_version = on_version,
	.on_status = on_status,
	.on_header_field = on_field,
	.on_header_value = on_value,
	.on_chunk_extension_name = on_chunk_ext,
	.on_chunk_extension_value = on_chunk_ext,
	.on_chunk_complete = on_chunk_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void corio__hclient_parser_init(corio__hclient_parser *h, bool head, size_t max_header_bytes,
				size_t max_headers, size_t max_chunk_ext)
{
	memset(h, 0, sizeof *h);
	llhttp_init(&h->p, HTTP_RESPONSE, &settings);
	h->p.data = h;
	h->head = head;
	/* Fields are kept at 32-bit offsets in their arena: "no limit" still stops below. */
	h->max_header_bytes = max_header_bytes < UINT32_MAX / 2 ? max_header_bytes : UINT32_MAX / 2;
	h->max_headers = max_headers;
	h->max_chunk_ext = max_chunk_ext;
	h->content_length = -1;
}

void corio__hclient_parser_free(corio__hclient_parser *h)
{
	corio__buf_free(&h->hdr.arena);
	free(h->hdr.f);
	corio__buf_free(&h->trl.arena);
	free(h->trl.f);
	corio__buf_free(&h->pend);
	memset(h, 0, sizeof *h);
}

static int map_err(corio__hclient_parser *h, llhttp_errno_t e)
{
	if (h->err)
		return h->err;
	return e == HPE_INVALID_EOF_STATE ? -EPROTO : -EBADMSG;
}

ssize_t corio__hclient_parser_feed(corio__hclient_parser *h, const char *data, size_t len)
{
	llhttp_errno_t e;
	size_t used = len;
	bool was_done = h->headers_done;

	if (h->err)
		return h->err;
	if (h->message_done || (len == 0 && !h->headers_done))
		return 0;
	if (!data)
		data = "";
	h->any_byte = h->any_byte || len > 0;
	h->feed_base = data;
	h->feed_end = data + len;
	/* Bytes of the status line after the version, when the version ended the last feed
	 * (llhttp consumes every byte before the head's end: they come next). */
	if (h->sl_armed)
		sl_take(h, data, data + len);
	e = llhttp_execute(&h->p, data, len);
	if (e == HPE_PAUSED) {
		used = (size_t)(llhttp_get_error_pos(&h->p) - data);
		if (!h->message_done) {
			llhttp_resume(&h->p);
			/* A message without a body completes without another byte. */
			if (!was_done && h->headers_done) {
				h->feed_base = data + used;
				e = llhttp_execute(&h->p, data + used, 0);
				if (e != HPE_OK && !(e == HPE_PAUSED && h->message_done))
					return h->err = map_err(h, e);
			}
		}
	} else if (e != HPE_OK) {
		return h->err = map_err(h, e);
	}
	if (used > 0)
		h->prev = data[used - 1];
	/* Header bytes llhttp skipped without a callback (whitespace) count too. */
	if (!was_done) {
		h->raw_before_headers += used;
		if (h->raw_before_headers > h->max_header_bytes + 1024)
			return h->err = -EMSGSIZE;
	}
	return (ssize_t)used;
}

int corio__hclient_parser_eof(corio__hclient_parser *h)
{
	llhttp_errno_t e;

	if (h->err)
		return h->err;
	if (h->message_done)
		return 0;
	if (!h->any_byte)
		return h->err = -ECONNRESET;
	e = llhttp_finish(&h->p);
	if ((e == HPE_OK || e == HPE_PAUSED) && h->message_done)
		return 0;
	if (e == HPE_OK || e == HPE_INVALID_EOF_STATE)
		return h->err = h->err ? h->err : -EPROTO;
	return h->err = map_err(h, e);
}

const char *corio__hclient_parser_get(const corio__hclient_parser *h, bool trl, const char *name,
				      size_t i)
{
	const corio__hclient_fields *fs = trl ? &h->trl : &h->hdr;

	if (!trl && !h->headers_done)
		return NULL;
	if (trl && !h->message_done)
		return NULL;
	for (size_t k = 0; k < fs->n; k++)
		if (strcasecmp(fs->arena.p + fs->f[k].name, name) == 0 && i-- == 0)
			return fs->arena.p + fs->f[k].value;
	return NULL;
}
