/* runtime/net/tls_config.c: corio_tls_config: one SSL_CTX per config with corio's defaults
 * (TLS 1.2 minimum, no renegotiation, the system trust store and verification for a client),
 * trust anchors, the certificate and key, the ALPN list and the server's choice among the
 * client's offers, and the reference count that lets connections outlive the owner's
 * corio_tls_config_free. Nothing here parks (loading files is a plain blocking read, done
 * once at setup). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "runtime/net/tls_internal.h"

static void set_verify_mode(corio_tls_config *c)
{
	int mode = SSL_VERIFY_NONE;

	if (c->verify)
		mode = c->server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
				 : SSL_VERIFY_PEER;
	SSL_CTX_set_verify(c->ctx, mode, NULL);
}

corio_tls_config *corio_tls_config_new(bool server)
{
	corio_tls_config *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!c->ctx)
		goto fail;
	c->server = server;
	c->verify = !server;
	atomic_init(&c->refs, 1);
	if (!SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION))
		goto fail;
	/* Renegotiation would make a write need a read; nothing here supports that. */
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION);
	/* OpenSSL's record buffers (~34 KiB a connection) freed whenever they are empty, so an
	 * idle connection does not keep them (README "Memory under load"). */
	SSL_CTX_set_mode(c->ctx, SSL_MODE_RELEASE_BUFFERS);
	/* A missing system store is not an error here: verification then fails per
	 * connection, with a reason that says so. */
	if (!server && !SSL_CTX_set_default_verify_paths(c->ctx))
		ERR_clear_error();
	set_verify_mode(c);
	return c;
fail:
	ERR_clear_error();
	SSL_CTX_free(c->ctx);
	free(c);
	return NULL;
}

/* A config in use by a connection is shared and must not change under it. */
static bool in_use(const corio_tls_config *c)
{
	return atomic_load(&c->refs) > 1;
}

int corio_tls_config_ca(corio_tls_config *c, const char *ca_file, const char *ca_dir)
{
	X509_STORE *st;

	if (!c || (!ca_file && !ca_dir))
		return -EINVAL;
	if (in_use(c))
		return -EBUSY;
	/* A fresh store replaces the system one (SSL_CTX_set_cert_store frees the old). */
	st = X509_STORE_new();
	if (!st)
		return -ENOMEM;
	if (!X509_STORE_load_locations(st, ca_file, ca_dir)) {
		ERR_clear_error();
		X509_STORE_free(st);
		return -ENOENT;
	}
	SSL_CTX_set_cert_store(c->ctx, st);
	return 0;
}

/* Loading the key checks it against the certificate already loaded; a mismatch is told
 * apart from an unreadable file by its reason. */
static int load_key(SSL_CTX *ctx, const char *key_file)
{
	unsigned long e;

	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) == 1)
		return SSL_CTX_check_private_key(ctx) == 1 ? 0 : -EKEYREJECTED;
	e = ERR_peek_last_error();
	return ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH
		       ? -EKEYREJECTED
		       : -ENOENT;
}

int corio_tls_config_cert(corio_tls_config *c, const char *chain_file, const char *key_file)
{
	int rc = -ENOENT;

	if (!c || !chain_file || !key_file)
		return -EINVAL;
	if (in_use(c))
		return -EBUSY;
	if (SSL_CTX_use_certificate_chain_file(c->ctx, chain_file) == 1)
		rc = load_key(c->ctx, key_file);
	ERR_clear_error();
	c->has_cert = rc == 0;
	return rc;
}

void corio_tls_config_verify(corio_tls_config *c, bool verify)
{
	if (!c || in_use(c))
		return;
	c->verify = verify;
	set_verify_mode(c);
}

/* "h2,http/1.1" -> "\x02h2\x08http/1.1". The length or -EINVAL; wire may be NULL to
 * measure. */
static long alpn_wire(const char *protos, unsigned char *wire)
{
	size_t n = 0;

	for (const char *p = protos;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == 0 || len > 255)
			return -EINVAL;
		if (wire) {
			wire[n] = (unsigned char)len;
			memcpy(wire + n + 1, p, len);
		}
		n += len + 1;
		if (!end)
			return (long)n;
		p = end + 1;
	}
}

/* The server's choice: the first of its own list that the client offered. No protocol in
 * common is not fatal: the handshake goes on without ALPN (the application may then assume
 * its default protocol, as HTTP/1.1 servers do). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	const corio_tls_config *c = arg;
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, c->alpn, (unsigned)c->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

int corio_tls_config_alpn(corio_tls_config *c, const char *protos)
{
	long n = protos ? alpn_wire(protos, NULL) : -EINVAL;
	unsigned char *wire;

	if (!c || n < 0)
		return -EINVAL;
	if (in_use(c))
		return -EBUSY;
	if (!(wire = malloc((size_t)n)))
		return -ENOMEM;
	alpn_wire(protos, wire);
	if (!c->server && SSL_CTX_set_alpn_protos(c->ctx, wire, (unsigned)n) != 0) {
		free(wire); /* note: SSL_CTX_set_alpn_protos returns 0 on success */
		return -ENOMEM;
	}
	free(c->alpn);
	c->alpn = wire;
	c->alpn_len = (size_t)n;
	/* The callback's arg is the config itself: every connection holds a reference, so
	 * it outlives them all. */
	if (c->server)
		SSL_CTX_set_alpn_select_cb(c->ctx, alpn_select, c);
	return 0;
}

void corio__tls_config_ref(corio_tls_config *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

/* acq_rel: the thread that frees must see every other thread's last use of the config. */
void corio__tls_config_unref(corio_tls_config *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	SSL_CTX_free(c->ctx);
	free(c->alpn);
	free(c);
}

void corio_tls_config_free(corio_tls_config *c)
{
	if (c)
		corio__tls_config_unref(c);
}
