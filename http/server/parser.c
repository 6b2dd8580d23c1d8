/* http/server/parser.c: the llhttp 8.1.0 glue of the server: request parsing into the request's
 * arena (target, header names and values), the limits llhttp does not have (header bytes and
 * count, chunk-extension and trailer bytes, body size), obs-fold rejection, and the checks
 * made once the headers are complete (Host, Transfer-Encoding, Expect, HTTP version), and the
 * request-target split into path and query (RFC 9112 3.2) with the Host syntax it shares.
 *
 * The parser is paused (HPE_PAUSED) at the end of the headers, so the handler runs before
 * the body is parsed, and at the end of each message, so pipelined requests behind it stay
 * unparsed until its response has been written. Body bytes are decoded in place: on_body
 * moves each span down to the write cursor req.bwr inside the connection's buffer (a no-op
 * for Content-Length bodies), so the decoded body is one contiguous run [bptr, bwr). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/server/server_internal.h"

#define MAX_EXT_BYTES 16384 /* chunk extensions plus trailers, per request */

static corio__hserver_conn *conn_of(llhttp_t *p)
{
	return (corio__hserver_conn *)p->data;
}

static int fail(corio_http_in *r, int status)
{
	if (!r->err_status)
		r->err_status = status;
	return -1;
}

/* Where at lies in the arena, as an offset, or SIZE_MAX when it lies elsewhere (llhttp's
 * input, a literal). Compared as integers: the pointers may belong to different objects. */
static size_t arena_offset(const corio_http_in *r, const char *at)
{
	uintptr_t a = (uintptr_t)r->arena.p, p = (uintptr_t)at;

	return r->arena.p && p >= a && p - a < r->arena.cap ? (size_t)(p - a) : SIZE_MAX;
}

/* The arena's first size: a typical request head fits without a second allocation. */
#define ARENA_FIRST 1024

/* Appends len bytes from at. at may point into the arena itself (split_target copies a part
 * of the stored target): growing moves the arena, so such a source is followed by its
 * offset, never read through the old pointer. */
static int arena_put(corio_http_in *r, const char *at, size_t len)
{
	size_t off = arena_offset(r, at);
	size_t want = !r->arena.cap && len + 1 < ARENA_FIRST ? ARENA_FIRST : len + 1;

	if (corio__buf_reserve(&r->arena, want) != 0)
		return -1;
	if (off != SIZE_MAX)
		at = r->arena.p + off;
	/* Copied by hand, not corio__buf_append: the source may be inside the arena (it ends
	 * before arena.len, so the copy never overlaps). */
	memcpy(r->arena.p + r->arena.len, at, len);
	r->arena.len += len;
	return 0;
}

/* Everything stored for the headers counts against max_header_bytes (the raw count is
 * checked by the caller after each run: this one bounds a single run). */
static int put_limited(corio__hserver_conn *c, const char *at, size_t len, int status)
{
	corio_http_in *r = &c->req;

	if (r->arena.len + len > c->hl->srv->o.max_header_bytes)
		return fail(r, status);
	return arena_put(r, at, len) == 0 ? 0 : fail(r, 500);
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	return put_limited(conn_of(p), at, len, 414);
}

static int on_url_complete(llhttp_t *p)
{
	corio_http_in *r = &conn_of(p)->req;

	r->url_len = (uint32_t)(r->arena.len - r->url_off);
	return arena_put(r, "", 1) == 0 ? 0 : fail(r, 500);
}

/* ---- the request-target and Host (RFC 9112 3.2, RFC 3986 3.2.2) --------------------------- */

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_hex(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* unreserved / sub-delims: what a reg-name holds besides pct-encoded bytes. */
static bool is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
	       (ch && strchr("-._~!$&'()*+,;=", ch));
}

