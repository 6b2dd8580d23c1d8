/* runtime/net/udp_receiver.c: corio_udp_receiver, many datagrams for one SQE. One
 * IORING_OP_RECVMSG with IORING_RECV_MULTISHOT (6.0) stays armed per socket; the kernel
 * writes each datagram into a buffer of the receiver's own provided-buffer ring
 * (io_uring_register_buf_ring, 5.19) laid out as struct io_uring_recvmsg_out, then the
 * source address (msg_namelen bytes), then the payload, and corio_udp_receiver_recv copies
 * it out and gives the buffer back.
 *
 * The ring (bufring.c) is the receiver's own (RING_BUFS buffers of max_datagram plus the
 * header), not the loop's stream pool of recvring.c: a datagram must land whole in one
 * buffer, so the buffer size is the socket's business. When every buffer is held the kernel ends the
 * request with -ENOBUFS and further datagrams wait in the socket buffer (dropped when that
 * fills, as UDP does); taking one re-arms it.
 *
 * Kernels without multishot recvmsg (caps.udp_multishot false), and receivers made while
 * tests set corio__udp_force_fallback, do one corio_recvmsg per call into the caller's
 * buffer instead: the same results, an SQE per datagram.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "runtime/net/net_internal.h"
#include "runtime/util/deque.h"

#define RING_BUFS 64u                               /* a power of two (ring entries) */
#define NAME_MAX_LEN sizeof(struct sockaddr_storage) /* room for any source address */
#define DGRAM_MAX 65507u                            /* IPv4's largest UDP payload */
#define BGID_FIRST 0x0100u                          /* ids of our buffer groups: */
#define BGID_LAST 0x3fffu                           /* apart from recvring.c's 0x4e54 */

bool corio__udp_force_fallback;

typedef struct dgram {
	uint16_t bid;
	int32_t len; /* bytes the kernel wrote into the buffer */
} dgram;

struct corio_udp_receiver {
	corio__completion c;
	corio__loop *loop;
	int fd;
	bool multishot, armed, freed;
	corio__op *op;             /* without multishot: the reader's recvmsg while it runs */
	int err;                   /* reported once, then the request is re-armed */
	size_t maxdg;              /* max_datagram: longer ones are truncated (-EMSGSIZE) */
	struct msghdr mh;          /* the request's template: only the lengths matter */
	corio__bufring ring;       /* valid while multishot */
	corio__deque q;            /* dgram, oldest first */
	corio__wait *waiter;
};

static __thread uint16_t next_bgid = BGID_FIRST;

/* The receiver's ring under a free group id (another receiver may hold one: -EEXIST).
 * bufsz: header, source address, payload, in 16-byte steps to keep headers aligned. */
static int ring_setup(corio_udp_receiver *r)
{
	size_t bufsz = (sizeof(struct io_uring_recvmsg_out) + NAME_MAX_LEN + r->maxdg + 15) &
		       ~(size_t)15;
	int rc = -EEXIST;

	for (unsigned i = 0; i < 64 && rc == -EEXIST; i++) {
		uint16_t bgid = next_bgid;

		next_bgid = (uint16_t)(next_bgid >= BGID_LAST ? BGID_FIRST : next_bgid + 1u);
		rc = corio__bufring_init(&r->loop->ring, &r->ring, RING_BUFS, bufsz, bgid);
	}
	return rc;
}

static void destroy(corio_udp_receiver *r)
{
	if (r->multishot)
		corio__bufring_fini(&r->loop->ring, &r->ring);
	corio__deque_free(&r->q);
	free(r);
}

static void arm(corio_udp_receiver *r)
{
	struct io_uring_sqe sqe;

	memset(&sqe, 0, sizeof sqe); /* prep helpers of liburing 2.6+ leave fields alone */
	io_uring_prep_recvmsg_multishot(&sqe, r->fd, &r->mh, 0);
	sqe.flags |= IOSQE_BUFFER_SELECT;
	sqe.buf_group = r->ring.bgid;
	corio__submit(r->loop, &sqe, &r->c, NULL, true);
	r->armed = true;
}

