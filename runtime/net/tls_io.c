/* runtime/net/tls_io.c: the data calls of an established TLS connection: read (0 after
 * close_notify), write (all bytes, one record of up to 16 KiB at a time), shutdown
 * (close_notify), and the ALPN result. read, write and shutdown park in the pump
 * (runtime/net/tls_pump.c); the rest never park. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include <openssl/err.h>

#include "runtime/net/tls_internal.h"

ssize_t corio_tls_read(corio_tls *t, void *buf, size_t len)
{
	if (!t || (!buf && len))
		return -EINVAL;
	if (len == 0)
		return 0;
	for (;;) {
		size_t got;
		int rc;

		ERR_clear_error();
		rc = SSL_read_ex(t->ssl, buf, len, &got);
		if (rc == 1)
			return (ssize_t)got;
		if (SSL_get_error(t->ssl, rc) == SSL_ERROR_ZERO_RETURN) {
			ERR_clear_error();
			return 0;
		}
		/* Either more ciphertext is in t->in now (retry) or this is the error. */
		if ((rc = corio__tls_pump(t, rc)) < 0)
			return rc;
	}
}

/* Our BIO never refuses a record, so SSL_write_ex either takes the whole chunk or failed
 * for good (renegotiation, the one reason a write could need a read, is off). Should it
 * ever ask to be retried, the pump does what it asks and the same chunk goes again, as
 * OpenSSL requires. */
ssize_t corio__tls_write_record(corio_tls *t, const void *p, size_t len)
{
	for (;;) {
		size_t n;
		int rc;

		ERR_clear_error();
		rc = SSL_write_ex(t->ssl, p, len, &n);
		if (rc == 1)
			return (ssize_t)n;
		if ((rc = corio__tls_pump(t, rc)) < 0)
			return rc;
	}
}

ssize_t corio_tls_write(corio_tls *t, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t done = 0;

	if (!t || (!buf && len) || len > SSIZE_MAX)
		return -EINVAL;
	if (t->send_err)
		return t->send_err;
	if (t->shut)
		return -EPIPE;
	/* One record per round: t->wq holds about one record, and the socket sees it while
	 * the next is encrypted. */
	while (done < len) {
		size_t chunk = len - done < CORIO__TLS_CHUNK ? len - done : CORIO__TLS_CHUNK;
		ssize_t n = corio__tls_write_record(t, p + done, chunk);
		int rc;

		if (n < 0)
			return n;
		done += (size_t)n;
		if ((rc = corio__tls_flush(t, true)) < 0)
			return rc;
	}
	return (ssize_t)len;
}

int corio_tls_shutdown(corio_tls *t)
{
	if (!t)
		return -EINVAL;
	if (t->shut)
		return t->send_err;
	t->shut = true;
	ERR_clear_error();
	/* 0: close_notify queued, the peer's not seen yet (we do not wait for it); 1: both. */
	if (SSL_shutdown(t->ssl) < 0)
		return corio__tls_proto_error(t, "TLS shutdown");
	return corio__tls_flush(t, true);
}

const char *corio_tls_alpn(const corio_tls *t)
{
	return t ? t->alpn : "";
}
