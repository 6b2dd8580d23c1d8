/* tests/net/test_net.c: sockets on io_uring (runtime/net/): TCP echo, IPv6, peer addresses,
 * connect errors (refused, timeout against a full backlog, resolution), reset mid-transfer,
 * half-close, cancel racing data arrival, Unix stream and datagram sockets, UDP, the
 * multishot accept (queued connections, several acceptors, timeouts, listen_close), EMFILE
 * on accept, 10 000 connections at once, short transfers under CORIO_FAULTS, zero-copy
 * send. Every loop run checks that no descriptor leaked (TH_RUN). Servers bind 127.0.0.1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "tests/support/helpers.h"

#define PORTLEN 8

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

static int listen_local(int backlog)
{
	return corio_tcp_listen("127.0.0.1", "0", backlog);
}

static void port_str(int lfd, char *buf)
{
	snprintf(buf, PORTLEN, "%d", corio_sock_port(lfd));
}

/* Echoes one connection until EOF or error; closes it. Returns bytes echoed. */
static void *echo_conn(void *arg)
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
static void *echo_one(void *arg)
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

static void *sender(void *p)
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
static const char *echo_check(size_t len, unsigned seed, bool zc)
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

/* ---- echo, addresses ---- */

static void *t_echo(void *arg)
{
	const char *e = echo_check(1 << 20, 7, false);

	TH_CHECK(e == NULL);
	e = echo_check(1, 8, false);
	TH_CHECK(e == NULL);
	return TH_OK;
}

START_TEST(echo_roundtrip)
{
	TH_RUN_EXPECT_OK(NULL, t_echo, NULL);
}
END_TEST

