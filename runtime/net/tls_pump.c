/* runtime/net/tls_pump.c: the pump between the connection's BIO buffers (tls_bio.c) and the
 * socket: sending the records queued in t->wq with corio_send_all under the connection's
 * send lock, receiving into t->in with one corio_recv when OpenSSL wants to read, and
 * turning what OpenSSL reports into corio's errors (-EKEYREJECTED, -EPROTO, -ECONNRESET)
 * with a reason for corio_tls_error. Both movers park (through io_uring, so cancellation and
 * timeout scopes apply); no OpenSSL call here or in its callers ever waits.
 *
 * Why a cancelled read loses no byte: the kernel writes ciphertext straight into t->in,
 * and in_len counts it as soon as corio_recv returns (it returns the real count even when
 * the task was cancelled meanwhile), before anything else happens; plaintext only leaves
 * OpenSSL through a successful SSL_read into the caller's buffer, whose count is returned.
 * A -ECANCELED or -ETIMEDOUT from corio_recv means the kernel delivered nothing; what
 * t->in and OpenSSL's record buffer already hold stays there for the next corio_tls_read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "runtime/net/tls_internal.h"

int corio__tls_proto_error(corio_tls *t, const char *what)
{
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	if (reason)
		snprintf(t->err, sizeof t->err, "%s: %s", what, reason);
	else
		snprintf(t->err, sizeof t->err, "%s", what);
	ERR_clear_error();
	return -EPROTO;
}

/* A failed send or receive: the peer being gone reads the same whichever way we noticed. */
static int transport_error(corio_tls *t, const char *what, int err)
{
	if (err == -EPIPE)
		err = -ECONNRESET;
	snprintf(t->err, sizeof t->err, "%s: %s", what, strerror(-err));
	return err;
}

/* Called with the send lock held; t->sq is only touched under it. The queue OpenSSL
 * appends to becomes the one being sent (a swap, no copy), so records the reader or the
 * writer add while the send is parked go to the other buffer, which may grow meanwhile. */
static int drain(corio_tls *t)
{
	while (!t->send_err && t->wq.len > 0) {
		corio__tls_buf q = t->sq;
		ssize_t s;

		t->sq = t->wq;
		t->wq = q;
		s = corio_send_all(t->fd, t->sq.p, t->sq.len);
		/* On a failure how much left is unknown: the sending side is broken anyway. */
		t->sq.len = 0;
		if (s < 0)
			t->send_err = transport_error(t, "send", (int)s);
	}
	return t->send_err;
}

int corio__tls_flush(corio_tls *t, bool wait)
{
	int rc;

	if (t->send_err || t->wq.len == 0)
		return t->send_err;
	if (!wait) {
		/* Whoever holds the lock loops until t->wq is empty, ours included. */
		if (corio_mutex_trylock(&t->send_lock) != 0)
			return 0;
	} else if ((rc = corio_mutex_lock(&t->send_lock)) < 0) {
		/* Our records stay queued behind the holder's, but the caller is told the
		 * write failed: the sending side is declared broken rather than half-done. */
		t->send_err = transport_error(t, "send", rc);
		return rc;
	}
	rc = drain(t);
	corio_mutex_unlock(&t->send_lock);
	return rc;
}

/* One corio_recv into the free end of t->in. OpenSSL only asks for more once it took
 * everything (the BIO said "retry"), so this normally starts at the front; the move is for
 * safety, not speed. A second receive into the same buffer would overwrite the first:
 * refused, though only a bug could ask for one (writes never read, see tls_internal.h). */
static ssize_t receive(corio_tls *t)
{
	ssize_t n;

	if (t->receiving) {
		snprintf(t->err, sizeof t->err, "two tasks reading one TLS connection at once");
		return -EBUSY;
	}
	if (t->in_off > 0) {
		memmove(t->in, t->in + t->in_off, t->in_len - t->in_off);
		t->in_len -= t->in_off;
		t->in_off = 0;
	}
	if (!t->in && !(t->in = malloc(CORIO__TLS_INBUF))) {
		snprintf(t->err, sizeof t->err, "no memory for the TLS receive buffer");
		return -ENOMEM;
	}
	if (t->in_len == CORIO__TLS_INBUF) {
		snprintf(t->err, sizeof t->err, "TLS receive buffer full");
		return -EPROTO; /* OpenSSL asked for more while holding this much: cannot be */
	}
	t->receiving = true;
	n = corio_recv(t->fd, t->in + t->in_len, CORIO__TLS_INBUF - t->in_len, 0);
	t->receiving = false;
	if (n > 0)
		t->in_len += (size_t)n;
	return n < 0 ? transport_error(t, "receive", (int)n) : n;
}

/* WANT_READ: first send what OpenSSL produced (the peer may be waiting for it), then park
 * in one receive. A reader after the handshake does not wait for the send lock: a writer
 * blocked on a full socket must not hold up reading (the holder sends our bytes too). */
static int fill(corio_tls *t)
{
	ssize_t n;
	int rc = corio__tls_flush(t, !t->handshaken);

	if (rc < 0)
		return rc;
	n = receive(t);
	if (n < 0)
		return (int)n;
	t->eof = n == 0;
	if (n == 0 && !t->handshaken) {
		snprintf(t->err, sizeof t->err, "the peer closed the connection during the handshake");
		return -ECONNRESET;
	}
	if (n == 0) {
		snprintf(t->err, sizeof t->err, "the peer closed the connection without close_notify");
		return -EPROTO;
	}
	return 0;
}

/* SSL_ERROR_SSL: a verification failure has a result code that says why; anything else is
 * a protocol failure or an alert the peer sent. */
static int ssl_failure(corio_tls *t)
{
	unsigned long e = ERR_peek_error();
	long v = SSL_get_verify_result(t->ssl);

	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED && v != X509_V_OK) {
		snprintf(t->err, sizeof t->err, "certificate verify failed: %s",
			 X509_verify_cert_error_string(v));
		ERR_clear_error();
		return -EKEYREJECTED;
	}
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
		snprintf(t->err, sizeof t->err, "certificate verify failed: the peer sent none");
		ERR_clear_error();
		return -EKEYREJECTED; /* a server requiring client certificates */
	}
	return corio__tls_proto_error(t, t->handshaken ? "TLS record" : "TLS handshake");
}

/* The BIO could not queue a record: the connection lost it, so its sending side is broken. */
static int nomem(corio_tls *t)
{
	ERR_clear_error();
	snprintf(t->err, sizeof t->err, "out of memory queueing a TLS record");
	t->send_err = -ENOMEM;
	return -ENOMEM;
}

int corio__tls_pump(corio_tls *t, int rc)
{
	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return fill(t);
	case SSL_ERROR_WANT_WRITE:
		/* Our BIO never refuses a write (tls_internal.h says why); kept for safety, and
		 * with nothing to send a retry would spin. */
		if (t->wq.len == 0)
			return corio__tls_proto_error(t, "TLS write refused");
		return corio__tls_flush(t, true);
	case SSL_ERROR_SSL:
		if (t->bio_err)
			return nomem(t);
		return ssl_failure(t);
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		snprintf(t->err, sizeof t->err, "the peer sent close_notify");
		return t->handshaken ? -EPIPE : -ECONNRESET;
	default: /* SYSCALL (our BIO failed: only for memory), WANT_X509_LOOKUP, ... */
		if (t->bio_err)
			return nomem(t);
		return corio__tls_proto_error(t, "TLS failure");
	}
}
