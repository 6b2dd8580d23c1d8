/* http/server/io.c: a connection's socket I/O, the layer under the request body reader
 * (body.c), the response writer (writer.c) and the connection's coroutine (conn.c):
 * receiving under a deadline, through a multishot receiver or plain receives; sending
 * iovecs and the corked output c->obuf.p under the write deadline; and marking the
 * connection broken when a send fails. Receives and sends park; nothing here calls up into
 * the files above it. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "http/server/server_internal.h"
#include "runtime/net/receiver_ext.h"

/* Receiving: a plain corio_recv per read by default; through a multishot receiver per
 * connection with CORIO_HTTP_RECV=multishot (corio_receiver, net.h: one request stays
 * armed for the connection's life, no receive submitted per request; 4% less CPU per
 * hello-world request, README). Not the default: the receiver's buffers come from one pool
 * per loop, and under mixed abuse (corio-bench run soak: pipelined floods, bursts of 1 000
 * connections, slow clients) the pool ran dry and well-behaved keep-alive requests waited
 * in their sockets, 10-40 requests/s instead of ~15 000, with the loop asleep; plain
 * receives held 15 000/s and half the memory in the same run. Where the kernel has no
 * provided-buffer rings (5.19) or multishot receive (6.0) the receiver is never used. */
static bool recv_multishot;
static pthread_once_t recv_mode_once = PTHREAD_ONCE_INIT;

static void recv_mode_init(void)
{
	const char *e = getenv("CORIO_HTTP_RECV");

	recv_multishot = e && strcmp(e, "multishot") == 0;
}

void corio__hserver_rx_open(corio__hserver_conn *c)
{
	pthread_once(&recv_mode_once, recv_mode_init);
	if (recv_multishot && !c->tls)
		c->rx = corio_receiver_new(c->fd); /* NULL: plain receives */
}

/* The deadline is a loop-kept one (runtime/time/deadline.h), not a timeout scope: no linked
 * timeout per receive. It interrupts the receiver's wait as well as a plain receive. */
ssize_t corio__hserver_recv(corio__hserver_conn *c, void *buf, size_t len, uint64_t deadline)
{
	corio__deadline d;
	ssize_t n;

	corio__deadline_begin(&d, deadline);
	if (c->tls)
		n = corio_tls_read(c->tls, buf, len); /* 0: close_notify; a cut is -EPROTO */
	else
		n = c->rx ? corio_receiver_recv(c->rx, buf, len) : corio_recv(c->fd, buf, len, 0);
	return corio__deadline_end(&d, n);
}


/* Waits for input without a buffer to receive it into: the receiver's own wait, or a
 * one-byte MSG_PEEK that leaves the byte in the socket. With TLS, bytes already taken from
 * the socket (a partial record) count as input. */
int corio__hserver_wait_input(corio__hserver_conn *c, uint64_t deadline)
{
	corio__deadline d;
	char byte;
	ssize_t n;

	if (c->tls && corio__tls_buffered(c->tls))
		return 0;
	corio__deadline_begin(&d, deadline);
	n = c->rx ? corio__receiver_wait(c->rx) : corio_recv(c->fd, &byte, 1, MSG_PEEK);
	n = corio__deadline_end(&d, n);
	return n < 0 ? (int)n : 0;
}


uint64_t corio__hserver_write_deadline(corio__hserver_conn *c)
{
	return corio__deadline_after(c->hl->srv->o.write_timeout_ns);
}

int corio__hserver_broke(corio__hserver_conn *c, int err)
{
	c->fate = CORIO__HSERVER_BROKEN;
	if (!c->resp.err)
		c->resp.err = err;
	return err;
}

/* TLS: the pieces become records sent together (a head and a small body in one send),
 * under the write deadline as one loop-kept deadline (no linked timeout per send). */
static int send_tls(corio__hserver_conn *c, const struct iovec *iov, int n)
{
	corio__deadline d;
	ssize_t k;

	corio__deadline_begin(&d, corio__hserver_write_deadline(c));
	k = corio__deadline_end(&d, corio__tls_writev(c->tls, iov, n));
	return k < 0 ? corio__hserver_broke(c, (int)k) : 0;
}

/* Sends every byte of iov[0..n) (modified in place) under the write deadline. The first
 * attempt is MSG_DONTWAIT without a deadline: it nearly always fits in the socket buffer,
 * and then costs no linked timeout (a kernel timer armed and cancelled per send). Only
 * what does not fit waits, under the deadline. */
int corio__hserver_send_iov(corio__hserver_conn *c, struct iovec *iov, int n)
{
	corio_timeout t;
	bool scoped = false;
	int rc = 0;

	if (corio__hserver_broken(c))
		return c->resp.err ? c->resp.err : -EPIPE;
	if (c->tls)
		return send_tls(c, iov, n);
	while (n > 0) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		int flags = scoped ? 0 : MSG_DONTWAIT;
		ssize_t k;

		if (iov->iov_len == 0) {
			iov++, n--;
			continue;
		}
		k = n == 1 ? corio_send(c->fd, iov->iov_base, iov->iov_len, flags)
			   : corio_sendmsg(c->fd, &m, flags);
		if (!scoped && (k == -EAGAIN || (k > 0 && (size_t)k < iov->iov_len))) {
			corio_timeout_enter_at(&t, corio__hserver_write_deadline(c));
			scoped = true;
			if (k < 0)
				continue;
		}
		if (k <= 0) {
			rc = k < 0 ? (int)k : -EPIPE;
			break;
		}
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++, n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	if (scoped)
		corio_timeout_exit(&t);
	return rc < 0 ? corio__hserver_broke(c, rc) : 0;
}

int corio__hserver_flush(corio__hserver_conn *c)
{
	struct iovec iov = { c->obuf.p, c->obuf.len };
	int rc;

	if (!c->obuf.len)
		return corio__hserver_broken(c) ? -EPIPE : 0;
	rc = corio__hserver_send_iov(c, &iov, 1);
	c->obuf.len = 0;
	return rc;
}