static void *t_addr(void *arg)
{
	int lfd = listen_local(4), cfd, sfd;
	char port[PORTLEN];
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in local;
	socklen_t llen = sizeof local;

	TH_CHECK(lfd >= 0);
	TH_CHECK(corio_sock_port(lfd) > 0);
	port_str(lfd, port);
	cfd = corio_tcp_connect(NULL, port); /* NULL host: 127.0.0.1 */
	TH_CHECK(cfd >= 0);
	sfd = corio_accept(lfd, (struct sockaddr *)&ss, &len);
	TH_CHECK(sfd >= 0);
	TH_CHECK(ss.ss_family == AF_INET && len == sizeof(struct sockaddr_in));
	TH_CHECK(in4->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	TH_CHECK(getsockname(cfd, (struct sockaddr *)&local, &llen) == 0);
	TH_CHECK(local.sin_port == in4->sin_port);
	TH_CHECK(corio_send_all(cfd, "ping", 4) == 4);
	/* Accepting on a socket that does not listen fails cleanly. */
	TH_CHECK(corio_accept(cfd, NULL, NULL) == -EINVAL);
	char b[4];
	TH_CHECK(corio_recv_exact(sfd, b, 4) == 4 && memcmp(b, "ping", 4) == 0);
	TH_CHECK(corio_close(sfd) == 0);
	TH_CHECK(corio_close(cfd) == 0);
	TH_CHECK(corio_listen_close(lfd) == 0);
	/* Bad arguments. */
	TH_CHECK(corio_tcp_listen_flags("127.0.0.1", "0", 1, 0x100) == -EINVAL);
	TH_CHECK(corio_tcp_connect("127.0.0.1", NULL) == -EINVAL);
	TH_CHECK(corio_accept(-1, NULL, NULL) == -EBADF);
	return TH_OK;
}

START_TEST(peer_address)
{
	TH_RUN_EXPECT_OK(NULL, t_addr, NULL);
}
END_TEST

static void *t_ipv6(void *arg)
{
	int lfd = corio_tcp_listen("::1", "0", 4), cfd, sfd;
	char port[PORTLEN];

	if (lfd == -EADDRNOTAVAIL || lfd == -EAFNOSUPPORT)
		return (void *)"skip";
	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	cfd = corio_tcp_connect("[::1]", port);
	TH_CHECK(cfd >= 0);
	sfd = corio_accept(lfd, NULL, NULL);
	TH_CHECK(sfd >= 0);
	TH_CHECK(corio_send_all(sfd, "v6", 2) == 2);
	char b[2];
	TH_CHECK(corio_recv_exact(cfd, b, 2) == 2 && memcmp(b, "v6", 2) == 0);
	corio_close(sfd);
	corio_close(cfd);
	corio_listen_close(lfd);
	return TH_OK;
}

START_TEST(ipv6_loopback)
{
	const char *r = TH_RUN(t_ipv6, NULL);

	ck_assert_msg(r == NULL || strcmp(r, "skip") == 0, "%s", r);
}
END_TEST

/* ---- connect errors ---- */

static void *t_refused(void *arg)
{
	int lfd = listen_local(1), hold, num;
	char port[PORTLEN];

	TH_CHECK(lfd >= 0);
	TH_CHECK(corio_listen_close(lfd) == 0);
	/* A port the test holds bound but not listening: a listener's port, once closed, may
	 * be taken by any other process before the connect. */
	hold = th_loopback_socket(&num, false);
	TH_CHECK(hold >= 0);
	snprintf(port, sizeof port, "%d", num);
	TH_CHECK(corio_tcp_connect("127.0.0.1", port) == -ECONNREFUSED);
	close(hold);
	return TH_OK;
}

START_TEST(connect_refused)
{
	TH_RUN_EXPECT_OK(NULL, t_refused, NULL);
}
END_TEST

static void *connect_task(void *port)
{
	return (void *)(intptr_t)corio_tcp_connect("127.0.0.1", port);
}

/* A listener with backlog 0 that never accepts: once its queue is full the kernel drops
 * further SYNs and connect hangs; the timeout scope must end it. */
static void *t_timeout(void *arg)
{
	int lfd = listen_local(0), fds[16], n = 0, rc = 0;
	char port[PORTLEN];
	bool timed_out = false;

	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	while (n < 16) {
		corio_timeout t;
		bool fired;

		corio_timeout_enter(&t, CORIO_MS(200));
		rc = corio_tcp_connect("127.0.0.1", port);
		fired = corio_timeout_exit(&t);
		/* -ETIMEDOUT from the scope, not from the kernel's own SYN retries (which give up
		 * after minutes, past the tcase's timeout anyway): no bound on elapsed time. */
		TH_CHECK(fired == (rc == -ETIMEDOUT));
		if (rc == -ETIMEDOUT) {
			timed_out = true;
			break;
		}
		TH_CHECK(rc >= 0);
		fds[n++] = rc;
	}
	/* The backlog is still full: a connect that is cancelled returns -ECANCELED. */
	if (timed_out) {
		corio_task *t = corio_spawn(connect_task, port);
		void *r;

		corio_sleep(CORIO_MS(20));
		corio_cancel(t);
		TH_CHECK(corio_join(t, &r) == -ECANCELED);
		TH_CHECK((intptr_t)r == -ECANCELED);
	}
	for (int i = 0; i < n; i++)
		corio_close(fds[i]);
	corio_listen_close(lfd);
	/* The kernel dropped SYNs within 16 attempts (it always does on Linux). */
	TH_CHECK(timed_out);
	return TH_OK;
}

START_TEST(connect_timeout_full_backlog)
{
	TH_RUN_EXPECT_OK(NULL, t_timeout, NULL);
}
END_TEST

static void *t_resolve(void *arg)
{
	int lfd = listen_local(4), cfd, sfd;
	char port[PORTLEN];

	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	/* "localhost" goes through getaddrinfo (/etc/hosts) on the thread pool; when ::1
	 * comes first it is refused and 127.0.0.1 is tried next. */
	cfd = corio_tcp_connect("localhost", port);
	TH_CHECK(cfd >= 0);
	sfd = corio_accept(lfd, NULL, NULL);
	TH_CHECK(sfd >= 0);
	corio_close(sfd);
	corio_close(cfd);
	/* A service name that does not exist: EAI_SERVICE, mapped. No network involved. */
	cfd = corio_tcp_connect("127.0.0.1", "no-such-service-corio");
	TH_CHECK(cfd == CORIO_EAI(EAI_SERVICE));
	TH_CHECK(strcmp(corio_net_strerror(cfd), gai_strerror(EAI_SERVICE)) == 0);
	TH_CHECK(CORIO_IS_EAI(cfd));
	TH_CHECK(strlen(corio_net_strerror(cfd)) > 0);
	TH_CHECK(!CORIO_IS_EAI(-ECONNREFUSED));
	/* A service name that exists resolves through the same path. */
	lfd = corio_listen_close(lfd);
	TH_CHECK(lfd == 0);
	return TH_OK;
}

START_TEST(resolve_names)
{
	TH_RUN_EXPECT_OK(NULL, t_resolve, NULL);
}
END_TEST

/* ---- reset, half-close ---- */

/* Accepts, reads a little, then closes with SO_LINGER 0: the peer gets an RST. */
static void *rst_server(void *arg)
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

static void *t_reset(void *arg)
{
	int lfd = listen_local(4), cfd;
	char port[PORTLEN];
	size_t len = 64 << 20;
	unsigned char *big = calloc(1, len);
	ssize_t rc;
	corio_task *srv;

	TH_CHECK(lfd >= 0 && big);
	port_str(lfd, port);
	srv = corio_spawn(rst_server, (void *)(intptr_t)lfd);
	cfd = corio_tcp_connect("127.0.0.1", port);
	TH_CHECK(cfd >= 0);
	/* 64 MiB cannot fit in the socket buffers: the reset arrives mid-transfer. */
	rc = corio_send_all(cfd, big, len);
	TH_CHECK(rc == -ECONNRESET || rc == -EPIPE);
	/* Every later call fails cleanly too. */
	rc = corio_send(cfd, big, 100, 0);
	TH_CHECK(rc == -EPIPE || rc == -ECONNRESET);
	rc = corio_recv(cfd, big, 100, 0);
	TH_CHECK(rc == 0 || rc == -ECONNRESET);
	corio_join(srv, NULL);
	corio_close(cfd);
	corio_listen_close(lfd);
	free(big);
	return TH_OK;
}

START_TEST(peer_reset_mid_transfer)
{
	TH_RUN_EXPECT_OK(NULL, t_reset, NULL);
}
END_TEST

static void *t_reset_recv(void *arg)
{
	int lfd = listen_local(4), cfd;
	char port[PORTLEN], buf[1000] = { 0 };
	corio_task *srv;
	ssize_t rc;

	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	srv = corio_spawn(rst_server, (void *)(intptr_t)lfd);
	cfd = corio_tcp_connect("127.0.0.1", port);
	TH_CHECK(cfd >= 0);
	TH_CHECK(corio_send_all(cfd, buf, sizeof buf) == sizeof buf);
	/* Parked in recv when the RST arrives. */
	rc = corio_recv_exact(cfd, buf, sizeof buf);
	TH_CHECK(rc == -ECONNRESET || rc == 0);
	corio_join(srv, NULL);
	corio_close(cfd);
	corio_listen_close(lfd);
	return TH_OK;
}

START_TEST(peer_reset_during_recv)
{
	TH_RUN_EXPECT_OK(NULL, t_reset_recv, NULL);
}
END_TEST

/* Reads to EOF, then answers and closes. */
static void *half_server(void *arg)
{
	int fd = corio_accept((int)(intptr_t)arg, NULL, NULL);
	char buf[64];
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return (void *)"accept";
	while ((n = corio_recv(fd, buf + got, sizeof buf - got, 0)) > 0)
		got += (size_t)n;
	if (n != 0 || got != 5 || memcmp(buf, "hello", 5) != 0) {
		corio_close(fd);
		return (void *)"server read";
	}
	if (corio_send_all(fd, "bye", 3) != 3) {
		corio_close(fd);
		return (void *)"server send";
	}
	corio_close(fd);
	return TH_OK;
}

static void *t_half(void *arg)
{
	int lfd = listen_local(4), cfd;
	char port[PORTLEN], buf[8];
	corio_task *srv;
	void *res;

	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	srv = corio_spawn(half_server, (void *)(intptr_t)lfd);
	cfd = corio_tcp_connect("127.0.0.1", port);
	TH_CHECK(cfd >= 0);
	TH_CHECK(corio_send_all(cfd, "hello", 5) == 5);
	TH_CHECK(corio_shutdown(cfd, SHUT_WR) == 0);
	TH_CHECK(corio_recv_exact(cfd, buf, 8) == 3); /* "bye", then EOF */
	TH_CHECK(memcmp(buf, "bye", 3) == 0);
	TH_CHECK(corio_send(cfd, "x", 1, 0) == -EPIPE);
	corio_join(srv, &res);
	TH_CHECK(res == TH_OK);
	corio_close(cfd);
	corio_listen_close(lfd);
	return TH_OK;
}

START_TEST(half_close)
{
	TH_RUN_EXPECT_OK(NULL, t_half, NULL);
}
END_TEST

/* ---- cancel racing data arrival ---- */

typedef struct reader {
	int fd;
	unsigned char *buf;
	size_t have, cap;
	int cancelled;
} reader;

static void *read_until_cancel(void *p)
{
	reader *r = p;

	for (;;) {
		size_t want = r->cap - r->have < 7 ? r->cap - r->have : 7;
		ssize_t n;

		if (want == 0)
			return NULL;
		n = corio_recv(r->fd, r->buf + r->have, want, 0);
		if (n <= 0) {
			r->cancelled += n == -ECANCELED;
			return NULL;
		}
		r->have += (size_t)n;
	}
}

static void *trickle(void *p)
{
	xfer *x = p;

	for (size_t i = 0; i < x->len; i += 13) {
		size_t n = x->len - i < 13 ? x->len - i : 13;

		if (corio_send_all(x->fd, x->out + i, n) != (ssize_t)n)
			return (void *)"send";
		if (i % 3 == 0)
			corio_yield();
	}
	return NULL;
}

static void *t_cancel_recv(void *arg)
{
	int sv[2];
	size_t len = 20000;
	unsigned char *out = malloc(len);
	reader r = { .buf = malloc(len), .cap = len };
	xfer x = { .out = out, .len = len };
	corio_task *snd;
	unsigned round = 0;

	TH_CHECK(out && r.buf);
	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	fill(out, len, 3);
	x.fd = sv[0];
	r.fd = sv[1];
	snd = corio_spawn(trickle, &x);
	/* Readers are cancelled after a varying number of loop turns, racing the sender:
	 * whatever a cancelled recv got is kept, nothing is read twice or lost. */
	while (r.have < len && round < 100000) {
		corio_task *rd = corio_spawn(read_until_cancel, &r);

		for (unsigned i = 0; i < round % 5; i++)
			corio_yield();
		corio_cancel(rd);
		TH_CHECK(corio_join(rd, NULL) == -ECANCELED);
		round++;
	}
	corio_join(snd, NULL);
	TH_CHECK(r.have == len);
	TH_CHECK(memcmp(r.buf, out, len) == 0);
	TH_CHECK(r.cancelled > 0);
	corio_close(sv[0]);
	corio_close(sv[1]);
	free(out);
	free(r.buf);
	return TH_OK;
}

START_TEST(cancel_recv_loses_nothing)
{
	TH_RUN_EXPECT_OK(NULL, t_cancel_recv, NULL);
}
END_TEST

/* ---- Unix sockets, UDP ---- */

static void *t_unix(void *arg)
{
	char path[108], dpath[108], cpath[108];
	int lfd, cfd, sfd;
	char buf[32];

	snprintf(path, sizeof path, "/tmp/corio-test-%d.sock", getpid());
	lfd = corio_unix_listen(path, SOCK_STREAM, 8);
	TH_CHECK(lfd >= 0);
	cfd = corio_unix_connect(path, SOCK_STREAM);
	TH_CHECK(cfd >= 0);
	sfd = corio_accept(lfd, NULL, NULL);
	TH_CHECK(sfd >= 0);
	TH_CHECK(corio_send_all(cfd, "unix", 4) == 4);
	TH_CHECK(corio_recv_exact(sfd, buf, 4) == 4 && memcmp(buf, "unix", 4) == 0);
	corio_close(sfd);
	corio_close(cfd);
	corio_listen_close(lfd);
	/* The stale socket file is replaced by the next listen. */
	lfd = corio_unix_listen(path, SOCK_STREAM, 8);
	TH_CHECK(lfd >= 0);
	corio_listen_close(lfd);
	unlink(path);
	TH_CHECK(corio_unix_connect(path, SOCK_STREAM) == -ENOENT);

	/* Abstract namespace. */
	snprintf(path, sizeof path, "@corio-test-%d", getpid());
	lfd = corio_unix_listen(path, SOCK_STREAM, 8);
	TH_CHECK(lfd >= 0);
	cfd = corio_unix_connect(path, SOCK_STREAM);
	TH_CHECK(cfd >= 0);
	sfd = corio_accept(lfd, NULL, NULL);
	TH_CHECK(sfd >= 0);
	corio_close(sfd);
	corio_close(cfd);
	corio_listen_close(lfd);

	/* Datagrams: a bound server and a bound client that gets the reply. */
	snprintf(dpath, sizeof dpath, "/tmp/corio-test-%d.dgram", getpid());
	snprintf(cpath, sizeof cpath, "/tmp/corio-test-%d.client", getpid());
	int srv = corio_unix_listen(dpath, SOCK_DGRAM, 0);
	int cli = corio_unix_listen(cpath, SOCK_DGRAM, 0);
	TH_CHECK(srv >= 0 && cli >= 0);
	struct sockaddr_un to = { .sun_family = AF_UNIX }, from;
	socklen_t flen = sizeof from;
	strcpy(to.sun_path, dpath);
	TH_CHECK(corio_sendto(cli, "dgram", 5, 0, (struct sockaddr *)&to, sizeof to) == 5);
	TH_CHECK(corio_recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen) == 5);
	TH_CHECK(memcmp(buf, "dgram", 5) == 0);
	TH_CHECK(strcmp(from.sun_path, cpath) == 0);
	TH_CHECK(corio_sendto(srv, "reply", 5, 0, (struct sockaddr *)&from, flen) == 5);
	TH_CHECK(corio_recv(cli, buf, sizeof buf, 0) == 5 && memcmp(buf, "reply", 5) == 0);
	/* A connected datagram socket through corio_unix_connect. */
	int con = corio_unix_connect(dpath, SOCK_DGRAM);
	TH_CHECK(con >= 0);
	TH_CHECK(corio_send(con, "conn", 4, 0) == 4);
	TH_CHECK(corio_recv(srv, buf, sizeof buf, 0) == 4 && memcmp(buf, "conn", 4) == 0);
	corio_close(con);
	corio_close(srv);
	corio_close(cli);
	unlink(dpath);
	unlink(cpath);
	return TH_OK;
}

