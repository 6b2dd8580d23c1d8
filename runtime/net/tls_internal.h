/* runtime/net/tls_internal.h: what the TLS files of runtime/net/ share and nothing else: the
 * config and connection structures, the config's reference count (tls_config.c), the BIO
 * OpenSSL reads and writes through (tls_bio.c), and the pump that moves ciphertext between
 * that BIO's buffers and the socket (tls_pump.c).
 *
 * The BIO choice: one custom BIO per connection, over corio's own buffers, rather than two
 * memory BIOs. Reading, it hands OpenSSL the bytes corio_recv put in t->in; writing, it
 * appends records to t->wq, which the pump gives to corio_send_all as they are. A memory
 * BIO pair cost one more copy each way (t->in into rbio, wbio out to t->out) and its
 * bookkeeping; the custom BIO keeps what mattered about it: it never blocks, and it
 * returns "retry" when t->in is empty, so OpenSSL says WANT_READ and the pump parks in
 * corio_recv.
 *
 * Why the write side never refuses (t->wq grows) instead of saying "retry" when full: a
 * record OpenSSL could not hand over stays pending inside the SSL, and until the same
 * SSL_write is repeated, any other record is refused (SSL_R_BAD_WRITE_RETRY, fatal). The
 * reader may need to write at any time (an alert, the answer to a TLS 1.3 KeyUpdate) while
 * the writer is parked in a send, so a pending write would break full duplex. Never
 * refusing also means a write never needs a read, so only the reader ever receives.
 * t->wq stays about one record long because writers flush after each (tls_io.c) or each
 * ~16 KiB of records (tls_ext.c); it is sent from a second buffer, t->sq, swapped in under
 * the send lock, so the queue OpenSSL appends to (and may move, growing) is never the one
 * the kernel is reading. Writes are cut into records of at most CORIO__TLS_CHUNK bytes. */
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
/* The first size of a send queue (one record and its overhead); it doubles when short. */
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

/* A growable byte queue (malloc'd, NULL until first used). */
typedef struct corio__tls_buf {
	unsigned char *p;
	size_t len, cap;
} corio__tls_buf;

struct corio_tls {
	SSL *ssl;
	BIO *bio;                     /* owned by ssl: its read and its write side */
	int fd;                       /* not owned */
	corio_tls_config *cfg;        /* one reference */
	corio_mutex send_lock;        /* one task sends at a time (t->sq is its) */
	int send_err;                 /* sticky: the sending side broke (0: fine) */
	int bio_err;                  /* the BIO could not take a record (-ENOMEM) */
	bool handshaken;
	bool shut;                    /* close_notify sent */
	bool receiving;               /* a corio_recv into t->in is in flight */
	bool eof;                     /* the peer closed its side (the receive returned 0) */
	corio__tls_buf wq;            /* records OpenSSL wrote, not yet sending */
	corio__tls_buf sq;            /* records being sent, under the send lock */
	size_t in_off, in_len;        /* t->in[in_off..in_len): received, not yet OpenSSL's */
	char alpn[256];
	char err[CORIO__TLS_ERRLEN];
	unsigned char *in;            /* CORIO__TLS_INBUF bytes, taken by the first receive and
				       * given back by corio__tls_trim when empty */
};

/* Takes / drops a reference (the last drop frees the config). Never park. */
void corio__tls_config_ref(corio_tls_config *c);
void corio__tls_config_unref(corio_tls_config *c);

/* A BIO over t's buffers (tls_bio.c), for SSL_set_bio(ssl, b, b); NULL on ENOMEM. Never
 * parks. */
BIO *corio__tls_bio_new(corio_tls *t);

/* Sends everything queued in t->wq. wait: park for the send lock if another task holds it;
 * otherwise return 0 at once, since the holder sends t->wq to the end before it lets go.
 * 0 or -errno (then sticky in t->send_err). Parks. */
int corio__tls_flush(corio_tls *t, bool wait);
/* After an SSL call on t returned rc <= 0: does what OpenSSL asked for (flush and/or
 * receive more ciphertext) and returns 0 to retry the call, or a negative errno with
 * t->err filled in. Parks. Reads OpenSSL's error queue before parking (it is per thread,
 * and other tasks run while this one is parked). */
int corio__tls_pump(corio_tls *t, int rc);
/* One SSL_write_ex of len bytes (at most CORIO__TLS_CHUNK): the records land in t->wq,
 * unsent. The count written (len) or -errno with t->err filled in. Parks only if OpenSSL
 * asks for what the BIO never makes it ask. */
ssize_t corio__tls_write_record(corio_tls *t, const void *p, size_t len);
/* Kernel TLS: 0 when this kernel has the "tls" TCP ULP, else -errno (-ENOENT: no such ULP,
 * as on a kernel whose net.ipv4.tcp_available_ulp lists no "tls"). Asked once per process
 * (setsockopt TCP_ULP "tls" on a connected loopback pair, tls_ktls.c) and remembered.
 * Never parks. Nothing uses kTLS yet: every connection goes through the BIO above.
 *
 * What a kTLS path would take. OpenSSL 3.0 turns kTLS on (SSL_OP_ENABLE_KTLS) only for
 * its socket BIO: it hands the keys over through a BIO ctrl its header calls internal
 * (BIO_CTRL_SET_KTLS, with a private struct), and that BIO does its own read(2)/write(2),
 * which cannot carry corio's I/O: io_uring must submit every receive and send. Answering
 * that ctrl from our BIO would tie corio to OpenSSL's internals. The way left is to set
 * the keys ourselves once the handshake is done, for TLS 1.3 with AES-GCM or
 * ChaCha20-Poly1305: take each direction's traffic secret (OpenSSL gives them only through
 * SSL_CTX_set_keylog_callback's lines), derive key and IV with HKDF-Expand-Label as RFC
 * 8446 section 7.3 says, count the records already protected with them (the server's
 * session tickets), setsockopt(SOL_TLS, TLS_TX / TLS_RX, struct tls12_crypto_info_*),
 * then move plaintext with corio_send / corio_recv. Records that are not application data
 * (alerts, tickets, KeyUpdate) then come as control messages (recvmsg with
 * TLS_GET_RECORD_TYPE), so reads need IORING_OP_RECVMSG and a way back into OpenSSL for
 * those records; ciphertext already in t->in when the keys move must be consumed first.
 * Kernel gates: TLS_RX 4.17, TLS 1.3 5.1, ChaCha20-Poly1305 5.11, KeyUpdate only recent
 * ones. None of it is written: no kernel here could run it. */
int corio__tls_ktls_probe(void);
/* Fills t->err with OpenSSL's first queued reason (or what, when the queue is empty) and
 * empties the queue. Returns -EPROTO. */
int corio__tls_proto_error(corio_tls *t, const char *what);

#endif
