/* corio/net.h: sockets on io_uring: TCP and Unix domain sockets, listeners with a
 * multishot accept underneath, address resolution, and buffered streams (the asyncio
 * StreamReader/StreamWriter pair).
 *
 * UDP: corio_udp_bind / corio_udp_connect make the socket, corio_sendto/corio_recvfrom
 * (or corio_send/corio_recv on a connected one, corio_sendmsg/corio_recvmsg for ancillary
 * data) move datagrams, and corio_udp_receiver keeps one multishot receive armed for a
 * socket that receives a lot. Unix datagram sockets have corio_unix_listen(path,
 * SOCK_DGRAM, ...).
 *
 * Every socket call is an io_uring operation (IORING_OP_SOCKET, CONNECT, ACCEPT, RECV, SEND,
 * SENDMSG, RECVMSG, SHUTDOWN, CLOSE, SEND_ZC). Only what never waits is a plain syscall:
 * setsockopt, bind, listen, getsockname/getpeername (and socket(2) itself before 5.19).
 *
 * Rules shared by every call here that "parks" (all of them except corio_sock_port,
 * corio_net_strerror, corio_receiver_new/free, corio_stream_new and corio_stream_fd):
 *   - It must be called from a task (-EPERM elsewhere). corio_socket, corio_close and the
 *     listen calls fall back to plain syscalls outside a loop (corio_tcp_listen for a
 *     numeric host only: a name needs the thread pool, hence a task).
 *   - Errors are negative errno values, returned, never stored in errno.
 *   - It honours cancellation (-ECANCELED) and timeout scopes (-ETIMEDOUT). A cancelled
 *     call waits for the kernel to let go of the caller's buffers, and if the operation
 *     completed anyway it returns the real result: no byte and no descriptor is lost.
 *   - Sends never raise SIGPIPE: MSG_NOSIGNAL is always added; a reset peer gives -EPIPE
 *     or -ECONNRESET.
 *   - Descriptors made here carry SOCK_CLOEXEC.
 */
#ifndef CORIO_NET_H
#define CORIO_NET_H

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <corio/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- plain socket calls ------------------------------------------------------------- */

/* socket(2) through IORING_OP_SOCKET (5.19+; a plain syscall on older kernels or outside
 * a loop). type may carry SOCK_NONBLOCK; SOCK_CLOEXEC is always added. fd or -errno. */
CORIO_API int corio_socket(int domain, int type, int protocol);
/* connect(2). 0 or -errno (-ECONNREFUSED, -ETIMEDOUT, -ENOENT for a missing Unix path). */
CORIO_API int corio_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);
/* Accepts one connection on the listening socket fd: the new fd (SOCK_CLOEXEC) or -errno.
 * addr/addrlen (both may be NULL) get the peer address, as with accept(2); *addrlen is set
 * to 0 when the peer already went away.
 *
 * Served by one multishot accept per listener and loop (IORING_ACCEPT_MULTISHOT, 5.19+),
 * armed by the first corio_accept and re-armed whenever the kernel ends it; connections it
 * accepts while nobody waits are queued for later calls (past 256 the multishot request is
 * cancelled and newcomers stay in the kernel's backlog until a caller waits again), several
 * tasks may accept on the same listener. Kernels before 5.19 get one plain accept per arm
 * instead. Running out of descriptors (EMFILE, ENFILE, ENOBUFS, ENOMEM from the kernel) is
 * never returned: the listener backs off (one retry every 10 ms, no spinning) while the
 * pending connections wait in the kernel's backlog, and accepting resumes when descriptors
 * are free again. Transient per-connection errors (ECONNABORTED, EPROTO, ...) are skipped as
 * accept(2) advises (after 8 in a row, with the same back-off). Other errors (-EINVAL: not
 * listening, -EBADF, -ENOTSOCK) are returned. -ENOMEM only when corio's own bookkeeping
 * (the listener, or a scope's timer) cannot be allocated; a connection that cannot be
 * queued for lack of memory is closed. After corio_listen_close the waiting callers get
 * -EBADF. */
CORIO_API int corio_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);
/* Stops serving fd (cancels its multishot accept, closes connections accepted but not yet
 * handed out, wakes parked corio_accept callers with -EBADF) and closes it. Use it (or
 * corio_close, see corio/fs.h) for listeners. 0 or -errno. */
CORIO_API int corio_listen_close(int fd);

/* recv(2) / send(2): bytes transferred (maybe fewer than len), 0 at EOF for recv, -errno. */
CORIO_API ssize_t corio_recv(int fd, void *buf, size_t len, int flags);
CORIO_API ssize_t corio_send(int fd, const void *buf, size_t len, int flags);
/* sendmsg(2) / recvmsg(2), for datagrams and ancillary data. msg and everything it points
 * to must stay valid until the call returns (it does: the call parks). */