static void wake(corio_udp_receiver *r, int res)
{
	corio__wait *w = r->waiter;

	if (w) {
		r->waiter = NULL;
		corio__wait_wake(w, res);
	}
}

static void recv_cqe(corio__completion *c, int32_t res, uint32_t flags)
{
	corio_udp_receiver *r = (corio_udp_receiver *)c;

	if (!(flags & IORING_CQE_F_MORE))
		r->armed = false;
	if (res >= 0 && (flags & IORING_CQE_F_BUFFER)) {
		dgram d = { .bid = (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT), .len = res };

		if (r->freed || corio__deque_push(&r->q, &d) != 0) {
			corio__bufring_put(&r->ring, d.bid);
			if (!r->freed)
				r->err = -ENOMEM; /* that datagram is lost: say so once */
		}
	} else if (res < 0 && res != -ENOBUFS && res != -EINTR && res != -EAGAIN &&
		   !(res == -ECANCELED && r->freed)) {
		r->err = res; /* -ENOBUFS: every buffer is held; taking one re-arms */
	}
	if (r->freed) {
		if (!r->armed)
			destroy(r);
		return;
	}
	wake(r, 0);
}

static int check_socket(int fd)
{
	int type = 0;
	socklen_t len = sizeof type;

	if (fd < 0)
		return EBADF;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
		return EBADF; /* closed, or not a socket (ENOTSOCK) */
	return type == SOCK_DGRAM ? 0 : EINVAL;
}

corio_udp_receiver *corio_udp_receiver_new(int fd, size_t max_datagram)
{
	corio__loop *l = corio__loop_get();
	corio_udp_receiver *r;
	int err = l ? check_socket(fd) : EPERM;

	if (!err && max_datagram > 65535)
		err = EINVAL;
	if (!err && !(r = calloc(1, sizeof *r)))
		err = ENOMEM;
	if (err) {
		errno = err;
		return NULL;
	}
	r->loop = l;
	r->fd = fd;
	r->c.fn = recv_cqe;
	corio__deque_init(&r->q, sizeof(dgram));
	r->mh.msg_namelen = NAME_MAX_LEN;
	r->maxdg = max_datagram ? max_datagram : DGRAM_MAX;
	r->multishot = l->caps.udp_multishot && !corio__udp_force_fallback;
	if (!r->multishot)
		return r;
	err = -ring_setup(r);
	if (err)
		r->multishot = false; /* nothing of the ring to release */
	else if (corio__deque_grow(&r->q) != 0)
		err = ENOMEM;
	if (err) {
		destroy(r);
		errno = err;
		return NULL;
	}
	arm(r); /* receiving starts now: datagrams arriving before the first read wait */
	return r;
}

/* Copies the source address as recvfrom does: at most *srclen bytes, *srclen = its size. */
static void give_src(const void *name, socklen_t namelen, struct sockaddr *src,
		     socklen_t *srclen)
{
	if (!src || !srclen)
		return;
	memcpy(src, name, namelen < *srclen ? namelen : *srclen);
	*srclen = namelen;
}

/* Hands out the oldest queued datagram and gives its buffer back (re-arming a request
 * that ended for want of buffers). Its length, or -EMSGSIZE when it did not fit in len
 * (or in the receiver's buffer), with what fit copied. */
static ssize_t take(corio_udp_receiver *r, void *buf, size_t len, struct sockaddr *src,
		    socklen_t *srclen)
{
	dgram d;
	struct io_uring_recvmsg_out *o;
	size_t plen;
	ssize_t rc;

	corio__deque_pop(&r->q, &d);
	o = io_uring_recvmsg_validate(corio__bufring_buf(&r->ring, d.bid), d.len, &r->mh);
	if (!o) {
		rc = -EIO; /* shorter than its own header: never seen, but not trusted */
	} else {
		plen = io_uring_recvmsg_payload_length(o, d.len, &r->mh);
		if (plen && len) /* buf may be NULL for len 0 */
			memcpy(buf, io_uring_recvmsg_payload(o, &r->mh), plen < len ? plen : len);
		give_src(io_uring_recvmsg_name(o),
			 o->namelen < r->mh.msg_namelen ? o->namelen : r->mh.msg_namelen, src,
			 srclen);
		rc = plen > len || (o->flags & MSG_TRUNC) ? -EMSGSIZE : (ssize_t)plen;
	}
	corio__bufring_put(&r->ring, d.bid);
	if (!r->armed && !r->freed && !r->err)
		arm(r);
	return rc;
}

