/* tests/net/net_helpers.h: what the socket suites (tests/net/test_sockets.c, test_accept.c,
 * test_recv_ring.c) share: a seeded byte pattern, a listener on 127.0.0.1 at a port the kernel
 * chose, an echo server task and a sender, and the echo check. */
#ifndef CORIO_TESTS_NET_HELPERS_H
#define CORIO_TESTS_NET_HELPERS_H

#include <sys/socket.h>

#include "tests/support/helpers.h"

#define PORTLEN 8

static inline void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

static inline int listen_local(int backlog)
{
	return corio_tcp_listen("127.0.0.1", "0", backlog);
}

static inline void port_str(int lfd, char *buf)
{
	snprintf(buf, PORTLEN, "%d", corio_sock_port(lfd));
}

/* A listener on 127.0.0.1, a task serving it, and a client connected to it: where most of
 * the socket tests start. */
typedef struct served {
	int lfd, cfd;
	corio_task *srv;
} served;

/* Listens (backlog), spawns server(lfd) and connects to it. NULL, or what failed. */
static inline const char *serve_connect(served *p, int backlog, void *(*server)(void *))
{
	char port[PORTLEN];

	p->srv = NULL;
	p->cfd = -1;
	if ((p->lfd = listen_local(backlog)) < 0)
		return "listen";
	port_str(p->lfd, port);
	p->srv = corio_spawn(server, (void *)(intptr_t)p->lfd);
	p->cfd = corio_tcp_connect("127.0.0.1", port);
	return p->cfd < 0 ? "connect" : NULL;
}

/* Waits for the server task (its result into *res, may be NULL), then closes the client
 * and the listener. */
static inline void served_close(served *p, void **res)
{
	corio_join(p->srv, res);
	corio_close(p->cfd);
	corio_listen_close(p->lfd);
}

/* Echoes one connection until EOF or error; closes it. Returns bytes echoed. */
static inline void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[16384];
	intptr_t total = 0;

	for (;;) {
		ssize_t n = corio_recv(fd, buf, sizeof buf, 0);

		if (n <= 0)
			break;
		if (corio_send_all(fd, buf, (size_t)n) != n)
			break;
		total += n;
	}
	corio_close(fd);
	return (void *)total;
}

/* Accepts one connection on the listener and echoes it. */
static inline void *echo_one(void *arg)
{
	int fd = corio_accept((int)(intptr_t)arg, NULL, NULL);

	if (fd < 0)
		return (void *)(intptr_t)fd;
	return echo_conn((void *)(intptr_t)fd);
}

typedef struct xfer {
	int fd;
	const unsigned char *out;
	unsigned char *in;
	size_t len;
	ssize_t rc;
	bool shut; /* shutdown(SHUT_WR) after sending */
	bool zc;
} xfer;

static inline void *sender(void *p)
{
	xfer *x = p;

	if (x->zc) {
		size_t done = 0;

		while (done < x->len) {
			size_t chunk = x->len - done > 65536 ? 65536 : x->len - done;
			ssize_t n = corio_send_zc(x->fd, x->out + done, chunk, 0);

			if (n <= 0) {
				x->rc = n;
				return NULL;
			}
			done += (size_t)n;
		}
		x->rc = (ssize_t)done;
	} else {
		x->rc = corio_send_all(x->fd, x->out, x->len);
	}
	if (x->shut)
		corio_shutdown(x->fd, SHUT_WR);
	return NULL;
}

/* Sends len bytes through an echo server over a fresh connection and checks them. */
static inline const char *echo_check(size_t len, unsigned seed, bool zc)
{
	int lfd = listen_local(16), cfd;
	char port[PORTLEN];
	unsigned char *out = malloc(len), *in = malloc(len);
	corio_task *srv, *snd;
	xfer x = { .out = out, .len = len, .shut = true, .zc = zc };
	ssize_t got;
	void *echoed;
	const char *err = NULL;

	if (lfd < 0 || !out || !in)
		return "setup";
	fill(out, len, seed);
	port_str(lfd, port);
	srv = corio_spawn(echo_one, (void *)(intptr_t)lfd);
	cfd = corio_tcp_connect("127.0.0.1", port);
	if (cfd < 0)
		return "connect";
	x.fd = cfd;
	snd = corio_spawn(sender, &x);
	got = corio_recv_exact(cfd, in, len);
	corio_join(snd, NULL);
	corio_join(srv, &echoed);
	if (got != (ssize_t)len || x.rc != (ssize_t)len)
		err = "short echo";
	else if (memcmp(in, out, len) != 0)
		err = "bytes differ";
	else if ((intptr_t)echoed != (intptr_t)len)
		err = "server count";
	else if (corio_recv(cfd, in, 1, 0) != 0)
		err = "no EOF after echo";
	corio_close(cfd);
	corio_listen_close(lfd);
	free(out);
	free(in);
	return err;
}

/* Accepts, reads a little, then closes with SO_LINGER 0: the peer gets an RST. */
static inline void *rst_server(void *arg)
{
	int fd = corio_accept((int)(intptr_t)arg, NULL, NULL);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char buf[1000];

	if (fd < 0)
		return (void *)(intptr_t)fd;
	corio_recv_exact(fd, buf, sizeof buf);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	corio_close(fd);
	return NULL;
}

#endif
