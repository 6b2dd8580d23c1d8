/* http/ws/io.c: the transport of a corio_ws: a connected socket, a TLS connection over it,
 * or (server, multishot receive mode) the HTTP connection's receiver. Gathered sends: a
 * frame's header and payload leave in one sendmsg (one TLS flush). Receives, sends,
 * shutdown and close park; the caller holds the corio_ws's send lock around sends. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>

#include "http/ws/ws_internal.h"
#include "runtime/net/tls_ext.h" /* runtime/: gathered TLS writes */

ssize_t corio__ws_io_recv(corio__ws_io *io, void *buf, size_t len)
{
	if (io->tls)
		return corio_tls_read(io->tls, buf, len); /* a cut without close_notify: -EPROTO */
	if (io->rx)
		return corio_receiver_recv(io->rx, buf, len);
	return corio_recv(io->fd, buf, len, 0);
}

/* Drops the first k bytes of iov[0..*n). */
static struct iovec *advance(struct iovec *iov, int *n, size_t k)
{
	while (*n > 0 && k >= iov->iov_len) {
		k -= iov->iov_len;
		iov++, (*n)--;
	}
	if (*n > 0) {
		iov->iov_base = (char *)iov->iov_base + k;
		iov->iov_len -= k;
	}
	return iov;
}

int corio__ws_io_sendv(corio__ws_io *io, struct iovec *iov, int n)
{
	if (io->shut)
		return -EPIPE;
	if (io->tls) {
		ssize_t k = corio__tls_writev(io->tls, iov, n);

		return k < 0 ? (int)k : 0;
	}
	while (n > 0) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t k = corio_sendmsg(io->fd, &m, MSG_NOSIGNAL);

		if (k < 0)
			return (int)k;
		if (k == 0)
			return -EPIPE;
		iov = advance(iov, &n, (size_t)k);
	}
	return 0;
}

void corio__ws_io_shutdown(corio__ws_io *io)
{
	if (io->shut)
		return;
	io->shut = true;
	if (io->tls)
		corio_tls_shutdown(io->tls);
	corio_shutdown(io->fd, SHUT_WR);
}

void corio__ws_io_close(corio__ws_io *io)
{
	if (!io->owned)
		return;
	corio_tls_free(io->tls);
	io->tls = NULL;
	if (io->fd >= 0)
		corio_close(io->fd);
	io->fd = -1;
}