CORIO_API ssize_t corio_sendmsg(int fd, const struct msghdr *msg, int flags);
CORIO_API ssize_t corio_recvmsg(int fd, struct msghdr *msg, int flags);
/* sendto(2) / recvfrom(2) over sendmsg/recvmsg (addr may be NULL). */
CORIO_API ssize_t corio_sendto(int fd, const void *buf, size_t len, int flags,
			       const struct sockaddr *addr, socklen_t addrlen);
CORIO_API ssize_t corio_recvfrom(int fd, void *buf, size_t len, int flags,
				 struct sockaddr *addr, socklen_t *addrlen);
/* close(2) through IORING_OP_CLOSE; runs even in a cancelled task or past a deadline.
 * Defined with the file calls (also declared in corio/fs.h). 0 or -errno. */
CORIO_API int corio_close(int fd);
/* shutdown(2): SHUT_RD, SHUT_WR or SHUT_RDWR. 0 or -errno. */
CORIO_API int corio_shutdown(int fd, int how);

/* Sends all len bytes, looping over short sends. Returns len, or -errno (the connection
 * is then broken; how much of buf went out is unknown). */
CORIO_API ssize_t corio_send_all(int fd, const void *buf, size_t len);
/* Receives exactly len bytes, looping over short receives. Returns len; a count in
 * 0..len-1 when the peer closed first (EOF; that many bytes are in buf); or -errno (bytes
 * received before the error are in buf but not counted). */
CORIO_API ssize_t corio_recv_exact(int fd, void *buf, size_t len);

/* Zero-copy send (IORING_OP_SEND_ZC, 6.0+) for buffers of at least CORIO_SEND_ZC_MIN
 * bytes where the kernel supports it; a plain send otherwise. Returns once the kernel has
 * released buf (its notification CQE arrived), so buf may be reused at once. Same results
 * as corio_send. */
#define CORIO_SEND_ZC_MIN 16384
CORIO_API ssize_t corio_send_zc(int fd, const void *buf, size_t len, int flags);

/* ---- multishot receive ----------------------------------------------------------------
 * An alternative to corio_recv for connections that receive a lot: one multishot recv
 * (IORING_RECV_MULTISHOT, 6.0) stays armed per connection and the kernel fills buffers of
 * a per-loop provided-buffer ring (16 KiB each), so one SQE serves many receives.
 * Data that arrives while nobody reads waits in those buffers, up to about 64 KiB per
 * receiver; beyond that receiving pauses until the reader took everything, and the rest
 * waits in the socket (TCP's window pushes back on the sender). The pool is shared by the
 * loop's receivers; when it runs dry a connection waits until buffers come back. */
typedef struct corio_receiver corio_receiver;

/* A receiver for the connected socket fd, on this thread's loop (does not own fd). NULL
 * with errno set (ENOMEM, EPERM outside a loop, EBADF for fd < 0, EOPNOTSUPP without
 * IORING_OP_RECV, or the buffer ring's register error). Never parks. */
CORIO_API corio_receiver *corio_receiver_new(int fd);
/* Like corio_recv(fd, buf, len, 0): bytes copied (>0), 0 at EOF, -errno (reported once).
 * One task at a time (-EBUSY otherwise). Cancellation and timeouts lose nothing: data
 * stays queued in the receiver. */
CORIO_API ssize_t corio_receiver_recv(corio_receiver *r, void *buf, size_t len);
/* Cancels the receive and frees r once the kernel is done with it (never parks); data
 * not yet read is dropped. Call it before or after closing fd. */
CORIO_API void corio_receiver_free(corio_receiver *r);

/* ---- TCP ------------------------------------------------------------------------------ */

/* corio_tcp_listen_flags flags. */
#define CORIO_LISTEN_REUSEPORT 0x1u /* SO_REUSEPORT: one listener per loop on one port */
#define CORIO_LISTEN_V6ONLY 0x2u    /* IPv6 socket without IPv4-mapped addresses */

/* A listening TCP socket on host:port with SO_REUSEADDR and TCP_NODELAY (inherited by
 * accepted connections). host: a numeric IPv4 or IPv6 address ("127.0.0.1", "::1",
 * "[::1]"), a name (resolved with getaddrinfo on the thread pool; the first address that
 * binds wins), or NULL / "" / "*" for every address (IPv6 "::" accepting IPv4 too, or
 * 0.0.0.0 where IPv6 is unavailable). port: a number ("0" picks a free port: see
 * corio_sock_port) or a service name. backlog < 0 means SOMAXCONN. Listening fd or -errno
 * (or a resolution error, see CORIO_EAI_BASE). */
CORIO_API int corio_tcp_listen(const char *host, const char *port, int backlog);
CORIO_API int corio_tcp_listen_flags(const char *host, const char *port, int backlog,
				     unsigned flags);
