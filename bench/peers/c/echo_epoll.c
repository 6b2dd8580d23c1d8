/* bench/peers/echo_epoll.c: the epoll echo server corio's echo benchmark is compared with:
 * plain C, non-blocking sockets, edge-triggered epoll, one thread per core, each thread with
 * its own SO_REUSEPORT listener (the same shape as corio's: shared nothing). A fair,
 * careful peer: reads until EAGAIN, writes back at once, buffers only what the socket
 * refused and then waits for EPOLLOUT.
 *
 *     peer-echo_epoll PORT [THREADS]        (binds 127.0.0.1; runs until killed)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 16384

typedef struct conn {
	int fd;
	char *pending;    /* bytes the socket refused: sent on EPOLLOUT before reading more */
	size_t plen, poff;
} conn;

static int port;

static int listener(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, SOMAXCONN) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void drop(conn *c)
{
	close(c->fd);
	free(c->pending);
	free(c);
}

/* Writes what is pending; false on error, *blocked when the socket is full. */
static bool flush_pending(conn *c, bool *blocked)
{
	while (c->poff < c->plen) {
		ssize_t n = write(c->fd, c->pending + c->poff, c->plen - c->poff);

		if (n < 0) {
			if (errno == EAGAIN) {
				*blocked = true;
				return true;
			}
			if (errno == EINTR)
				continue;
			return false;
		}
		c->poff += (size_t)n;
	}
	c->plen = c->poff = 0;
	return true;
}

static bool echo(conn *c, char *buf)
{
	bool blocked = false;

	if (!flush_pending(c, &blocked))
		return false;
	while (!blocked) {
		ssize_t n = read(c->fd, buf, BUF), w = 0;

		if (n == 0)
			return false;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		while (w < n) {
			ssize_t k = write(c->fd, buf + w, (size_t)(n - w));

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 && errno != EAGAIN)
				return false;
			if (k < 0) {
				/* Keep the rest; EPOLLOUT (edge) resumes us. */
				char *p = realloc(c->pending, (size_t)(n - w));

				if (!p)
					return false;
				memcpy(p, buf + w, (size_t)(n - w));
				c->pending = p;
				c->plen = (size_t)(n - w);
				c->poff = 0;
				blocked = true;
				break;
			}
			w += k;
		}
	}
	return true;
}

static void *worker(void *arg)
{
	int lfd = listener(), ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = NULL }, evs[256];
	char *buf = malloc(BUF);

	if (lfd < 0 || ep < 0 || !buf) {
		perror("echo_epoll: setup");
		exit(1);
	}
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			conn *c = evs[i].data.ptr;

			if (!c) {
				int fd;

				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct epoll_event cev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP |
										 EPOLLET };

					c = calloc(1, sizeof *c);
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					cev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
				}
				continue;
			}
			if ((evs[i].events & (EPOLLERR | EPOLLHUP)) || !echo(c, buf))
				drop(c); /* close removes it from the epoll set */
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t t;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
		return 2;
	}
	port = atoi(argv[1]);
	for (long i = 1; i < n; i++)
		pthread_create(&t, NULL, worker, NULL);
	worker(NULL);
	return 0;
}