START_TEST(unix_stream_and_dgram)
{
	TH_RUN_EXPECT_OK(NULL, t_unix, NULL);
}
END_TEST

static void *t_udp(void *arg)
{
	int a = corio_socket(AF_INET, SOCK_DGRAM, 0), b = corio_socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof addr;
	char buf[64], name[64];
	struct iovec iov[2] = { { "hel", 3 }, { "lo", 2 } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

	TH_CHECK(a >= 0 && b >= 0);
	TH_CHECK(bind(a, (struct sockaddr *)&addr, sizeof addr) == 0);
	TH_CHECK(getsockname(a, (struct sockaddr *)&addr, &len) == 0);
	msg.msg_name = &addr;
	msg.msg_namelen = sizeof addr;
	TH_CHECK(corio_sendmsg(b, &msg, 0) == 5);
	struct iovec riov = { buf, sizeof buf };
	struct msghdr rmsg = { .msg_name = name, .msg_namelen = sizeof name, .msg_iov = &riov,
			       .msg_iovlen = 1 };
	TH_CHECK(corio_recvmsg(a, &rmsg, 0) == 5);
	TH_CHECK(memcmp(buf, "hello", 5) == 0);
	TH_CHECK(rmsg.msg_namelen == sizeof(struct sockaddr_in));
	TH_CHECK(corio_sendmsg(a, NULL, 0) == -EFAULT);
	corio_close(a);
	corio_close(b);
	return TH_OK;
}

START_TEST(udp_sendmsg_recvmsg)
{
	TH_RUN_EXPECT_OK(NULL, t_udp, NULL);
}
END_TEST

/* ---- multishot accept ---- */

static void *accept_once(void *arg)
{
	return (void *)(intptr_t)corio_accept((int)(intptr_t)arg, NULL, NULL);
}

static void *t_accept_queue(void *arg)
{
	int lfd = listen_local(64), c[6], s[6];
	char port[PORTLEN];
	corio_task *acc[3];
	void *r;

	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	/* Three acceptors parked at once, then six connections: three go straight to the
	 * waiters, three wait in the listener's queue for the next calls. */
	for (int i = 0; i < 3; i++)
		acc[i] = corio_spawn(accept_once, (void *)(intptr_t)lfd);
	corio_yield();
	for (int i = 0; i < 6; i++) {
		c[i] = corio_tcp_connect("127.0.0.1", port);
		TH_CHECK(c[i] >= 0);
	}
	for (int i = 0; i < 3; i++) {
		corio_join(acc[i], &r);
		s[i] = (int)(intptr_t)r;
		TH_CHECK(s[i] >= 0);
	}
	corio_sleep(CORIO_MS(20));
	for (int i = 3; i < 6; i++) {
		s[i] = corio_accept(lfd, NULL, NULL);
		TH_CHECK(s[i] >= 0);
	}
	/* Each server end talks to its own client: the server end whose peer address is the
	 * client's own gets its byte (found by address, not by polling with no timeout right
	 * after the send, which misses a byte still on its way under load). */
	for (int i = 0, used = 0; i < 6; i++) {
		struct sockaddr_in me, peer;
		socklen_t len = sizeof me;
		char b = (char)('a' + i), got = 0;
		int j;

		TH_CHECK(getsockname(c[i], (struct sockaddr *)&me, &len) == 0);
		for (j = 0; j < 6; j++) {
			len = sizeof peer;
			TH_CHECK(getpeername(s[j], (struct sockaddr *)&peer, &len) == 0);
			if (peer.sin_port == me.sin_port && peer.sin_addr.s_addr == me.sin_addr.s_addr)
				break;
		}
		TH_CHECK(j < 6 && !(used & (1 << j)));
		used |= 1 << j;
		TH_CHECK(corio_send_all(c[i], &b, 1) == 1);
		TH_CHECK(corio_recv(s[j], &got, 1, 0) == 1);
		TH_CHECK(got == b);
	}
	for (int i = 0; i < 6; i++) {
		corio_close(c[i]);
		corio_close(s[i]);
	}
	/* A timed-out accept leaves the listener usable. */
	corio_timeout t;
	corio_timeout_enter(&t, CORIO_MS(30));
	TH_CHECK(corio_accept(lfd, NULL, NULL) == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&t));
	corio_listen_close(lfd);
	return TH_OK;
}

