/* corio/tls.h: TLS 1.2/1.3 over a connected corio socket, with OpenSSL's state machine
 * underneath. OpenSSL never touches the socket: it reads and writes memory buffers, and the
 * ciphertext moves through corio_recv / corio_send (io_uring), so every call here that waits
 * parks the calling task like any socket call does.
 *
 * Rules shared by the calls that "park" (connect, accept, read, write, shutdown):
 *   - They must be called from a task (-EPERM elsewhere).
 *   - They honour cancellation (-ECANCELED) and timeout scopes (-ETIMEDOUT), passed through
 *     from the socket calls. A cancelled or timed-out read loses nothing: bytes already
 *     received stay inside the connection for the next read. A cancelled or timed-out write
 *     (or shutdown) leaves the connection's sending side broken (how much of a record went
 *     out is unknown): later writes return the same error.
 *   - One task at a time may read and one may write, at the same time (full duplex); a
 *     second reader while one is parked gets -EBUSY.
 *   - Errors are negative errno values:
 *       -EKEYREJECTED  the peer's certificate failed verification (untrusted, expired,
 *                      wrong name); corio_tls_error says which.
 *       -EPROTO        handshake or record failure, an alert from the peer, plain bytes
 *                      where TLS was expected, or the stream cut without close_notify
 *                      after the handshake (the data may be truncated).
 *       -ECONNRESET    the peer is gone (reset, or closed before the handshake finished).
 *       -EINVAL        a bad argument (NULL, a server config given to connect, ...).
 *       -ENOMEM, and -errno from the socket for anything else.
 *
 * Ownership: a corio_tls does not own its fd (corio_tls_free closes nothing); it holds a
 * reference to its config, so corio_tls_config_free may be called while connections made
 * with it are still open.
 */
#ifndef CORIO_TLS_H
#define CORIO_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <corio/net.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration (never parks) -------------------------------------------------------
 * One config per role and policy, shareable between connections and threads. Set it up
 * before the first connection: once a connection uses it the setters return -EBUSY
 * (corio_tls_config_verify is then ignored). */
typedef struct corio_tls_config corio_tls_config;

/* A client (server false) or server config, TLS 1.2 minimum. A client trusts the system
 * store and verifies the server's certificate and name; a server asks for no client
 * certificate. NULL on ENOMEM. */
CORIO_API corio_tls_config *corio_tls_config_new(bool server);
/* Trust exactly these CAs (a PEM file and/or a hashed directory, either may be NULL but not
 * both) in place of the system store. On a server config it also makes the server ask for
 * a client certificate if verification is on. 0, -EINVAL, -ENOENT (unreadable or no
 * certificate in it), -EBUSY. */
CORIO_API int corio_tls_config_ca(corio_tls_config *c, const char *ca_file, const char *ca_dir);
/* This side's certificate chain (PEM, leaf first) and private key (PEM). Required for a
 * server. 0, -EINVAL, -ENOENT (unreadable or not PEM), -EKEYREJECTED (the key does not
 * match the certificate), -EBUSY. */
CORIO_API int corio_tls_config_cert(corio_tls_config *c, const char *chain_file,
				    const char *key_file);
/* Client: verify the server's certificate and name (default true; false accepts anyone,
 * for tests only). Server: true requires a client certificate signed by the CAs given to
 * corio_tls_config_ca (default false). */
CORIO_API void corio_tls_config_verify(corio_tls_config *c, bool verify);
/* ALPN protocols as comma-separated text, most preferred first ("h2,http/1.1"). A client
 * offers them; a server picks the first of its own list that the client offered (and
 * goes on without ALPN when there is none in common). 0, -EINVAL (empty list, empty name or
 * a name over 255 bytes), -ENOMEM, -EBUSY. */
CORIO_API int corio_tls_config_alpn(corio_tls_config *c, const char *protos);
/* Drops the caller's reference; the config goes when its last connection is freed. NULL is
 * allowed. */
CORIO_API void corio_tls_config_free(corio_tls_config *c);

/* ---- connections ----------------------------------------------------------------------- */
typedef struct corio_tls corio_tls;

/* The client handshake over the connected socket fd; parks. server_name is the name (SNI,
 * then checked against the certificate) or an IP literal ("127.0.0.1", "::1" or "[::1]":
 * no SNI, checked against the certificate's IP addresses). It may be NULL only when the
 * config does not verify. On success *out is the connection (free it with corio_tls_free).
 * On failure *out is NULL, and corio_tls_error(NULL) describes the failure until the
 * calling task's next handshake (each task has its own, as errno per thread: the reasons of
 * a thread's 16 most recent failing tasks are kept). */
CORIO_API int corio_tls_connect(int fd, const corio_tls_config *c, const char *server_name,
				corio_tls **out);
/* The server handshake over the accepted socket fd; parks. As corio_tls_connect.
 * With TLS 1.3 a client's handshake ends before the server has checked the client's
 * certificate: a refusal reaches that client on its first corio_tls_read (-EPROTO, the
 * server's alert), while this call returns -EKEYREJECTED. */
CORIO_API int corio_tls_accept(int fd, const corio_tls_config *c, corio_tls **out);
/* Up to len decrypted bytes: >0, 0 once the peer's close_notify was read (and for
 * len == 0), -errno. Parks until at least one byte is there. */
CORIO_API ssize_t corio_tls_read(corio_tls *t, void *buf, size_t len);
/* Encrypts and sends all len bytes (in records of up to 16 KiB); parks. len or -errno. */
CORIO_API ssize_t corio_tls_write(corio_tls *t, const void *buf, size_t len);
/* Sends close_notify (once; later calls return 0 at once) and returns without waiting for
 * the peer's; parks while it is sent. The socket stays open: shut it or close it yourself.
 * 0 or -errno. */
CORIO_API int corio_tls_shutdown(corio_tls *t);
/* Frees t (NULL allowed) and drops its config reference. Closes nothing, sends nothing,
 * never parks. */
CORIO_API void corio_tls_free(corio_tls *t);
/* The last failure of t, for humans: the certificate verification result ("certificate
 * has expired", "hostname mismatch", ...), OpenSSL's first reason, or what the transport
 * did. "" when nothing failed. With t NULL: the calling task's last failed handshake
 * (outside a task: the last one made outside any task on this thread). */
CORIO_API const char *corio_tls_error(const corio_tls *t);
/* A buffered stream (corio/net.h) over the established connection t running on the socket
 * fd. The stream owns both from now on: corio_stream_close flushes, sends close_notify,
 * frees t and closes fd (whatever fails on the way). Reads return 0 after the peer's
 * close_notify; the stream's calls return the TLS errors above. NULL on ENOMEM, t NULL or
 * fd < 0 (errno is not set). Never parks. */
CORIO_API corio_stream *corio_stream_new_tls(corio_tls *t, int fd);
/* The ALPN protocol agreed in the handshake ("" when none). Never parks. */
CORIO_API const char *corio_tls_alpn(const corio_tls *t);

#ifdef __cplusplus
}
#endif

#endif
