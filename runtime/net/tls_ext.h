/* runtime/net/tls_ext.h: what corio's own upper layers (the HTTP client and server) need of
 * a TLS connection beyond corio/tls.h: a client handshake that offers an ALPN list of its
 * own and resumes an earlier session, the session to keep for the next connection, whether
 * a pooled connection holds unread bytes, gathered writes, and config checks. Not
 * installed; implemented in runtime/net/tls_ext.c.
 *
 * Sessions: a corio__tls_session is a reference to an OpenSSL session. Whoever gets one
 * from corio__tls_session_get owns that reference and drops it with
 * corio__tls_session_free; corio__tls_connect_ex takes its own. */
#ifndef CORIO_TLS_EXT_H
#define CORIO_TLS_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include <corio/tls.h>

typedef struct corio__tls_session corio__tls_session;

/* corio_tls_connect, plus: alpn (comma-separated, as corio_tls_config_alpn) offered when
 * the config has no list of its own (NULL: none); resume, a session of the same origin to
 * resume (NULL: a full handshake). Parks. */
int corio__tls_connect_ex(int fd, const corio_tls_config *c, const char *server_name,
			  const char *alpn, corio__tls_session *resume, corio_tls **out);
/* The session of t, worth keeping for a later connection to the same origin; NULL when it
 * cannot be resumed. Never parks. */
corio__tls_session *corio__tls_session_get(corio_tls *t);
void corio__tls_session_free(corio__tls_session *s); /* NULL allowed */
/* Whether t's handshake resumed a session. */
bool corio__tls_resumed(const corio_tls *t);
/* Gives back t's buffers while they are empty (the receive buffer, the send queues; OpenSSL
 * frees its own record buffers when idle, SSL_MODE_RELEASE_BUFFERS): for a connection that
 * will wait long. They are taken again when needed. Never parks. */
void corio__tls_trim(corio_tls *t);
/* Whether t holds received bytes nobody has read yet (ciphertext or plaintext). */
bool corio__tls_buffered(const corio_tls *t);
/* Encrypts iov[0..n) into records and sends them, flushing once per ~16 KiB of records
 * rather than once per piece: a response head and a small body leave in one send. The
 * total, or -errno as corio_tls_write. Parks. */
ssize_t corio__tls_writev(corio_tls *t, const struct iovec *iov, int n);
/* Whether c is a server config with a certificate (one corio_tls_accept takes). */
bool corio__tls_config_serves(const corio_tls_config *c);
/* Whether c has an ALPN list of its own. */
bool corio__tls_config_has_alpn(const corio_tls_config *c);
/* Whether c is a client config. */
bool corio__tls_config_is_client(const corio_tls_config *c);
/* Takes a reference to c (shared configs are never modified through it): the holder
 * drops it with corio_tls_config_free. Returns c. */
corio_tls_config *corio__tls_config_hold(const corio_tls_config *c);

#endif
