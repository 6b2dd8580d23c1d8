/* runtime/net/tls.c: TLS connections (corio/tls.h): the client and server handshakes with
 * SNI and name or IP verification, freeing, and the failure text. A connection owns its SSL
 * (which owns its BIO, runtime/net/tls_bio.c), its send queues and one reference to its
 * config; it never owns the fd. Every call that waits parks in the pump
 * (runtime/net/tls_pump.c).
 *
 * A failed handshake frees the connection before returning, so its reason is copied to a
 * per-thread table that corio_tls_error(NULL) reads: like errno, but per task, since the
 * tasks of one loop fail their handshakes in between each other's calls (a server task's
 * failure must not replace the reason a client task is about to print). The table keeps
 * the reasons of the thread's HANDSHAKE_ERRS most recent failing tasks. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "runtime/net/tls_ext.h"
#include "runtime/net/tls_internal.h"

#define HANDSHAKE_ERRS 16

static _Thread_local struct handshake_err {
	const void *task; /* corio_current() of the failure; NULL outside a task */
	char text[CORIO__TLS_ERRLEN];
} handshake_errs[HANDSHAKE_ERRS];
static _Thread_local unsigned handshake_next; /* the slot the next failure takes */

static void handshake_failed(const char *text)
{
	const void *me = corio_current();
	unsigned i;

	for (i = 0; i < HANDSHAKE_ERRS && handshake_errs[i].task != me; i++)
		;
	if (i == HANDSHAKE_ERRS) /* a task with no slot: take the oldest */
		i = handshake_next++ % HANDSHAKE_ERRS;
	handshake_errs[i].task = me;
	snprintf(handshake_errs[i].text, sizeof handshake_errs[i].text, "%s", text);
}

/* A task that succeeds forgets its earlier failure (and one left by a finished task whose
 * address it now has). */
static void handshake_succeeded(void)
{
	const void *me = corio_current();

	for (unsigned i = 0; i < HANDSHAKE_ERRS; i++)
		if (handshake_errs[i].task == me)
			handshake_errs[i].text[0] = '\0';
}

static const char *handshake_reason(void)
{
	const void *me = corio_current();

	for (unsigned i = 0; i < HANDSHAKE_ERRS; i++)
		if (handshake_errs[i].task == me)
			return handshake_errs[i].text;
	return "";
}

static corio_tls *conn_new(int fd, const corio_tls_config *c)
{
	corio_tls *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->ssl = SSL_new(c->ctx);
	t->bio = corio__tls_bio_new(t);
	if (!t->ssl || !t->bio) {
		ERR_clear_error();
		BIO_free(t->bio);
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	/* One BIO for both directions: SSL_set_bio takes the one reference we hold. */
	SSL_set_bio(t->ssl, t->bio, t->bio);
	corio_mutex_init(&t->send_lock);
	t->fd = fd;
	/* The config is const to the caller but shared: its count is the one mutable part. */
	t->cfg = (corio_tls_config *)c;
	corio__tls_config_ref(t->cfg);
	return t;
}

void corio_tls_free(corio_tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl); /* and the BIO, which points into t */
	corio__tls_config_unref(t->cfg);
	free(t->wq.p);
	free(t->sq.p);
	free(t->in);
	free(t);
}

/* Runs the handshake to its end, sends what it left queued (the client's Finished, the
 * server's session tickets), and records the ALPN result. */
static int handshake(corio_tls *t)
{
	const unsigned char *proto;
	unsigned plen;
	int rc;

	for (;;) {
		ERR_clear_error();
		rc = SSL_do_handshake(t->ssl);
		if (rc == 1)
			break;
		if ((rc = corio__tls_pump(t, rc)) < 0)
			return rc;
	}
	t->handshaken = true;
	if ((rc = corio__tls_flush(t, true)) < 0)
		return rc;
	SSL_get0_alpn_selected(t->ssl, &proto, &plen);
	if (proto) /* NULL, 0 when no protocol was agreed; names are at most 255 bytes */
		memcpy(t->alpn, proto, plen < sizeof t->alpn ? plen : sizeof t->alpn - 1);
	return 0;
}

/* Handshake or clean up: on failure the alert OpenSSL queued (why we refused the peer) is
 * sent if the socket still works, the reason is kept for corio_tls_error(NULL), and the
 * connection is freed. */