/* The inode of a socket (0 if fd is none). */
static unsigned long socket_inode(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? (unsigned long)st.st_ino : 0;
}

/* True when a TCP socket of that inode is in /proc/net/tcp: it exists in the kernel,
 * whatever holds it (a descriptor or a request in flight). */
static bool socket_listed(unsigned long ino)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long i;

		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %lu", &i) == 1 && i == ino)
			found = true;
	}
	fclose(f);
	return found;
}

/* A queued connection, then listen_close with one acceptor parked. */
static void *t_accept_close(void *arg)
{
	int lfd = listen_local(64), c;
	unsigned long ino;
	char port[PORTLEN];
	corio_task *acc[2];
	void *r;

	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	TH_CHECK((ino = socket_inode(lfd)) != 0);
	TH_CHECK(socket_listed(ino));
	/* Arm the listener, let a connection be queued with nobody waiting. */
	corio_timeout t;
	corio_timeout_enter(&t, CORIO_MS(20));
	TH_CHECK(corio_accept(lfd, NULL, NULL) == -ETIMEDOUT);
	corio_timeout_exit(&t);
	c = corio_tcp_connect("127.0.0.1", port);
	TH_CHECK(c >= 0);
	corio_sleep(CORIO_MS(20));
	acc[0] = corio_spawn(accept_once, (void *)(intptr_t)lfd);
	acc[1] = corio_spawn(accept_once, (void *)(intptr_t)lfd);
	corio_yield();
	corio_yield();
	/* One of them took the queued connection, the other is parked. */
	TH_CHECK(corio_listen_close(lfd) == 0);
	int got = 0, ebadf = 0;
	for (int i = 0; i < 2; i++) {
		corio_join(acc[i], &r);
		if ((intptr_t)r >= 0) {
			got++;
			corio_close((int)(intptr_t)r);
		} else {
			ebadf += (intptr_t)r == -EBADF;
		}
	}
	TH_CHECK(got == 1 && ebadf == 1);
	corio_close(c);
	/* Nothing holds the listening socket (no request left in the ring keeps it alive):
	 * the kernel lists no socket of its inode. Not a connect to the released port, which
	 * any other process may have taken meanwhile. */
	TH_CHECK(!socket_listed(ino));
	return TH_OK;
}

static void *t_accept_all(void *arg)
{
	const char *e = t_accept_queue(arg);

	if (e)
		return (void *)e;
	return t_accept_close(arg);
}

/* Every accept fails with a transient error: the caller's deadline ends the wait, and
 * the listener backs off instead of spinning. */
static void *t_accept_failing(void *arg)
{
	int lfd = listen_local(4), cfd;
	char port[PORTLEN];
	corio_statistics st0, st1;
	corio_timeout t;

	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	cfd = corio_tcp_connect("127.0.0.1", port);
	TH_CHECK(cfd >= 0);
	corio_stats(&st0);
	corio_timeout_enter(&t, CORIO_MS(200));
	TH_CHECK(corio_accept(lfd, NULL, NULL) == -ETIMEDOUT);
	corio_timeout_exit(&t);
	corio_stats(&st1);
	TH_CHECK(st1.faults_injected - st0.faults_injected < 100);
	corio_close(cfd);
	corio_listen_close(lfd);
	return TH_OK;
}

START_TEST(accept_multishot_queue)
{
	corio_config cfg = th_config();

	TH_RUN_EXPECT_OK(NULL, t_accept_all, NULL);
	/* Injected transient failures end the multishot request: it is re-armed, no
	 * connection is lost, the callers never see the error. */
	cfg.faults = "9:ECONNABORTED@0.5/accept";
	TH_RUN_EXPECT_OK(&cfg, t_accept_all, NULL);
	cfg.faults = "4:EAGAIN@1.0/accept";
	TH_RUN_EXPECT_OK(&cfg, t_accept_failing, NULL);
}
END_TEST

/* ---- SO_REUSEPORT, one loop per thread ---- */

typedef struct rp_shared {
	atomic_int port;
	atomic_int stop;
	atomic_int served[2];
	atomic_int ready;
} rp_shared;

