/* http/common/coding.h: the client's Content-Encoding decoder (gzip, x-gzip, deflate in
 * its zlib and raw forms) over zlib, with a cap on the decoded size. Never parks. */
#ifndef CORIO_HTTP_CLIENT_DECODE_H
#define CORIO_HTTP_CLIENT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>

typedef enum corio__hc_coding {
	CORIO__HC_IDENTITY = 0,
	CORIO__HC_GZIP,
	CORIO__HC_DEFLATE,
} corio__hc_coding;

typedef struct corio__hc_decoder {
	z_stream z;
	corio__hc_coding coding;
	bool started;  /* inflateInit2 done (deflate waits for 2 bytes to tell zlib from raw) */
	bool ended;    /* Z_STREAM_END seen */
	uint64_t out_total, cap;
} corio__hc_decoder;

/* The coding named by a Content-Encoding value: IDENTITY for absent/identity, -1 for one
 * we do not decode (the body is then passed through as it is). */
int corio__hc_coding_of(const char *content_encoding);
void corio__hc_decoder_init(corio__hc_decoder *d, corio__hc_coding coding, uint64_t cap);
/* Inflates in[0..inlen) into out[0..outlen): bytes produced (may be 0), *used gets the
 * input consumed. -EBADMSG for corrupt data, -EFBIG past the cap, -ENOMEM. Input after the
 * end of the stream is consumed and ignored (a following gzip member is decoded). */
ssize_t corio__hc_decode(corio__hc_decoder *d, const void *in, size_t inlen, size_t *used,
			 void *out, size_t outlen);
/* True when the compressed stream ended properly. */
bool corio__hc_decoder_done(const corio__hc_decoder *d);
void corio__hc_decoder_free(corio__hc_decoder *d);

#endif