static int finish(corio_tls *t, corio_tls **out)
{
	int rc = handshake(t);

	if (rc == 0) {
		handshake_succeeded();
		*out = t;
		return 0;
	}
	/* Copied first: a failing flush would overwrite t->err with its own reason. */
	handshake_failed(t->err);
	if (rc == -EPROTO || rc == -EKEYREJECTED)
		corio__tls_flush(t, true);
	corio_tls_free(t);
	return rc;
}

/* "127.0.0.1", "::1" or "[::1]" -> the address text without brackets, in ip[]. */
static bool ip_literal(const char *name, char ip[INET6_ADDRSTRLEN])
{
	unsigned char bin[sizeof(struct in6_addr)];
	size_t n = strlen(name);

	if (n >= 2 && name[0] == '[' && name[n - 1] == ']' && n - 2 < INET6_ADDRSTRLEN) {
		memcpy(ip, name + 1, n - 2);
		ip[n - 2] = '\0';
	} else if (n < INET6_ADDRSTRLEN) {
		memcpy(ip, name, n + 1);
	} else {
		return false;
	}
	return inet_pton(AF_INET, ip, bin) == 1 || inet_pton(AF_INET6, ip, bin) == 1;
}

/* SNI for names only (RFC 6066 forbids IP literals there); the name or address the
 * certificate must carry when verifying. */
static int set_peer_name(corio_tls *t, const char *name)
{
	char ip[INET6_ADDRSTRLEN];
	bool ok = true;

	if (!name || !*name)
		return 0;
	if (ip_literal(name, ip)) {
		if (t->cfg->verify)
			ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), ip) == 1;
	} else {
		ok = SSL_set_tlsext_host_name(t->ssl, name) == 1 &&
		     (!t->cfg->verify || SSL_set1_host(t->ssl, name) == 1);
	}
	ERR_clear_error();
	return ok ? 0 : -EINVAL;
}

/* ALPN offered per connection when the config has no list (the HTTP client's "http/1.1"
 * on a config the caller made): wire format, as the config keeps its own. */
static int offer_alpn(corio_tls *t, const char *alpn)
{
	unsigned char wire[256];
	size_t n = 0;

	if (!alpn || t->cfg->alpn)
		return 0;
	for (const char *p = alpn; *p;) {
		size_t len = strcspn(p, ",");

		if (len == 0 || len > 255 || n + 1 + len > sizeof wire)
			return -EINVAL;
		wire[n++] = (unsigned char)len;
		memcpy(wire + n, p, len);
		n += len;
		p += len + (p[len] == ',');
	}
	/* SSL_set_alpn_protos returns 0 on success. */
	return n && SSL_set_alpn_protos(t->ssl, wire, (unsigned)n) == 0 ? 0 : -EINVAL;
}

int corio__tls_connect_ex(int fd, const corio_tls_config *c, const char *server_name,
			  const char *alpn, corio__tls_session *resume, corio_tls **out)
{
	corio_tls *t;
	int rc;

	if (out)
		*out = NULL;
	if (!c || !out || c->server || (c->verify && (!server_name || !*server_name)))
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	if (!(t = conn_new(fd, c)))
		return -ENOMEM;
	if ((rc = set_peer_name(t, server_name)) < 0 || (rc = offer_alpn(t, alpn)) < 0) {
		ERR_clear_error();
		corio_tls_free(t);
		return rc;
	}
	/* A session that does not fit (another protocol version, expired) is simply not
	 * resumed: OpenSSL falls back to a full handshake. */
	if (resume && SSL_set_session(t->ssl, (SSL_SESSION *)resume) != 1)
		ERR_clear_error();
	SSL_set_connect_state(t->ssl);
	return finish(t, out);
}

int corio_tls_connect(int fd, const corio_tls_config *c, const char *server_name,
		      corio_tls **out)
{
	return corio__tls_connect_ex(fd, c, server_name, NULL, NULL, out);
}

int corio_tls_accept(int fd, const corio_tls_config *c, corio_tls **out)
{
	corio_tls *t;

	if (out)
		*out = NULL;
	if (!c || !out || !c->server || !c->has_cert)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	if (!(t = conn_new(fd, c)))
		return -ENOMEM;
	SSL_set_accept_state(t->ssl);
	return finish(t, out);
}

const char *corio_tls_error(const corio_tls *t)
{
	return t ? t->err : handshake_reason();
}