/* Without multishot: one recvmsg straight into the caller's buffer, at most max_datagram
 * bytes of it, so that both paths truncate alike. The op is the receiver's while it runs,
 * so that corio_udp_receiver_free can cancel it; the reader then frees r and returns
 * -EBADF (a datagram it got meanwhile is dropped with the receiver). */
static ssize_t recv_once(corio_udp_receiver *r, void *buf, size_t len, struct sockaddr *src,
			 socklen_t *srclen)
{
	struct sockaddr_storage ss;
	struct iovec iov = { .iov_base = buf, .iov_len = len < r->maxdg ? len : r->maxdg };
	struct msghdr msg = { .msg_name = &ss, .msg_namelen = sizeof ss, .msg_iov = &iov,
			      .msg_iovlen = 1 };
	corio__op op;
	ssize_t n;

	io_uring_prep_recvmsg(corio__op_sqe(&op), r->fd, &msg, 0);
	r->op = &op;
	n = corio__op_await(&op, 0);
	r->op = NULL;
	if (r->freed) {
		destroy(r);
		return -EBADF;
	}
	if (n < 0)
		return n;
	give_src(&ss, msg.msg_namelen, src, srclen);
	return msg.msg_flags & MSG_TRUNC ? -EMSGSIZE : n;
}

/* Parks until a datagram, an error or the receiver's end. 0 or the wait's error. */
static int wait_dgram(corio_udp_receiver *r, corio__loop *l)
{
	corio__wait w = { .task = l->current, .what = "udp receiver", .obj = r };
	int rc;

	if (!r->armed)
		arm(r);
	r->waiter = &w;
	rc = corio__wait_park(&w);
	/* -EBADF: corio_udp_receiver_free woke us, and r may be gone already (its final CQE
	 * can come before we run). Otherwise r lives: a free wakes its waiter first. */
	if (rc != -EBADF && r->waiter == &w)
		r->waiter = NULL; /* ended by cancellation or deadline */
	return rc;
}

ssize_t corio_udp_receiver_recv(corio_udp_receiver *r, void *buf, size_t len,
				struct sockaddr *src, socklen_t *srclen)
{
	corio__loop *l = corio__loop_get();
	int rc;

	if (!r || (!buf && len) || (src && !srclen))
		return -EINVAL;
	if (!l || !l->current)
		return -EPERM;
	if (r->loop != l)
		return -EINVAL;
	if (r->waiter || r->op)
		return -EBUSY;
	if (!r->multishot)
		return recv_once(r, buf, len, src, srclen);
	for (;;) {
		if (corio__task_cancel_due(l->current))
			return -ECANCELED;
		if (r->q.len)
			return take(r, buf, len, src, srclen);
		if (r->err) {
			rc = r->err;
			r->err = 0; /* reported once; waiting again re-arms */
			return rc;
		}
		rc = wait_dgram(r, l);
		if (rc < 0)
			return rc;
	}
}

void corio_udp_receiver_free(corio_udp_receiver *r)
{
	if (!r)
		return;
	r->freed = true;
	wake(r, -EBADF);
	if (r->op) { /* its reader frees r when its recvmsg ends */
		if (!r->op->done && !r->op->cancel_sent && corio__loop_get() == r->loop)
			corio__submit_cancel(r->loop, &r->op->c);
		return;
	}
	if (r->armed && corio__loop_get() == r->loop)
		corio__submit_cancel(r->loop, &r->c); /* destroyed at its final CQE */
	else if (!r->armed)
		destroy(r);
}
