/* http/client/parser.h: the llhttp glue that parses one HTTP/1.x response for the client:
 * status line, header fields and trailers kept in arenas, the llhttp 8.1.0 traps handled
 * here (obs-fold rejected, header bytes/count and chunk-extension bytes counted, the
 * status line checked to the letter (llhttp takes "099", "20", "0200", "HTTP/2.0", a NUL in
 * the reason), Transfer-Encoding limited to a lone chunked, 1xx interim responses skipped, HEAD/204/304 without a body, pause at message completion so the bytes
 * after a response are known, keep-alive asked inside on_message_complete, EOF through
 * llhttp_finish). Body bytes go to the caller's sink or to a pending buffer. Never parks. */
#ifndef CORIO_HTTP_CLIENT_PARSER_H
#define CORIO_HTTP_CLIENT_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <llhttp.h>

#include "runtime/util/buf.h"

typedef struct corio__hclient_field {
	uint32_t name, value; /* offsets of NUL-terminated strings in the arena */
} corio__hclient_field;

typedef struct corio__hclient_fields {
	corio__buf arena;
	corio__hclient_field *f;
	size_t n, fcap;
} corio__hclient_fields;

/* What the last span callback was building (it is terminated when another kind begins). */
typedef enum corio__hclient_span {
	CORIO__HCLIENT_SPAN_NONE = 0,
	CORIO__HCLIENT_SPAN_NAME,   /* a header (or trailer) field name */
	CORIO__HCLIENT_SPAN_VALUE,  /* its value */
	CORIO__HCLIENT_SPAN_STATUS, /* the reason phrase */
} corio__hclient_span;

typedef struct corio__hclient_parser {
	llhttp_t p;
	size_t max_header_bytes, max_headers, max_chunk_ext;
	corio__hclient_fields hdr;   /* arena starts with the reason phrase */
	corio__hclient_fields trl;   /* trailers (kept apart: header pointers stay valid) */
	size_t header_bytes;     /* counted by hand: llhttp 8.1.0 has no limit */
	size_t raw_before_headers;
	size_t chunk_ext;
	corio__hclient_span last;
	int status, version;
	int64_t content_length;  /* as announced, -1 when absent */
	bool head;               /* the request was HEAD: no body whatever the headers say */
	bool upgrade;            /* the request asked for an upgrade (upgrade.c): a 101 is the
				  * final answer, the parser pauses after its head */
	bool headers_done, message_done, keep_alive, chunked;
	bool has_reason;         /* the hdr arena starts with the reason phrase */
	bool interim_seen;       /* a 1xx (100 Continue) came before the final response */
	bool any_byte;           /* at least one byte of a response was fed */
	bool must_close;         /* framing not to be trusted after this message (RFC 9112 6.1) */
	/* The 5 bytes after the version of the status line being parsed (" 200 " or
	 * " 200\r"): llhttp reads any number of digits, so they are checked here. */
	bool sl_armed;
	unsigned char sl_len;
	char sl[5];
	int err;                 /* sticky: negative errno */
	const char *feed_base;   /* the buffer of the current feed call */
	const char *feed_end;
	char prev;               /* the last byte of the previous feed (obs-fold detection) */
	/* body sink: the caller's buffer (sink, when set) first, then the pending buffer */
	char *sink;
	size_t sink_cap, sink_len;
	corio__buf pend;         /* body bytes not read yet: pend.p[pend_off..pend.len) */
	size_t pend_off;
} corio__hclient_parser;

void corio__hclient_parser_init(corio__hclient_parser *h, bool head, size_t max_header_bytes,
				size_t max_headers, size_t max_chunk_ext);
void corio__hclient_parser_free(corio__hclient_parser *h);
/* Parses data[0..len): bytes consumed (less than len when the head or the message
 * completed inside: the parser pauses there, and the rest is fed again), or a negative
 * errno (sticky): -EBADMSG, -EMSGSIZE, -ENOMEM. */
ssize_t corio__hclient_parser_feed(corio__hclient_parser *h, const char *data, size_t len);
/* The connection ended. 0 when that completed the message (close-delimited body),
 * -ECONNRESET when no byte of a response came, -EPROTO when it was cut short. */
int corio__hclient_parser_eof(corio__hclient_parser *h);
/* The i-th value of name among fields (trailers when trl), NULL beyond. */
const char *corio__hclient_parser_get(const corio__hclient_parser *h, bool trl, const char *name,
				      size_t i);
static inline size_t corio__hclient_parser_pending(const corio__hclient_parser *h)
{
	return h->pend.len - h->pend_off;
}

#endif