static void *rp_loop(void *arg)
{
	rp_shared *sh = arg;
	unsigned me = corio_thread_index();
	char port[PORTLEN] = "0";
	int lfd;

	if (me == 1) {
		while (atomic_load(&sh->port) == 0)
			corio_sleep(CORIO_MS(1));
		snprintf(port, sizeof port, "%d", atomic_load(&sh->port));
	}
	lfd = corio_tcp_listen_flags("127.0.0.1", port, 64, CORIO_LISTEN_REUSEPORT);
	if (lfd < 0)
		return (void *)"listen";
	if (me == 0)
		atomic_store(&sh->port, corio_sock_port(lfd));
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->stop)) {
		corio_timeout t;
		int fd;

		corio_timeout_enter(&t, CORIO_MS(20));
		fd = corio_accept(lfd, NULL, NULL);
		corio_timeout_exit(&t);
		if (fd >= 0) {
			atomic_fetch_add(&sh->served[me], 1);
			corio_detach(corio_spawn(echo_conn, (void *)(intptr_t)fd));
		}
	}
	corio_sleep(CORIO_MS(20));
	corio_listen_close(lfd);
	return NULL;
}

static void *rp_client_thread(void *arg)
{
	rp_shared *sh = arg;

	while (atomic_load(&sh->ready) < 2)
		usleep(1000);
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)atomic_load(&sh->port)),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		char b = (char)i, got = 0;

		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
		    write(fd, &b, 1) != 1 || read(fd, &got, 1) != 1 || got != b) {
			atomic_store(&sh->stop, 1);
			return (void *)"client";
		}
		close(fd);
	}
	atomic_store(&sh->stop, 1);
	return NULL;
}

START_TEST(reuseport_one_loop_per_thread)
{
	static rp_shared sh;
	pthread_t cl;
	void *r;
	int fds = th_count_fds();

	ck_assert_int_eq(pthread_create(&cl, NULL, rp_client_thread, &sh), 0);
	ck_assert_int_eq(corio_run_threads(2, rp_loop, &sh), 0);
	pthread_join(cl, &r);
	ck_assert_msg(r == NULL, "%s", (char *)r);
	ck_assert_int_eq(atomic_load(&sh.served[0]) + atomic_load(&sh.served[1]), 64);
	ck_assert_int_eq(th_count_fds(), fds);
}
END_TEST

/* ---- EMFILE on accept ---- */

typedef struct emfile_srv {
	int lfd;
	int accepted;
	bool stop;
} emfile_srv;

static void *emfile_server(void *p)
{
	emfile_srv *s = p;

	for (;;) {
		int fd = corio_accept(s->lfd, NULL, NULL);

		if (fd < 0)
			return (void *)(intptr_t)fd;
		s->accepted++;
		corio_detach(corio_spawn(echo_conn, (void *)(intptr_t)fd));
	}
}

static int highest_fd(void)
{
	int hi = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			hi = fd;
	return hi;
}

static bool echoes(int fd, char b)
{
	char got = 0;
	corio_timeout t;
	bool ok;

	corio_timeout_enter(&t, CORIO_SEC(5));
	ok = corio_send_all(fd, &b, 1) == 1 && corio_recv_exact(fd, &got, 1) == 1 && got == b;
	corio_timeout_exit(&t);
	return ok;
}

typedef struct emfile_ctx {
	emfile_srv s;
	int c[8];
	int fill_fds[1024];
	int nfill;
	struct rlimit old;
} emfile_ctx;

