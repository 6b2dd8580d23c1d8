/* tests/net/test_sockets.c: sockets on io_uring (runtime/net/): TCP echo, IPv6, peer
 * addresses, connect errors (refused, timeout against a full backlog, resolution), reset
 * mid-transfer and during a receive, half-close, cancel racing data arrival, Unix stream and
 * datagram sockets, UDP, short transfers under CORIO_FAULTS, zero-copy send, and the calls
 * outside a task. Every loop run checks that no descriptor leaked (TH_RUN). Servers bind
 * 127.0.0.1. */
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
#include "tests/net/net_helpers.h"

/* ---- echo, addresses ---- */

static void *t_echo(void *arg)
{
	const char *e = echo_check(1 << 20, 7, false);

	TH_CHECK(e == NULL);
	e = echo_check(1, 8, false);
	TH_CHECK(e == NULL);
	return TH_OK;
}

TH_TASK_TEST(echo_roundtrip, t_echo)

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

TH_TASK_TEST(peer_address, t_addr)

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

TH_TASK_TEST(connect_refused, t_refused)

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

TH_TASK_TEST(connect_timeout_full_backlog, t_timeout)

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

TH_TASK_TEST(resolve_names, t_resolve)

/* ---- reset, half-close ---- */


static void *t_reset(void *arg)
{
	served p;
	size_t len = 64 << 20;
	unsigned char *big = calloc(1, len);
	ssize_t rc;
	int cfd;

	TH_CHECK(big);
	TH_CHECK(serve_connect(&p, 4, rst_server) == NULL);
	cfd = p.cfd;
	/* 64 MiB cannot fit in the socket buffers: the reset arrives mid-transfer. */
	rc = corio_send_all(cfd, big, len);
	TH_CHECK(rc == -ECONNRESET || rc == -EPIPE);
	/* Every later call fails cleanly too. */
	rc = corio_send(cfd, big, 100, 0);
	TH_CHECK(rc == -EPIPE || rc == -ECONNRESET);
	rc = corio_recv(cfd, big, 100, 0);
	TH_CHECK(rc == 0 || rc == -ECONNRESET);
	served_close(&p, NULL);
	free(big);
	return TH_OK;
}

TH_TASK_TEST(peer_reset_mid_transfer, t_reset)

static void *t_reset_recv(void *arg)
{
	served p;
	char buf[1000] = { 0 };
	ssize_t rc;

	TH_CHECK(serve_connect(&p, 4, rst_server) == NULL);
	TH_CHECK(corio_send_all(p.cfd, buf, sizeof buf) == sizeof buf);
	/* Parked in recv when the RST arrives. */
	rc = corio_recv_exact(p.cfd, buf, sizeof buf);
	TH_CHECK(rc == -ECONNRESET || rc == 0);
	served_close(&p, NULL);
	return TH_OK;
}

TH_TASK_TEST(peer_reset_during_recv, t_reset_recv)

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
	served p;
	char buf[8];
	void *res;

	TH_CHECK(serve_connect(&p, 4, half_server) == NULL);
	TH_CHECK(corio_send_all(p.cfd, "hello", 5) == 5);
	TH_CHECK(corio_shutdown(p.cfd, SHUT_WR) == 0);
	TH_CHECK(corio_recv_exact(p.cfd, buf, 8) == 3); /* "bye", then EOF */
	TH_CHECK(memcmp(buf, "bye", 3) == 0);
	TH_CHECK(corio_send(p.cfd, "x", 1, 0) == -EPIPE);
	served_close(&p, &res);
	TH_CHECK(res == TH_OK);
	return TH_OK;
}

TH_TASK_TEST(half_close, t_half)

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

TH_TASK_TEST(cancel_recv_loses_nothing, t_cancel_recv)

/* ---- Unix sockets, UDP ---- */

/* A listener on path (fds[0]), a client connected to it (fds[1]) and the accepted end
 * (fds[2]): NULL, or which step failed (what was opened before it is closed). */
static const char *unix_connected(const char *path, int fds[3])
{
	fds[0] = corio_unix_listen(path, SOCK_STREAM, 8);
	if (fds[0] < 0)
		return "corio_unix_listen";
	fds[1] = corio_unix_connect(path, SOCK_STREAM);
	if (fds[1] < 0) {
		corio_listen_close(fds[0]);
		return "corio_unix_connect";
	}
	fds[2] = corio_accept(fds[0], NULL, NULL);
	if (fds[2] < 0) {
		corio_close(fds[1]);
		corio_listen_close(fds[0]);
		return "corio_accept";
	}
	return NULL;
}

static void unix_close(const int fds[3])
{
	corio_close(fds[2]);
	corio_close(fds[1]);
	corio_listen_close(fds[0]);
}

static void *t_unix(void *arg)
{
	char path[108], dpath[108], cpath[108];
	int lfd, fds[3];
	char buf[32];

	snprintf(path, sizeof path, "/tmp/corio-test-%d.sock", getpid());
	TH_CHECK(unix_connected(path, fds) == NULL);
	TH_CHECK(corio_send_all(fds[1], "unix", 4) == 4);
	TH_CHECK(corio_recv_exact(fds[2], buf, 4) == 4 && memcmp(buf, "unix", 4) == 0);
	unix_close(fds);
	/* The stale socket file is replaced by the next listen. */
	lfd = corio_unix_listen(path, SOCK_STREAM, 8);
	TH_CHECK(lfd >= 0);
	corio_listen_close(lfd);
	unlink(path);
	TH_CHECK(corio_unix_connect(path, SOCK_STREAM) == -ENOENT);

	/* Abstract namespace. */
	snprintf(path, sizeof path, "@corio-test-%d", getpid());
	TH_CHECK(unix_connected(path, fds) == NULL);
	unix_close(fds);

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

TH_TASK_TEST(unix_stream_and_dgram, t_unix)

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

TH_TASK_TEST(udp_sendmsg_recvmsg, t_udp)

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

int main(void)
{
	return th_main(TH_SUITE("sockets", TH_TIMEOUT, echo_roundtrip, peer_address, ipv6_loopback, connect_refused, connect_timeout_full_backlog, resolve_names, peer_reset_mid_transfer, peer_reset_during_recv, half_close, cancel_recv_loses_nothing, unix_stream_and_dgram, udp_sendmsg_recvmsg, short_transfers_under_faults, send_zero_copy, outside_a_task));
}
