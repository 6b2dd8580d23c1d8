/* bench/peers/c/udp_epoll.c: the UDP echo server corio's udp benchmark (bench/b_udp.c) is
 * compared with: plain C, one non-blocking socket on 127.0.0.1, edge-triggered epoll, one
 * thread (a UDP socket is one queue; corio's server is one loop). A careful peer: on each
 * wakeup it reads until EAGAIN and sends every datagram straight back to its source; a
 * send the socket refuses (EAGAIN) drops that reply, as a UDP server under load does.
 *
 *     peer-udp_epoll PORT        (binds 127.0.0.1; runs until killed)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 65536

static int bound_socket(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Echoes every datagram waiting on fd. */
static void drain(int fd, char *buf)
{
	for (;;) {
		struct sockaddr_storage src;
		socklen_t len = sizeof src;
		ssize_t n = recvfrom(fd, buf, BUF, 0, (struct sockaddr *)&src, &len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN: until the next edge */
		}
		(void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&src, len);
	}
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, evs[8];
	char *buf = malloc(BUF);
	int fd, ep;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	fd = bound_socket(atoi(argv[1]));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0 || ep < 0 || !buf || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		perror("udp_epoll: setup");
		return 1;
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 8, -1);

		for (int i = 0; i < n; i++)
			drain(fd, buf);
	}
}