/* The local port of a bound socket (host byte order), or -errno. Never parks. */
CORIO_API int corio_sock_port(int fd);

/* Connects to host:port and returns the connected fd (TCP_NODELAY set) or -errno.
 * Numeric addresses (and NULL/"" = 127.0.0.1) are parsed without any thread; names go
 * through corio_resolve (its cache included). When a name has both IPv6 and IPv4
 * addresses the attempts race as Happy Eyeballs (RFC 8305) does: see
 * corio_tcp_connect_addrinfo. The error of the last attempt is returned (-ECONNREFUSED,
 * -ENETUNREACH, ...). A timeout scope or a cancellation ends the whole attempt (-ETIMEDOUT
 * / -ECANCELED) and no attempt's socket survives it. */
CORIO_API int corio_tcp_connect(const char *host, const char *port);
/* Connects to one of the addresses of list (as corio_resolve gives it; only SOCK_STREAM
 * entries of AF_INET and AF_INET6 are used), Happy Eyeballs v2 (RFC 8305): the list is
 * reordered to alternate families starting with the first entry's, one attempt starts,
 * and the next one starts after the connection attempt delay (250 ms, or at once when an
 * attempt fails) while earlier ones keep running; the first to connect wins and the others
 * are cancelled and closed. The winner's fd (TCP_NODELAY set) or the last error; -EINVAL
 * when list has no usable entry. Parks. */
CORIO_API int corio_tcp_connect_addrinfo(const struct addrinfo *list);

/* ---- name resolution -------------------------------------------------------------------- */

/* Resolves host:port (port may be NULL or a service name) for family AF_UNSPEC, AF_INET
 * or AF_INET6, like getaddrinfo with AI_ADDRCONFIG and socktype SOCK_STREAM (set
 * ai_socktype yourself for other uses: the addresses are the same). Numeric hosts are
 * parsed without any thread; names go to getaddrinfo on the blocking pool (a native
 * resolver may replace it later: the call stays the same). With AF_UNSPEC the list is in
 * RFC 6724 order as getaddrinfo sorts it. *out gets a list owned by the caller: free it
 * with corio_resolve_free (not freeaddrinfo). Successful answers for names are cached per
 * loop for the loop's TTL (corio_resolve_ttl); failures are never cached. 0, a CORIO_EAI
 * code, -EINVAL (host NULL or empty, bad family), -ENOMEM, -ECANCELED, -ETIMEDOUT, -EPERM
 * (names outside a task). Parks for names not in the cache. */
CORIO_API int corio_resolve(const char *host, const char *port, int family,
			    struct addrinfo **out);
CORIO_API void corio_resolve_free(struct addrinfo *list);
/* Sets how long this loop keeps resolved names: 0 turns the cache off (and empties it).
 * getaddrinfo gives no TTL, so the one chosen here is the only one; the default is 30 s,
 * as nscd's positive-time-to-live is an hour and browsers keep about a minute. At most
 * 1024 names are kept (the oldest goes first). Returns the previous TTL. Loop-local:
 * outside a loop it does nothing and returns 0. Never parks. */
CORIO_API uint64_t corio_resolve_ttl(uint64_t ttl_ns);
/* Drops every cached name of this loop. Never parks. */
CORIO_API void corio_resolve_flush(void);

/* ---- UDP -------------------------------------------------------------------------------- */

/* A UDP socket bound to host:port. host: numeric, a name (first address that binds), or
 * NULL / "" / "*" for every address (IPv6 "::" accepting IPv4 too, or 0.0.0.0 where IPv6 is
 * unavailable). port "0" picks a free port (corio_sock_port tells which). fd or -errno. */
CORIO_API int corio_udp_bind(const char *host, const char *port);
/* A UDP socket connected to host:port (only that peer's datagrams are received; send with
 * corio_send, receive with corio_recv; an ICMP port-unreachable shows as -ECONNREFUSED on
 * a later call). fd or -errno. */
CORIO_API int corio_udp_connect(const char *host, const char *port);

/* A multishot receive for a datagram socket (IORING_OP_RECVMSG with
 * IORING_RECV_MULTISHOT, 6.0+, and a provided-buffer ring of its own): one SQE serves many
 * datagrams, each with its source address. Datagrams that arrive while nobody reads wait
 * in the ring's buffers (up to 64 of them); past that the request pauses and they wait in
 * the socket's receive buffer, which drops them when full, as without a receiver (reading
 * re-arms it). Without multishot support each call is one plain recvmsg. */
typedef struct corio_udp_receiver corio_udp_receiver;
/* A receiver for fd (not owned) taking datagrams up to max_datagram bytes (0: 65507).
 * NULL with errno set (ENOMEM, EPERM outside a loop, EBADF, EINVAL). Never parks. */
