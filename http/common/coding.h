/* http/common/coding.h: HTTP codings: the comma-separated list syntax their header fields
 * share, the server's Accept-Encoding negotiation (does the client take gzip), and for the
 * client the Transfer-Encoding check (only a lone "chunked" is framed here) and the
 * Content-Encoding decoder (gzip, x-gzip, deflate in its zlib and raw forms,
 * several layers of them) over zlib, with a cap on the bytes each layer produces. Never
 * parks. *
 * Names: internal names of http/common/ are corio__http_* (CORIO__HTTP_* constants); it
 * includes nothing from http/client/ or http/server/, which use corio__hclient_* and
 * corio__hserver_*. */
#ifndef CORIO_HTTP_COMMON_CODING_H
#define CORIO_HTTP_COMMON_CODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>

/* Content-Encoding layers decoded at most (identity not counted): real servers send one;
 * more is refused rather than decoded without bound. */
#define CORIO__HTTP_MAX_CODINGS 3

typedef enum corio__http_coding {
	CORIO__HTTP_IDENTITY = 0,
	CORIO__HTTP_GZIP,
	CORIO__HTTP_DEFLATE,
} corio__http_coding;

/* One layer of decoding. Every layer but the last keeps its output in mid (malloc'd at
 * the first decode) until the next layer takes it. */
typedef struct corio__http_layer {
	z_stream z;
	corio__http_coding coding;
	bool started;  /* inflateInit2 done (deflate waits for 2 bytes to tell zlib from raw) */
	bool ended;    /* Z_STREAM_END seen */
	uint64_t out_total;
	char *mid;
	size_t off, len; /* mid[off..len) waits for the next layer */
} corio__http_layer;

typedef struct corio__http_decoder {
	corio__http_layer l[CORIO__HTTP_MAX_CODINGS]; /* decoding order: l[0] reads the body */
	size_t n;
	bool bad;       /* a coding we do not decode, or too many: a non-empty body fails */
	bool any_input; /* a body byte was seen */
	uint64_t cap;   /* decoded bytes at most (the last layer's output) */
} corio__http_decoder;

/* The next element of the list at *s (RFC 9110 5.6.1): true with *el / *n set to it
 * without its surrounding whitespace (n may be 0: empty elements are allowed), *s moved
 * past it and its comma; false at the end of the string. */
bool corio__http_list_next(const char **s, const char **el, size_t *n);
/* Accept-Encoding (RFC 9110 12.5.3), added one field value at a time (all fields make one
 * list): the weights given to gzip (or x-gzip) and to "*", in thousandths, -1 when not
 * listed. Names are case-insensitive; an element whose q-value is malformed is ignored
 * (as if the client had not listed it); other parameters are ignored. */
typedef struct corio__http_accept {
	int gzip_q, star_q;
} corio__http_accept;
void corio__http_accept_init(corio__http_accept *a);
void corio__http_accept_add(corio__http_accept *a, const char *value);
/* gzip is acceptable: listed with q > 0, or not listed and "*" is with q > 0. A request
 * without Accept-Encoding gets false: RFC 9110 would allow any coding, but clients that
 * decode gzip say so, and one that does not (a script, an old tool) would get bytes it
 * cannot read. */
bool corio__http_accept_gzip(const corio__http_accept *a);

/* The Transfer-Encoding fields of a message, added one value at a time (all fields make
 * one list). */
typedef struct corio__http_te {
	size_t codings;     /* non-empty list elements */
	bool last_chunked;  /* the last of them is chunked */
} corio__http_te;
void corio__http_te_add(corio__http_te *t, const char *value);
/* True when the list is exactly one coding, chunked (RFC 9112 6.1: chunked must be last,
 * and no other transfer coding is decoded here). */
bool corio__http_te_chunked_only(const corio__http_te *t);

/* An empty decoder (identity) whose decoded output may not exceed cap bytes. */
void corio__http_decoder_init(corio__http_decoder *d, uint64_t cap);
/* Adds the codings of one Content-Encoding field value; call it for every field, in the
 * order received. identity and empty elements are skipped; any other coding we do not
 * decode, or more than CORIO__HTTP_MAX_CODINGS layers, make the decoder refuse a body. */
void corio__http_decoder_add(corio__http_decoder *d, const char *value);
/* True when the body needs decoding (a coding was added, or refused). */
bool corio__http_decoder_active(const corio__http_decoder *d);
/* Decodes in[0..inlen) (more of the body; may be empty to flush what the layers hold)
 * into out[0..outlen): bytes produced (0 when nothing more can be produced without more
 * input), *used gets the input consumed. -EBADMSG for corrupt data or a refused coding,
 * -EFBIG past the cap, -ENOMEM. Input after the end of a layer's stream is consumed and
 * ignored (a following gzip member is decoded). */
ssize_t corio__http_decode(corio__http_decoder *d, const void *in, size_t inlen, size_t *used,
			   void *out, size_t outlen);
/* True when every layer's compressed stream ended properly. */
bool corio__http_decoder_done(const corio__http_decoder *d);
/* True once a body byte came in (an empty body needs no stream end). */
bool corio__http_decoder_started(const corio__http_decoder *d);
void corio__http_decoder_free(corio__http_decoder *d);

#endif
