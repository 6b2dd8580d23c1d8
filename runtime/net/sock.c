/* runtime/net/sock.c: the plain socket calls, each one io_uring operation: socket, connect,
 * recv, send, sendmsg, recvmsg (and sendto/recvfrom over them), shutdown, zero-copy send;
 * corio_send_all / corio_recv_exact over short transfers. corio_close is the core's
 * (runtime/core/close.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/uio.h>

#include "runtime/net/net_internal.h"

int corio_socket(int domain, int type, int protocol)
{
	corio__loop *l = corio__loop_get();
	corio__op op;

	/* IORING_OP_SOCKET arrived in 5.19: older kernels (and callers outside a loop) get
	 * the syscall, which never waits anyway. */
	if (!l || !l->current || !corio_caps_has_op(&l->caps, IORING_OP_SOCKET)) {
		int fd = socket(domain, type | SOCK_CLOEXEC, protocol);

		return fd < 0 ? -errno : fd;
	}
	io_uring_prep_socket(corio__op_sqe(&op), domain, type | SOCK_CLOEXEC, protocol, 0);
	return corio__op_await(&op, 0);
}

int corio_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	corio__op op;

	if (!addr)
		return -EFAULT;
	/* The kernel copies *addr when it starts the request; we stay parked until then. */
	io_uring_prep_connect(corio__op_sqe(&op), fd, addr, addrlen);
	return corio__op_await(&op, 0);
}

ssize_t corio_recv(int fd, void *buf, size_t len, int flags)
{
	corio__op op;

	if (len > INT32_MAX)
		len = INT32_MAX; /* an SQE's len is 32 bits; a short count is allowed */
	io_uring_prep_recv(corio__op_sqe(&op), fd, buf, len, flags);
	return corio__op_await(&op, 0);
}

ssize_t corio_send(int fd, const void *buf, size_t len, int flags)
{
	corio__op op;

	if (len > INT32_MAX)
		len = INT32_MAX;
	io_uring_prep_send(corio__op_sqe(&op), fd, buf, len, flags | MSG_NOSIGNAL);
	return corio__op_await(&op, 0);
}

ssize_t corio_send_zc(int fd, const void *buf, size_t len, int flags)
{
	corio__loop *l = corio__loop_get();
	corio__op op;

	/* IORING_OP_SEND_ZC: 6.0. Pinning pages only pays for large buffers. op_complete
	 * (op.c) keeps us parked until the F_NOTIF CQE says the kernel let go of buf. */
	if (!l || len < CORIO_SEND_ZC_MIN || !corio_caps_has_op(&l->caps, IORING_OP_SEND_ZC))
		return corio_send(fd, buf, len, flags);
	if (len > INT32_MAX)
		len = INT32_MAX;
	io_uring_prep_send_zc(corio__op_sqe(&op), fd, buf, len, flags | MSG_NOSIGNAL, 0);
	return corio__op_await(&op, 0);
}

ssize_t corio_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	corio__op op;

	if (!msg)
		return -EFAULT;
	io_uring_prep_sendmsg(corio__op_sqe(&op), fd, msg, (unsigned)flags | MSG_NOSIGNAL);
	return corio__op_await(&op, 0);
}

ssize_t corio_recvmsg(int fd, struct msghdr *msg, int flags)
{
	corio__op op;

	if (!msg)
		return -EFAULT;
	io_uring_prep_recvmsg(corio__op_sqe(&op), fd, msg, (unsigned)flags);
	return corio__op_await(&op, 0);
}

ssize_t corio_sendto(int fd, const void *buf, size_t len, int flags,
		     const struct sockaddr *addr, socklen_t addrlen)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = {
		.msg_name = (void *)addr,
		.msg_namelen = addr ? addrlen : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};

	return corio_sendmsg(fd, &msg, flags);
}

ssize_t corio_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
		       socklen_t *addrlen)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_name = addr,
		.msg_namelen = addr && addrlen ? *addrlen : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n = corio_recvmsg(fd, &msg, flags);

	if (n >= 0 && addr && addrlen)
		*addrlen = msg.msg_namelen;
	return n;
}

int corio_shutdown(int fd, int how)
{
	corio__op op;

	io_uring_prep_shutdown(corio__op_sqe(&op), fd, how);
	return corio__op_await(&op, 0);
}

ssize_t corio_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = corio_send(fd, p + done, len - done, 0);

		if (n < 0)
			return n;
		if (n == 0)
			return -EPIPE; /* send never returns 0 for len > 0; do not spin if it does */
		done += (size_t)n;
	}
	return (ssize_t)len;
}

ssize_t corio_recv_exact(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = corio_recv(fd, p + done, len - done, 0);

		if (n < 0)
			return n;
		if (n == 0)
			break; /* EOF: the count so far */
		done += (size_t)n;
	}
	return (ssize_t)done;
}
