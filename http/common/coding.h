/* http/common/coding.h: the client's Content-Encoding decoder (gzip, x-gzip, deflate in
 * its zlib and raw forms) over zlib, with a cap on the decoded size. Never parks. *
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

typedef enum corio__http_coding {
	CORIO__HTTP_IDENTITY = 0,
	CORIO__HTTP_GZIP,
	CORIO__HTTP_DEFLATE,
} corio__http_coding;

typedef struct corio__http_decoder {
	z_stream z;
	corio__http_coding coding;
	bool started;  /* inflateInit2 done (deflate waits for 2 bytes to tell zlib from raw) */
	bool ended;    /* Z_STREAM_END seen */
	uint64_t out_total, cap;
} corio__http_decoder;

/* The coding named by a Content-Encoding value: IDENTITY for absent/identity, -1 for one
 * we do not decode (the body is then passed through as it is). */
int corio__http_coding_of(const char *content_encoding);
void corio__http_decoder_init(corio__http_decoder *d, corio__http_coding coding, uint64_t cap);
/* Inflates in[0..inlen) into out[0..outlen): bytes produced (may be 0), *used gets the
 * input consumed. -EBADMSG for corrupt data, -EFBIG past the cap, -ENOMEM. Input after the
 * end of the stream is consumed and ignored (a following gzip member is decoded). */
ssize_t corio__http_decode(corio__http_decoder *d, const void *in, size_t inlen, size_t *used,
			   void *out, size_t outlen);
/* True when the compressed stream ended properly. */
bool corio__http_decoder_done(const corio__http_decoder *d);
void corio__http_decoder_free(corio__http_decoder *d);

#endif