static void *emfile_body(emfile_ctx *x)
{
	emfile_srv *s = &x->s;
	char port[PORTLEN];
	struct rlimit rl;
	corio_statistics st0, st1;
	uint64_t t0, slices;

	port_str(s->lfd, port);
	for (int i = 0; i < 8; i++) {
		x->c[i] = corio_tcp_connect("127.0.0.1", port);
		TH_CHECK(x->c[i] >= 0);
	}
	/* Room for exactly 3 more descriptors: 3 accepts work, the 4th gets EMFILE. The
	 * limit leaves 3 numbers above the highest open descriptor, and every free number
	 * below it is filled with a placeholder; the last 3 placeholders are then closed.
	 * (The limit must not be highest + 1: without gaps below it, as on a process that
	 * inherited no stray descriptors, nothing would be left to free.) */
	rl = x->old;
	rl.rlim_cur = (rlim_t)highest_fd() + 4;
	TH_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	while (x->nfill < 1024 &&
	       (x->fill_fds[x->nfill] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		x->nfill++;
	TH_CHECK(errno == EMFILE);
	TH_CHECK(x->nfill >= 3);
	for (int i = 0; i < 3; i++)
		close(x->fill_fds[--x->nfill]);
	corio_detach(corio_spawn(emfile_server, s));
	/* Waits for the three accepts, however long a loaded machine takes (no fixed delay,
	 * no give-up bound: a server that never accepts ends in the tcase's timeout). */
	while (s->accepted < 3)
		corio_sleep(CORIO_MS(10));
	TH_CHECK(s->accepted == 3);
	/* Starved: the accept is retried every 10 ms, never spun. The allowance scales with
	 * the time that really passed (a 200 ms sleep can last much longer under load, and
	 * the retries go on meanwhile): at most 200 SQEs per 200 ms, where a spin makes
	 * thousands. */
	corio_stats(&st0);
	t0 = corio_now();
	corio_sleep(CORIO_MS(200));
	corio_stats(&st1);
	slices = (corio_now() - t0) / CORIO_MS(200) + 1;
	TH_CHECK(st1.sqes_submitted - st0.sqes_submitted < 200 * slices);
	TH_CHECK(s->accepted == 3);
	/* Existing connections keep working. */
	for (int i = 0; i < 3; i++)
		TH_CHECK(echoes(x->c[i], (char)('A' + i)));
	/* Freeing descriptors lets accepting resume: three clients go, their server ends see
	 * EOF and close too, which leaves six slots for the five waiting connections. */
	for (int i = 0; i < 3; i++) {
		corio_close(x->c[i]);
		x->c[i] = -1;
	}
	for (int i = 3; i < 8; i++)
		TH_CHECK(echoes(x->c[i], (char)('a' + i)));
	TH_CHECK(s->accepted == 8);
	return TH_OK;
}

static void *t_emfile(void *arg)
{
	emfile_ctx *x = calloc(1, sizeof *x);
	void *r;

	TH_CHECK(x);
	x->s.lfd = listen_local(64);
	TH_CHECK(x->s.lfd >= 0);
	for (int i = 0; i < 8; i++)
		x->c[i] = -1;
	TH_CHECK(getrlimit(RLIMIT_NOFILE, &x->old) == 0);
	r = emfile_body(x);
	/* Whatever happened: free everything, stop the server, let the handlers end. */
	while (x->nfill > 0)
		close(x->fill_fds[--x->nfill]);
	setrlimit(RLIMIT_NOFILE, &x->old);
	for (int i = 0; i < 8; i++)
		if (x->c[i] >= 0)
			corio_close(x->c[i]);
	corio_listen_close(x->s.lfd);
	corio_sleep(CORIO_MS(50));
	free(x);
	return r;
}

START_TEST(accept_emfile_recovers)
{
	TH_RUN_EXPECT_OK(NULL, t_emfile, NULL);
}
END_TEST

/* ---- accepted connections nobody takes are bounded ---- */

#define FLOOD 400

typedef struct flood {
	int lfd;
	int cfd[FLOOD];
	int sfd[FLOOD];
	int nc, ns;
} flood;

static int flood_connect(flood *f, const struct sockaddr_in *a, int upto)
{
	while (f->nc < upto) {
		if ((f->cfd[f->nc] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return -1;
		if (connect(f->cfd[f->nc++], (const struct sockaddr *)a, sizeof *a) != 0)
			return -1;
	}
	return 0;
}

static void *flood_body(flood *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int base = th_count_fds(), queued1, queued2;

	a.sin_port = htons((uint16_t)corio_sock_port(f->lfd));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* One accept arms the multishot request, then nobody accepts for a while. */
	TH_CHECK(flood_connect(f, &a, 1) == 0);
	TH_CHECK((f->sfd[f->ns++] = corio_accept(f->lfd, NULL, NULL)) >= 0);
	/* 299 arrive at once: the kernel hands out at least up to the bound (this one, all
	 * of them in one pass). */
	TH_CHECK(flood_connect(f, &a, 300) == 0);
	corio_sleep(CORIO_MS(100));
	queued1 = th_count_fds() - base - f->nc - f->ns;
	TH_CHECK(queued1 >= 256 && queued1 <= 299);
	/* Past the bound the request is cancelled: later arrivals wait in the backlog. */
	TH_CHECK(flood_connect(f, &a, FLOOD) == 0);
	corio_sleep(CORIO_MS(100));
	queued2 = th_count_fds() - base - f->nc - f->ns;
	TH_CHECK(queued2 == queued1);
	/* Every connection is still there to be accepted, the rest from the backlog. */
	while (f->ns < FLOOD) {
		corio_timeout t;

		corio_timeout_enter(&t, CORIO_SEC(5));
		f->sfd[f->ns] = corio_accept(f->lfd, NULL, NULL);
		corio_timeout_exit(&t);
		TH_CHECK(f->sfd[f->ns] >= 0);
		f->ns++;
	}
	return TH_OK;
}

static void *t_flood(void *arg)
{
	flood *f = calloc(1, sizeof *f);
	void *r;

	TH_CHECK(f);
	TH_CHECK((f->lfd = listen_local(1024)) >= 0);
	r = flood_body(f);
	for (int i = 0; i < f->nc; i++)
		close(f->cfd[i]);
	for (int i = 0; i < f->ns; i++)
		corio_close(f->sfd[i]);
	corio_listen_close(f->lfd);
	free(f);
	return r;
}

START_TEST(accept_queue_bounded)
{
	TH_RUN_EXPECT_OK(NULL, t_flood, NULL);
}
END_TEST

/* ---- 10 000 connections ---- */

#define MANY 10000

typedef struct many {
	int lfd;
	int accepted, done;
} many;

static void *many_conn(void *p)
{
	int fd = (int)(intptr_t)p;
	char b;

	/* One byte in, one byte out, then hold the connection until the client closes. */
	if (corio_recv_exact(fd, &b, 1) == 1 && corio_send_all(fd, &b, 1) == 1)
		corio_recv(fd, &b, 1, 0);
	corio_close(fd);
	return NULL;
}

static void *many_server(void *p)
{
	many *m = p;
	corio_task **ts = calloc(MANY, sizeof *ts);

	if (!ts)
		return (void *)"oom";
	while (m->accepted < MANY) {
		int fd = corio_accept(m->lfd, NULL, NULL);

		if (fd < 0)
			break;
		ts[m->accepted++] = corio_spawn(many_conn, (void *)(intptr_t)fd);
	}
	for (int i = 0; i < m->accepted; i++)
		corio_join(ts[i], NULL);
	free(ts);
	return NULL;
}

/* The client side, in a child process (each side needs its own 10 000 descriptors):
 * blocking sockets, plain syscalls. */
static int many_client(int port)
{
	static int fds[MANY];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char b;

	for (int i = 0; i < MANY; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof a) != 0)
			return 1;
	}
	for (int i = 0; i < MANY; i++) {
		b = (char)i;
		if (write(fds[i], &b, 1) != 1)
			return 2;
	}
	for (int i = 0; i < MANY; i++)
		if (read(fds[i], &b, 1) != 1 || b != (char)i)
			return 3;
	for (int i = 0; i < MANY; i++)
		close(fds[i]);
	return 0;
}

static void *t_many(void *arg)
{
	many m = { .lfd = corio_tcp_listen("127.0.0.1", "0", 4096) };
	corio_task *srv;
	pid_t pid;
	int st;

	TH_CHECK(m.lfd >= 0);
	srv = corio_spawn(many_server, &m);
	pid = fork();
	if (pid == 0)
		_exit(many_client(corio_sock_port(m.lfd)));
	TH_CHECK(pid > 0);
	corio_join(srv, NULL);
	TH_CHECK(m.accepted == MANY);
	/* waitpid blocks the loop, but the server is done by now. */
	TH_CHECK(waitpid(pid, &st, 0) == pid);
	TH_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	corio_listen_close(m.lfd);
	return TH_OK;
}

START_TEST(ten_thousand_connections)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < MANY + 200) {
		fprintf(stderr, "RLIMIT_NOFILE hard limit %lu < %d: skipping\n",
			(unsigned long)rl.rlim_max, MANY + 200);
		exit(TH_SKIP);
	}
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	TH_RUN_EXPECT_OK(NULL, t_many, NULL);
}
END_TEST

/* ---- faults, zero-copy ---- */

static void *t_echo_big(void *arg)
{
	for (unsigned seed = 1; seed <= 3; seed++) {
		const char *e = echo_check(256 << 10, seed, false);

		TH_CHECK(e == NULL);
	}
	corio_statistics st;
	corio_stats(&st);
	TH_CHECK(st.faults_injected > 100); /* the faults did happen */
	return TH_OK;
}

START_TEST(short_transfers_under_faults)
{
	static const char *specs[] = { "1:short@0.7", "42:short@0.7", "7:short@0.9/recv+send" };

	for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
		corio_config cfg = th_config();

		cfg.faults = specs[i];
		TH_RUN_EXPECT_OK(&cfg, t_echo_big, NULL);
	}
}
END_TEST

static void *t_zc(void *arg)
{
	corio_capabilities caps;
	const char *e;

	corio_caps(&caps);
	e = echo_check(4 << 20, 11, true);
	TH_CHECK(e == NULL);
	/* Small buffers take the plain path. */
	e = echo_check(100, 12, true);
	TH_CHECK(e == NULL);
	return corio_caps_has_op(&caps, IORING_OP_SEND_ZC) ? TH_OK : (void *)"skip";
}

