/* runtime/net/tls_ext.c: the extras of runtime/net/tls_ext.h for corio's HTTP layers:
 * sessions to resume, resumption and buffering queries, gathered writes, config checks.
 * Only corio__tls_writev parks (in the pump); the rest never park. The handshake with an
 * ALPN offer and a session to resume lives with the other handshakes in tls.c. */
#include <errno.h>
#include <limits.h>

#include "runtime/net/tls_ext.h"
#include "runtime/net/tls_internal.h"

corio__tls_session *corio__tls_session_get(corio_tls *t)
{
	SSL_SESSION *s = t && t->handshaken ? SSL_get1_session(t->ssl) : NULL;

	if (s && !SSL_SESSION_is_resumable(s)) {
		SSL_SESSION_free(s);
		s = NULL;
	}
	return (corio__tls_session *)s;
}

void corio__tls_session_free(corio__tls_session *s)
{
	SSL_SESSION_free((SSL_SESSION *)s);
}

bool corio__tls_resumed(const corio_tls *t)
{
	return t && SSL_session_reused(t->ssl) == 1;
}

bool corio__tls_buffered(const corio_tls *t)
{
	return t && (SSL_has_pending(t->ssl) || t->in_off < t->in_len);
}

void corio__tls_trim(corio_tls *t)
{
	if (!t)
		return;
	if (!t->receiving && t->in_off == t->in_len) {
		free(t->in);
		t->in = NULL;
		t->in_off = t->in_len = 0;
	}
	if (!t->wq.len) {
		free(t->wq.p);
		t->wq = (corio__tls_buf){ 0 };
	}
	/* sq is the sender's while it holds the lock; an empty one with the lock free is idle */
	if (!t->sq.len && corio_mutex_trylock(&t->send_lock) == 0) {
		free(t->sq.p);
		t->sq = (corio__tls_buf){ 0 };
		corio_mutex_unlock(&t->send_lock);
	}
}

/* Records are flushed once this much ciphertext waits in t->wq. */
#define FLUSH_AT CORIO__TLS_CHUNK

ssize_t corio__tls_writev(corio_tls *t, const struct iovec *iov, int n)
{
	size_t total = 0;
	int rc;

	if (!t || n < 0 || (n > 0 && !iov))
		return -EINVAL;
	if (t->send_err)
		return t->send_err;
	if (t->shut)
		return -EPIPE;
	for (int i = 0; i < n; i++) {
		const unsigned char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		if (left > SSIZE_MAX - total)
			return -EINVAL;
		while (left > 0) {
			size_t chunk = left < CORIO__TLS_CHUNK ? left : CORIO__TLS_CHUNK;
			ssize_t done = corio__tls_write_record(t, p, chunk);

			if (done < 0)
				return done;
			p += done;
			left -= (size_t)done;
			total += (size_t)done;
			if (t->wq.len >= FLUSH_AT &&
			    (rc = corio__tls_flush(t, true)) < 0)
				return rc;
		}
	}
	if ((rc = corio__tls_flush(t, true)) < 0)
		return rc;
	return (ssize_t)total;
}

bool corio__tls_config_serves(const corio_tls_config *c)
{
	return c && c->server && c->has_cert;
}

bool corio__tls_config_is_client(const corio_tls_config *c)
{
	return c && !c->server;
}

corio_tls_config *corio__tls_config_hold(const corio_tls_config *c)
{
	/* The count is the one mutable part of a config its users see as const. */
	corio__tls_config_ref((corio_tls_config *)c);
	return (corio_tls_config *)c;
}

bool corio__tls_config_has_alpn(const corio_tls_config *c)
{
	return c && c->alpn;
}