CORIO_API corio_udp_receiver *corio_udp_receiver_new(int fd, size_t max_datagram);
/* Copies the next datagram into buf and its source into src/srclen (both may be NULL;
 * *srclen in, out as with recvfrom). The datagram's length (0 for an empty one); when it
 * is longer than len, the first len bytes are copied and -EMSGSIZE is returned (the
 * datagram is consumed). -errno of the socket, -ECANCELED, -ETIMEDOUT. One task at a time
 * (-EBUSY). Cancellation loses nothing: the datagram stays queued. Parks. */
CORIO_API ssize_t corio_udp_receiver_recv(corio_udp_receiver *r, void *buf, size_t len,
					  struct sockaddr *src, socklen_t *srclen);
/* Cancels the receive and frees r once the kernel is done with it. Never parks. */
CORIO_API void corio_udp_receiver_free(corio_udp_receiver *r);

/* Resolution errors. getaddrinfo's EAI_* codes (negative in glibc) come back as
 * CORIO_EAI(EAI_x) == -(CORIO_EAI_BASE - EAI_x), e.g. EAI_NONAME (-2) -> -10002,
 * EAI_AGAIN (-3) -> -10003, EAI_SERVICE (-8) -> -10008; except EAI_MEMORY -> -ENOMEM and
 * EAI_SYSTEM -> -errno. corio_net_strerror describes any result. */
#define CORIO_EAI_BASE 10000
#define CORIO_EAI(eai) (-(CORIO_EAI_BASE - (eai)))
#define CORIO_IS_EAI(rc) ((rc) <= -CORIO_EAI_BASE && (rc) > -CORIO_EAI_BASE - 100)
/* strerror for -errno, gai_strerror for CORIO_EAI codes. Never parks. */
CORIO_API const char *corio_net_strerror(int err);

/* ---- Unix domain sockets -------------------------------------------------------------- */

/* A Unix socket bound to path (a leading '@' names the abstract namespace; an existing
 * socket file at path is removed first, as asyncio does). type SOCK_STREAM or
 * SOCK_SEQPACKET: listening (backlog < 0: SOMAXCONN), accept with corio_accept.
 * SOCK_DGRAM: bound only; use corio_recvfrom/corio_sendto. fd or -errno. */
CORIO_API int corio_unix_listen(const char *path, int type, int backlog);
/* A Unix socket of type connected to path. fd or -errno (-ENOENT, -ECONNREFUSED). */
CORIO_API int corio_unix_connect(const char *path, int type);

/* ---- buffered streams (asyncio StreamReader / StreamWriter) --------------------------- */

typedef struct corio_stream corio_stream;

/* A buffered stream over fd (a socket, pipe, tty or file at its current position). The
 * stream owns fd from now on: corio_stream_close closes it. NULL on ENOMEM or fd < 0.
 * Never parks. One task at a time may read, one may write. */
CORIO_API corio_stream *corio_stream_new(int fd);
CORIO_API int corio_stream_fd(const corio_stream *s);
/* Up to len bytes: what is buffered if anything is, else one read. >0, 0 at EOF, -errno. */
CORIO_API ssize_t corio_stream_read_some(corio_stream *s, void *buf, size_t len);
/* Exactly len bytes: returns len; 0..len-1 at EOF (that many bytes are in buf); -errno.
 * After an error the bytes already copied to buf are consumed. */
CORIO_API ssize_t corio_stream_read_exact(corio_stream *s, void *buf, size_t len);
/* Reads up to and including the first occurrence of delim (dlen >= 1 bytes) into buf and
 * returns its length (delimiter included). max is the capacity of buf: when no delimiter
 * ends within the first max bytes, returns -EMSGSIZE and consumes nothing (the data stays
 * buffered: read it with read_some/read_exact, or call again with a larger max). At EOF
 * without a delimiter, returns what is left (no delimiter at its end; 0 when nothing is).
 * -ECANCELED / -ETIMEDOUT / -errno consume nothing either. */
CORIO_API ssize_t corio_stream_read_until(corio_stream *s, const void *delim, size_t dlen,
					  void *buf, size_t max);
/* Buffers len bytes for writing. When they would take the buffer past 64 KiB it is
 * flushed first (so it never holds more), and a write of 64 KiB or more then goes out
 * directly. Returns len or -errno (after a failed direct write, how much went out is
 * unknown). */
CORIO_API ssize_t corio_stream_write(corio_stream *s, const void *buf, size_t len);
/* Writes out everything buffered. 0 or -errno. */
CORIO_API int corio_stream_flush(corio_stream *s);
/* Flushes, closes fd and frees s (always, whatever the result). 0 or the first -errno.
 * A stream over TLS (corio_stream_new_tls, corio/tls.h) sends close_notify first. */
CORIO_API int corio_stream_close(corio_stream *s);

#ifdef __cplusplus
}
#endif

#endif