/* IP-literal without its brackets: an IPv6 address, or IPvFuture ("v" 1*HEXDIG "." ...). */
static bool ip_literal_ok(const char *s, size_t n)
{
	char a[INET6_ADDRSTRLEN];
	struct in6_addr ip;
	size_t i = 1;

	if (n && (s[0] == 'v' || s[0] == 'V')) {
		while (i < n && is_hex(s[i]))
			i++;
		if (i == 1 || i + 1 >= n || s[i++] != '.')
			return false;
		for (; i < n; i++)
			if (!is_name_char(s[i]) && s[i] != ':')
				return false;
		return true;
	}
	if (n >= sizeof a)
		return false;
	memcpy(a, s, n);
	a[n] = '\0';
	return inet_pton(AF_INET6, a, &ip) == 1;
}

/* uri-host [":" port], the Host field's syntax (an IPv4 address is a reg-name by its
 * characters). need_host: an empty host is invalid too (an http URI's authority). */
static bool host_ok(const char *s, size_t n, bool need_host)
{
	size_t i = 0;

	if (n && s[0] == '[') {
		const char *e = memchr(s, ']', n);

		if (!e || !ip_literal_ok(s + 1, (size_t)(e - s) - 1))
			return false;
		i = (size_t)(e - s) + 1;
	}
	for (; i < n && s[i] != ':'; i++) {
		if (s[0] == '[')
			return false; /* bytes after the ']' */
		if (s[i] == '%') {
			if (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
				return false;
			i += 2;
		} else if (!is_name_char(s[i])) {
			return false;
		}
	}
	if (need_host && i == 0)
		return false;
	for (i += i < n; i < n; i++) /* past the ':', the port's digits */
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* Where a request-target's parts lie, as offsets into it. */
typedef struct target_parts {
	size_t auth, auth_len; /* absolute-form: the authority; auth_len 0 otherwise */
	size_t path, path_len; /* path_len 0: an absolute-form without path, which means "/" */
	size_t query;          /* after the '?', or SIZE_MAX */
} target_parts;

/* The length of an "http://" or "https://" prefix (any case), 0 for anything else. */
static size_t http_scheme_len(const char *t)
{
	if (strncasecmp(t, CORIO__LIT("http://")) == 0)
		return CORIO__SLEN("http://");
	if (strncasecmp(t, CORIO__LIT("https://")) == 0)
		return CORIO__SLEN("https://");
	return 0;
}

/* Splits t (RFC 9112 3.2): origin-form "/p?q"; absolute-form "http://host:port/p?q" (no
 * userinfo, the path ends at '?' or the end, so "http://x?y=/a" is the path "/"); "*" for
 * OPTIONS only. Authority-form is CONNECT's, refused elsewhere. No fragment in any form.
 * 0, or 400. */
static int target_split(const char *t, bool options, target_parts *o)
{
	size_t i = 0, sl;

	*o = (target_parts){ .query = SIZE_MAX };
	if (strchr(t, '#'))
		return 400;
	if (t[0] == '*' && t[1] == '\0') {
		o->path_len = 1;
		return options ? 0 : 400;
	}
	if (t[0] != '/') {
		if (!(sl = http_scheme_len(t)))
			return 400;
		o->auth = sl;
		o->auth_len = strcspn(t + sl, "/?");
		if (memchr(t + sl, '@', o->auth_len) || !host_ok(t + sl, o->auth_len, true))
			return 400;
		i = sl + o->auth_len;
	}
	o->path = i;
	o->path_len = strcspn(t + i, "?");
	if (t[i + o->path_len] == '?')
		o->query = i + o->path_len + 1;
	return 0;
}

/* ---- the parser's callbacks --------------------------------------------------------------- */

static int trailer_bytes(corio__hserver_conn *c, size_t len)
{
	c->req.ext_bytes += len;
	return c->req.ext_bytes > MAX_EXT_BYTES ? fail(&c->req, 400) : 0;
}

/* Closes the value of the header being stored (an empty value may have no span at all). */
static int end_value(corio__hserver_conn *c)
{
	corio_http_in *r = &c->req;
	corio__hserver_field *h;
	char *v;

	if (r->field_state == CORIO__HSERVER_IN_NAME)
		return fail(r, 400);
	if (r->field_state != CORIO__HSERVER_IN_VALUE)
		return 0;
	h = &r->hdrs[r->nhdrs]; /* not before: hdrs is NULL until the first field (NULL + 0) */
	if (h->value == UINT32_MAX)
		h->value = (uint32_t)r->arena.len;
	v = r->arena.p + h->value;
	h->value_len = (uint32_t)(r->arena.len - h->value);
	while (h->value_len && (v[h->value_len - 1] == ' ' || v[h->value_len - 1] == '\t'))
		h->value_len--;
	/* Belt and braces: a CR or LF never belongs in a value. */
	if (memchr(v, '\r', h->value_len) || memchr(v, '\n', h->value_len))
		return fail(r, 400);
	r->arena.len = h->value + h->value_len;
	if (arena_put(r, "", 1) != 0)
		return fail(r, 500);
	/* The fields the server itself looks at, noted here rather than searched for later. */
	if (CORIO__IEQ_LIT(r->arena.p + h->name, h->name_len, "host")) {
		r->hosts++;
		if (!host_ok(r->arena.p + h->value, h->value_len, false))
			return fail(r, 400); /* RFC 9112 3.2: an invalid Host value */
	} else if (CORIO__IEQ_LIT(r->arena.p + h->name, h->name_len, "transfer-encoding")) {
		if (!r->tes++)
			r->te_idx = (int)r->nhdrs;
	} else if (CORIO__IEQ_LIT(r->arena.p + h->name, h->name_len, "expect")) {
		if (r->expect_idx < 0)
			r->expect_idx = (int)r->nhdrs;
	}
	r->nhdrs++;
	r->field_state = CORIO__HSERVER_BETWEEN_FIELDS;
	return 0;
}

/* Room in hdrs for one more field (hdrs may move: fields are indexes, never pointers). */
static int field_room(corio_http_in *r)
{
	unsigned cap = r->hcap ? r->hcap * 2 : 16;
	corio__hserver_field *h;

	if (r->nhdrs < r->hcap)
		return 0;
	if (!(h = realloc(r->hdrs, cap * sizeof *h)))
		return -1;
	r->hdrs = h;
	r->hcap = cap;
	return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	corio__hserver_conn *c = conn_of(p);
	corio_http_in *r = &c->req;

	if (r->in_trailers)
		return trailer_bytes(c, len);
	if (r->field_state == CORIO__HSERVER_IN_VALUE && end_value(c) != 0)
		return -1;
	if (r->field_state == CORIO__HSERVER_BETWEEN_FIELDS) {
		if (r->nhdrs >= c->hl->srv->o.max_headers)
			return fail(r, 431);
		if (field_room(r) != 0)
			return fail(r, 500);
		r->hdrs[r->nhdrs].name = (uint32_t)r->arena.len;
		r->hdrs[r->nhdrs].value = UINT32_MAX;
		r->field_state = CORIO__HSERVER_IN_NAME;
	}
	return put_limited(c, at, len, 431);
}

static int on_header_field_complete(llhttp_t *p)
{
	corio__hserver_conn *c = conn_of(p);
	corio_http_in *r = &c->req;
	corio__hserver_field *h;

	if (r->in_trailers)
		return 0;
	/* llhttp 8.1.0 takes an empty name (": b") and calls on_header_field with no bytes,
	 * or not at all: a field-name is a token of at least one character (RFC 9110 5.1). */
	if (r->field_state != CORIO__HSERVER_IN_NAME)
		return fail(r, 400);
	h = &r->hdrs[r->nhdrs];
	if (r->arena.len == h->name)
		return fail(r, 400);
	h->name_len = (uint32_t)(r->arena.len - h->name);
	if (arena_put(r, "", 1) != 0)
		return fail(r, 500);
	r->field_state = CORIO__HSERVER_IN_VALUE;
	return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	corio__hserver_conn *c = conn_of(p);
	corio_http_in *r = &c->req;

	if (r->in_trailers)
		return trailer_bytes(c, len);
	if (r->hdrs[r->nhdrs].value == UINT32_MAX) {
		r->hdrs[r->nhdrs].value = (uint32_t)r->arena.len;
	} else if (!r->vsplit || at != r->xstart) {
		/* llhttp 8.1.0 accepts obsolete line folding and hands the continuation line
		 * over as another span of the same value (without the CRLF). A value continues
		 * legitimately only where one input ended and the next began; anything else
		 * is a fold, which RFC 9112 5.2 lets a server reject with 400. */
		return fail(r, 400);
	}
	r->vsplit = at + len == r->xend;
	return put_limited(c, at, len, 431);
}

static int on_header_value_complete(llhttp_t *p)
{
	corio__hserver_conn *c = conn_of(p);

	return c->req.in_trailers ? 0 : end_value(c);
}

static int on_headers_complete(llhttp_t *p)
{
	corio__hserver_conn *c = conn_of(p);
	corio_http_in *r = &c->req;

	if (end_value(c) != 0)
		return -1;
	r->headers_done = true;
	r->in_trailers = true;
	return HPE_PAUSED; /* the handler runs before the body is parsed */
}

/* The parser runs with LENIENT_VERSION, which lets any digit "." digit through: HTTP/1.x
 * is served as 1.1 (RFC 9110 2.5), another major version is 505. A malformed version
 * ("HTTP/1.10", "HTTP/x.1") still fails in llhttp, which answers 400. */
static int on_version_complete(llhttp_t *p)
{
	return p->http_major == 1 ? 0 : fail(&conn_of(p)->req, 505);
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	corio__hserver_conn *c = conn_of(p);
	corio_http_in *r = &c->req;

	r->body_read += len;
	if (r->body_read > c->hl->srv->o.max_body_bytes) {
		r->body_err = -EMSGSIZE;
		return fail(r, 413);
	}
	/* at >= bwr always: decoded bytes never outrun the input they come from. */
	if (at != r->bwr)
		memmove(r->bwr, at, len);
	r->bwr += len;
	return 0;
}

static int on_chunk_ext(llhttp_t *p, const char *at, size_t len)
{
	return trailer_bytes(conn_of(p), len);
}

static int on_message_complete(llhttp_t *p)
{
	corio__hserver_conn *c = conn_of(p);

	c->req.msg_done = true;
	c->req.keep_msg = llhttp_should_keep_alive(p); /* asked once the message is complete */
	return HPE_PAUSED; /* the next pipelined request waits for this one's response */
}

static llhttp_settings_t settings;
static pthread_once_t settings_once = PTHREAD_ONCE_INIT;

static void settings_init(void)
{
	llhttp_settings_init(&settings);
	settings.on_url = on_url;
	settings.on_url_complete = on_url_complete;
	settings.on_version_complete = on_version_complete;
	settings.on_header_field = on_header_field;
	settings.on_header_field_complete = on_header_field_complete;
	settings.on_header_value = on_header_value;
	settings.on_header_value_complete = on_header_value_complete;
	settings.on_headers_complete = on_headers_complete;
	settings.on_body = on_body;
	settings.on_chunk_extension_name = on_chunk_ext;
	settings.on_chunk_extension_value = on_chunk_ext;
	settings.on_message_complete = on_message_complete;
}

void corio__hserver_parser_init(corio__hserver_conn *c)
{
	pthread_once(&settings_once, settings_init);
	llhttp_init(&c->parser, HTTP_REQUEST, &settings);
	/* Kept by llhttp_reset; on_version_complete does the version check in its place. */
	c->parser.lenient_flags |= LENIENT_VERSION;
	c->parser.data = c;
}

void corio__hserver_parser_next(corio__hserver_conn *c)
{
	corio_http_in *r = &c->req;

	if (llhttp_get_errno(&c->parser) == HPE_PAUSED)
		llhttp_resume(&c->parser);
	free(r->whole);
	*r = (corio_http_in){ .c = c, .arena = { r->arena.p, 0, r->arena.cap }, .hdrs = r->hdrs,
			      .hcap = r->hcap, .te_idx = -1, .expect_idx = -1 };
}

llhttp_errno_t corio__hserver_parser_execute(corio__hserver_conn *c)
{
	corio_http_in *r = &c->req;
	char *start = c->buf + c->rpos;
	size_t n = c->wpos - c->rpos, used;
	bool in_headers = !r->headers_done;
	llhttp_errno_t err;

	r->bptr = r->bwr = start;
	r->xstart = start;
	r->xend = start + n;
	/* Paused at the end of the headers: the body follows. (A pause at the message's end
	 * is lifted only by corio__hserver_parser_next, for the next request.) */
	if (llhttp_get_errno(&c->parser) == HPE_PAUSED && !r->msg_done)
		llhttp_resume(&c->parser);
	err = llhttp_execute(&c->parser, start, n);
	used = err == HPE_OK ? n : (size_t)(llhttp_get_error_pos(&c->parser) - start);
	if (used > n)
		used = n;
	if (in_headers)
		r->hdr_raw += used;
	c->rpos += used;
	r->blen = (size_t)(r->bwr - r->bptr);
	return err;
}

static const char *find(const corio_http_in *r, const char *name, unsigned *count)
{
	const char *v = NULL;

	*count = 0;
	for (unsigned i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->arena.p + r->hdrs[i].name, name) == 0) {
			if (!v)
				v = r->arena.p + r->hdrs[i].value;
			++*count;
		}
	return v;
}

/* The authority of an absolute-form target replaces Host (RFC 9112 3.2.2): the Host field's
 * value becomes a copy of it, or a Host field is added (HTTP/1.0 may send none). */
static int authority_as_host(corio_http_in *r, const target_parts *tp)
{
	uint32_t v = (uint32_t)r->arena.len, name;
	unsigned i = 0;

	/* The source lies in the arena: arena_put follows it if the arena moves. */
	if (arena_put(r, r->arena.p + r->url_off + tp->auth, tp->auth_len) || arena_put(r, "", 1))
		return 500;
	while (i < r->nhdrs &&
	       !CORIO__IEQ_LIT(r->arena.p + r->hdrs[i].name, r->hdrs[i].name_len, "host"))
		i++;
	if (i == r->nhdrs) {
		name = (uint32_t)r->arena.len;
		if (field_room(r) != 0 || arena_put(r, "Host", sizeof "Host"))
			return 500;
		r->hdrs[i] = (corio__hserver_field){ .name = name, .name_len = 4 };
		r->nhdrs++;
	}
	r->hdrs[i].value = v;
	r->hdrs[i].value_len = (uint32_t)tp->auth_len;
	return 0;
}

/* Stores the target's path ("/" for an empty one) and query as strings of their own, as
 * offsets: every arena_put may move the arena, the target with it. 0, or the status. */
static int split_target(corio_http_in *r, bool options, uint32_t *path, uint32_t *query)
{
	target_parts tp;
	int st = target_split(r->arena.p + r->url_off, options, &tp);
	const char *q;

	if (st != 0)
		return st;
	*path = (uint32_t)r->arena.len;
	if (tp.path_len ? arena_put(r, r->arena.p + r->url_off + tp.path, tp.path_len)
			: arena_put(r, "/", 1))
		return 500;
	if (arena_put(r, "", 1))
		return 500;
	*query = (uint32_t)r->arena.len;
	q = tp.query == SIZE_MAX ? "" : r->arena.p + r->url_off + tp.query;
	if (arena_put(r, q, strlen(q)) || arena_put(r, "", 1))
		return 500;
	return tp.auth_len ? authority_as_host(r, &tp) : 0;
}

bool corio__hserver_parser_keep_alive(corio__hserver_conn *c)
{
	return llhttp_should_keep_alive(&c->parser) != 0;
}

int corio__hserver_parser_finish_headers(corio__hserver_conn *c)
{
	corio_http_in *r = &c->req;
	const llhttp_t *p = &c->parser;
	uint32_t path, query;
	uint64_t cl;
	int st;

	r->target = r->arena.p + r->url_off;
	r->path = r->query = ""; /* until the target is split, below */
	r->method = llhttp_method_name((llhttp_method_t)p->method);
	/* HTTP/1.2 and later minors are served as 1.1 (RFC 9110 2.5). */
	r->version = p->http_major == 1 ? (p->http_minor ? 11 : 10)
				       : p->http_major * 10 + p->http_minor;
	r->chunked = (p->flags & F_CHUNKED) != 0;
	/* llhttp takes any length up to UINT64_MAX; above INT64_MAX it cannot be told apart
	 * from -1 (chunked) once stored, so it is clamped here and refused below. */
	cl = (p->flags & F_CONTENT_LENGTH) ? p->content_length : 0;
	r->content_length = r->chunked ? -1 : cl > INT64_MAX ? INT64_MAX : (int64_t)cl;
	r->upgrade = p->upgrade;
	if (p->http_major != 1)
		return 505;
	if (r->hosts > 1 || (r->version >= 11 && r->hosts == 0))
		return 400; /* RFC 9112 3.2 */
	if (p->method == HTTP_CONNECT)
		return 501;
	if ((st = split_target(r, p->method == HTTP_OPTIONS, &path, &query)) != 0)
		return st;
	/* Only now: split_target added to the arena, which may have moved. */
	r->target = r->arena.p + r->url_off;
	r->path = r->arena.p + path;
	r->query = r->arena.p + query;
	/* Transfer codings other than chunked alone are not implemented (RFC 9112 6.1). */
	if (r->tes && r->version < 11)
		return 400; /* RFC 9112 6.1: faulty framing from a 1.0 client */
	if (r->tes && (r->tes > 1 || strcasecmp(r->arena.p + r->hdrs[r->te_idx].value, "chunked")))
		return 501;
	if (!r->chunked && (cl > INT64_MAX || cl > c->hl->srv->o.max_body_bytes))
		return 413; /* even with max_body_bytes UINT64_MAX ("no limit") */
	if (r->expect_idx >= 0) {
		if (strcasecmp(r->arena.p + r->hdrs[r->expect_idx].value, "100-continue") != 0)
			return 417;
		r->expect_continue = r->version >= 11;
	}
	return 0;
}

/* ---- the request's public accessors ----------------------------------------------------- */

const char *corio_http_in_method(const corio_http_in *req)
{
	return req->method;
}

int corio_http_in_version(const corio_http_in *req)
{
	return req->version;
}

const char *corio_http_in_target(const corio_http_in *req)
{
	return req->target;
}

const char *corio_http_in_path(const corio_http_in *req)
{
	return req->path;
}

const char *corio_http_in_query(const corio_http_in *req)
{
	return req->query;
}

const char *corio_http_in_header(const corio_http_in *req, const char *name)
{
	unsigned n;

	return name ? find(req, name, &n) : NULL;
}

size_t corio_http_in_header_count(const corio_http_in *req)
{
	return req->nhdrs;
}

int corio_http_in_header_at(const corio_http_in *req, size_t i, const char **name,
			    const char **value)
{
	if (i >= req->nhdrs)
		return -ENOENT;
	if (name)
		*name = req->arena.p + req->hdrs[i].name;
	if (value)
		*value = req->arena.p + req->hdrs[i].value;
	return 0;
}

int64_t corio_http_in_content_length(const corio_http_in *req)
{
	return req->content_length;
}
