/* runtime/net/tls_internal.h: what the TLS files of runtime/net/ share and nothing else: the
 * config and connection structures, the config's reference count (tls_config.c), and the
 * pump that moves ciphertext between OpenSSL's memory BIOs and the socket (tls_pump.c).
 *
 * The BIO choice: two plain memory BIOs per connection (rbio: ciphertext received, for
 * OpenSSL to read; wbio: ciphertext OpenSSL produced, for us to send). A memory BIO never
 * blocks and grows as needed, so no OpenSSL call ever waits: it returns WANT_READ when rbio
 * is empty, and the pump parks in corio_recv. Writes are cut into records of at most
 * CORIO__TLS_CHUNK bytes so wbio holds about one record at a time. */
#ifndef CORIO_TLS_INTERNAL_H
#define CORIO_TLS_INTERNAL_H

#include <stdatomic.h>
#include <openssl/ssl.h>

#include <corio/sync.h>
#include <corio/tls.h>

/* Plaintext per SSL_write: one full TLS record. */
#define CORIO__TLS_CHUNK 16384
/* The receive buffer: one full record with its header and the largest expansion
 * (TLS 1.2 CBC padding and MAC), so one corio_recv usually brings a whole record. */
#define CORIO__TLS_INBUF (16384 + 2048)
/* The send buffer wbio is drained into (one record and its overhead). */
#define CORIO__TLS_OUTBUF (16384 + 2048)
/* corio_tls_error's text. */
#define CORIO__TLS_ERRLEN 256

struct corio_tls_config {
	SSL_CTX *ctx;
	atomic_int refs;    /* the owner's reference + one per connection */
	bool server;
	bool verify;
	bool has_cert;      /* a server cannot accept without one */
	unsigned char *alpn; /* wire format (length-prefixed names), server side; NULL: none */
	size_t alpn_len;
};

struct corio_tls {
	SSL *ssl;
	BIO *rbio, *wbio;             /* owned by ssl */
	int fd;                       /* not owned */
	corio_tls_config *cfg;        /* one reference */
	corio_mutex send_lock;        /* one task drains wbio to the socket at a time */
	int send_err;                 /* sticky: the sending side broke (0: fine) */
	bool handshaken;
	bool shut;                    /* close_notify sent */
	char alpn[256];
	char err[CORIO__TLS_ERRLEN];
	unsigned char in[CORIO__TLS_INBUF];
	unsigned char out[CORIO__TLS_OUTBUF];
};

/* Takes / drops a reference (the last drop frees the config). Never park. */
void corio__tls_config_ref(corio_tls_config *c);
void corio__tls_config_unref(corio_tls_config *c);

/* Sends everything in wbio. wait: park for the send lock if another task holds it;
 * otherwise return 0 at once, since the holder drains wbio to the end before it lets go.
 * 0 or -errno (then sticky in t->send_err). Parks. */
int corio__tls_flush(corio_tls *t, bool wait);
/* After an SSL call on t returned rc <= 0: does what OpenSSL asked for (flush and/or
 * receive more ciphertext) and returns 0 to retry the call, or a negative errno with
 * t->err filled in. Parks. Reads OpenSSL's error queue before parking (it is per thread,
 * and other tasks run while this one is parked). */
int corio__tls_pump(corio_tls *t, int rc);
/* Fills t->err with OpenSSL's first queued reason (or what, when the queue is empty) and
 * empties the queue. Returns -EPROTO. */
int corio__tls_proto_error(corio_tls *t, const char *what);

#endif