START_TEST(send_zero_copy)
{
	const char *r = TH_RUN(t_zc, NULL);

	ck_assert_msg(r == NULL || strcmp(r, "skip") == 0, "%s", r);
}
END_TEST

/* ---- multishot receive with the provided-buffer ring ---- */

typedef struct rx_job {
	int fd;
	unsigned char *in;
	size_t len, got;
	uint64_t delay; /* sleep before reading: let the buffer pool run dry */
	ssize_t rc;
} rx_job;

static void *rx_read(void *p)
{
	rx_job *j = p;
	corio_receiver *r = corio_receiver_new(j->fd);

	if (!r) {
		j->rc = -errno;
		return NULL;
	}
	if (j->delay)
		corio_sleep(j->delay);
	while (j->got < j->len) {
		size_t want = j->len - j->got < 5000 ? j->len - j->got : 5000;
		ssize_t n = corio_receiver_recv(r, j->in + j->got, want);

		if (n <= 0) {
			j->rc = n;
			break;
		}
		j->got += (size_t)n;
	}
	if (j->got == j->len)
		j->rc = corio_receiver_recv(r, j->in, 1); /* EOF expected */
	corio_receiver_free(r);
	return NULL;
}

static const char *rx_check(size_t len, uint64_t delay, unsigned seed)
{
	int sv[2];
	unsigned char *out = malloc(len), *in = malloc(len);
	xfer x = { .out = out, .len = len, .shut = true };
	rx_job j = { .in = in, .len = len, .delay = delay };
	corio_task *t;
	const char *err = NULL;

	if (!out || !in || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return "setup";
	fill(out, len, seed);
	x.fd = sv[0];
	j.fd = sv[1];
	t = corio_spawn(rx_read, &j);
	sender(&x);
	corio_join(t, NULL);
	if (x.rc != (ssize_t)len)
		err = "send";
	else if (j.got != len || j.rc != 0)
		err = "short receive or no EOF";
	else if (memcmp(in, out, len) != 0)
		err = "bytes differ";
	corio_close(sv[0]);
	corio_close(sv[1]);
	free(out);
	free(in);
	return err;
}

static void *rx_check_task(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	return (void *)(uintptr_t)rx_check(256 << 10, CORIO_MS(100), seed);
}

static void *t_rx(void *arg)
{
	enum { CONNS = 160 };
	corio_task *t[CONNS];
	const char *e = rx_check(4 << 20, 0, 1);

	TH_CHECK(e == NULL);
	/* 24 MiB sent while the reader sleeps: the reader's share of the pool fills, the
	 * receive pauses, and resumes once the reader took everything. */
	e = rx_check(24 << 20, CORIO_MS(100), 2);
	TH_CHECK(e == NULL);
	/* 160 sleeping readers, 256 KiB each: their shares (at least 4 buffers each) are more
	 * than the 512 buffers of the pool, which runs dry (-ENOBUFS): receives are re-armed
	 * as buffers come back. */
	for (int i = 0; i < CONNS; i++)
		TH_CHECK((t[i] = corio_spawn(rx_check_task, (void *)(uintptr_t)(10 + i))));
	for (int i = 0; i < CONNS; i++) {
		void *r = NULL;

		TH_CHECK(corio_join(t[i], &r) == 0);
		TH_CHECK(r == NULL);
	}
	return TH_OK;
}

/* A reader that does not read holds about HOLD_MAX (4) of the pool's 512 buffers of 16
 * KiB, not the whole pool: the rest waits in the socket and the sender is pushed back.
 * Once the reader takes everything, receiving resumes and no byte is lost. */
static void *t_rx_hold(void *arg)
{
	size_t len = 16 << 20, total = 0;
	unsigned char *out = malloc(len), *in = malloc(len);
	xfer x = { .shut = true };
	corio_receiver *r;
	int sv[2], quiet = 0;

	TH_CHECK(out && in);
	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	/* The socket's own share fixed, whatever the machine's wmem_default (256 KiB here). */
	TH_CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){ 128 << 10 }, sizeof(int)) == 0);
	fill(out, len, 4);
	r = corio_receiver_new(sv[1]);
	TH_CHECK(r);
	/* Write until two rounds in a row, 5 ms apart, find the socket full. */
	for (int round = 0; round < 2000 && quiet < 2; round++) {
		ssize_t n = write(sv[0], out + total, len - total);

		if (n > 0) {
			total += (size_t)n;
			quiet = 0;
			continue;
		}
		TH_CHECK(n < 0 && errno == EAGAIN);
		quiet++;
		corio_sleep(CORIO_MS(5));
	}
	/* The socket's 256 KiB plus the share: far below the pool's 8 MiB. */
	TH_CHECK(total > 0 && total < (3u << 20));
	TH_CHECK(fcntl(sv[0], F_SETFL, 0) == 0);
	x.fd = sv[0];
	x.out = out + total;
	x.len = len - total;
	corio_task *t = corio_spawn(sender, &x);
	TH_CHECK(t);
	for (size_t got = 0; got < len;) {
		ssize_t n = corio_receiver_recv(r, in + got, len - got);

		TH_CHECK(n > 0);
		got += (size_t)n;
	}
	TH_CHECK(corio_receiver_recv(r, in, 1) == 0);
	TH_CHECK(corio_join(t, NULL) == 0 && x.rc == (ssize_t)(len - total));
	TH_CHECK(memcmp(in, out, len) == 0);
	corio_receiver_free(r);
	corio_close(sv[0]);
	corio_close(sv[1]);
	free(out);
	free(in);
	return TH_OK;
}

static void *t_rx_misc(void *arg)
{
	int sv[2];
	corio_receiver *r;
	char buf[16];
	corio_timeout t;

	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	r = corio_receiver_new(sv[1]);
	TH_CHECK(r);
	/* A deadline with nothing arriving, then the data is still there. */
	corio_timeout_enter(&t, CORIO_MS(20));
	TH_CHECK(corio_receiver_recv(r, buf, sizeof buf) == -ETIMEDOUT);
	corio_timeout_exit(&t);
	TH_CHECK(corio_send_all(sv[0], "abcdef", 6) == 6);
	TH_CHECK(corio_receiver_recv(r, buf, 4) == 4 && memcmp(buf, "abcd", 4) == 0);
	TH_CHECK(corio_receiver_recv(r, buf, 4) == 2 && memcmp(buf, "ef", 2) == 0);
	/* Freed while armed: the kernel's final CQE frees it later. */
	corio_receiver_free(r);
	corio_close(sv[0]);
	corio_close(sv[1]);
	/* A reset peer: -ECONNRESET, reported once. */
	int lfd = listen_local(4), cfd;
	char port[PORTLEN];
	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	corio_task *srv = corio_spawn(rst_server, (void *)(intptr_t)lfd);
	cfd = corio_tcp_connect("127.0.0.1", port);
	TH_CHECK(cfd >= 0);
	r = corio_receiver_new(cfd);
	TH_CHECK(r);
	char zero[1000] = { 0 };
	TH_CHECK(corio_send_all(cfd, zero, sizeof zero) == sizeof zero);
	ssize_t n = corio_receiver_recv(r, buf, sizeof buf);
	TH_CHECK(n == -ECONNRESET || n == 0);
	corio_receiver_free(r);
	corio_join(srv, NULL);
	corio_close(cfd);
	corio_listen_close(lfd);
	return TH_OK;
}

/* CORIO_FAULTS short rules shorten the receiver's reads too (always, at @1); no byte is
 * lost or reordered. */
static void *t_rx_short(void *arg)
{
	int sv[2];
	corio_receiver *r;
	char in[64], out[64];
	size_t got = 0;
	int shorter = 0;

	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (char)('a' + i % 26);
	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	r = corio_receiver_new(sv[1]);
	TH_CHECK(r);
	TH_CHECK(write(sv[0], out, sizeof out) == (ssize_t)sizeof out);
	while (got < sizeof out) {
		ssize_t n = corio_receiver_recv(r, in + got, sizeof in - got);

		TH_CHECK(n > 0);
		shorter += (size_t)n < sizeof in - got;
		got += (size_t)n;
	}
	TH_CHECK(memcmp(in, out, sizeof out) == 0);
	TH_CHECK(shorter > 0);
	corio_receiver_free(r);
	close(sv[0]);
	close(sv[1]);
	return TH_OK;
}

/* Every connection's end gives its buffers back: 700 receivers (more than the pool's 512
 * buffers), each reading one byte and then EOF, leave the pool full for the next. A keeper
 * receiver lives through all of them: the pool is released with its last receiver, so
 * without one each of the 700 would get a fresh pool (checking nothing, and costing an
 * 8 MiB allocation and a buffer-ring registration each: 19 s under ASan). */
static void *t_rx_eof_returns(void *arg)
{
	int keep[2];
	corio_receiver *keeper;

	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, keep) == 0);
	keeper = corio_receiver_new(keep[1]);
	TH_CHECK(keeper);
	for (int i = 0; i < 700; i++) {
		int sv[2];
		corio_receiver *r;
		corio_timeout t;
		char b = 0;
		ssize_t n1, n2;

		TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
		r = corio_receiver_new(sv[1]);
		TH_CHECK(r);
		TH_CHECK(write(sv[0], "e", 1) == 1);
		TH_CHECK(shutdown(sv[0], SHUT_WR) == 0);
		corio_timeout_enter(&t, CORIO_SEC(2));
		n1 = corio_receiver_recv(r, &b, 1);
		n2 = corio_receiver_recv(r, &b, 1);
		corio_timeout_exit(&t);
		corio_receiver_free(r);
		close(sv[0]);
		close(sv[1]);
		if (n1 != 1 || n2 != 0)
			fprintf(stderr, "receiver %d: %zd then %zd\n", i, n1, n2);
		TH_CHECK(n1 == 1 && n2 == 0);
	}
	corio_receiver_free(keeper);
	close(keep[0]);
	close(keep[1]);
	return TH_OK;
}

/* One test per run, each with its own timeout: together they took 60 s under ASan on a
 * loaded machine, the whole of one tcase timeout. */
START_TEST(multishot_recv_buffer_ring)
{
	TH_RUN_EXPECT_OK(NULL, t_rx, NULL);
}
END_TEST

START_TEST(multishot_recv_misc)
{
	TH_RUN_EXPECT_OK(NULL, t_rx_misc, NULL);
}
END_TEST

START_TEST(multishot_recv_reader_holds)
{
	TH_RUN_EXPECT_OK(NULL, t_rx_hold, NULL);
}
END_TEST

START_TEST(multishot_recv_eof_returns_buffers)
{
	TH_RUN_EXPECT_OK(NULL, t_rx_eof_returns, NULL);
}
END_TEST

START_TEST(multishot_recv_under_faults)
{
	corio_config cfg = th_config();

	cfg.faults = "5:short@0.7,ECONNRESET@0.0/recv";
	TH_RUN_EXPECT_OK(&cfg, t_rx, NULL);
	cfg.faults = "7:short@1/recv";
	TH_RUN_EXPECT_OK(&cfg, t_rx_short, NULL);
}
END_TEST

static void *t_outside(void *arg)
{
	return NULL;
}

START_TEST(outside_a_task)
{
	char b;

	ck_assert_int_eq(corio_recv(0, &b, 1, 0), -EPERM);
	ck_assert_int_eq(corio_accept(3, NULL, NULL), -EPERM);
	ck_assert_int_eq(corio_tcp_connect("127.0.0.1", "1"), -EPERM);
	/* Listening works without a loop (plain syscalls), and so does closing it. */
	int fd = corio_tcp_listen("127.0.0.1", "0", 1);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(corio_sock_port(fd), 0);
	ck_assert_int_eq(corio_listen_close(fd), 0);
	TH_RUN(t_outside, NULL);
}
END_TEST

/* NET_ONLY=name runs one test (debugging). */
#define ADD(tc, t)                                                                           \
	do {                                                                                 \
		const char *only_ = getenv("NET_ONLY");                                      \
		if (!only_ || strcmp(only_, #t) == 0)                                        \
			tcase_add_test(tc, t);                                               \
	} while (0)

static Suite *net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("net");

	tcase_set_timeout(tc, TH_TIMEOUT);
	ADD(tc, echo_roundtrip);
	ADD(tc, peer_address);
	ADD(tc, ipv6_loopback);
	ADD(tc, connect_refused);
	ADD(tc, connect_timeout_full_backlog);
	ADD(tc, resolve_names);
	ADD(tc, peer_reset_mid_transfer);
	ADD(tc, peer_reset_during_recv);
	ADD(tc, half_close);
	ADD(tc, cancel_recv_loses_nothing);
	ADD(tc, unix_stream_and_dgram);
	ADD(tc, udp_sendmsg_recvmsg);
	ADD(tc, accept_multishot_queue);
	ADD(tc, reuseport_one_loop_per_thread);
	ADD(tc, accept_emfile_recovers);
	ADD(tc, accept_queue_bounded);
	ADD(tc, ten_thousand_connections);
	ADD(tc, short_transfers_under_faults);
	ADD(tc, send_zero_copy);
	ADD(tc, multishot_recv_buffer_ring);
	ADD(tc, multishot_recv_misc);
	ADD(tc, multishot_recv_reader_holds);
	ADD(tc, multishot_recv_eof_returns_buffers);
	ADD(tc, multishot_recv_under_faults);
	ADD(tc, outside_a_task);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return th_main(net_suite());
}
