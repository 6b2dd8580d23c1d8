/* tests/net/test_udp.c: UDP sockets (runtime/net/udp.c): corio_udp_bind on port 0 (numeric,
 * a name, outside a loop), datagrams with corio_sendto/corio_recvfrom and their source
 * addresses, a connected socket with corio_send/corio_recv, -ECONNREFUSED on a connected
 * socket after its peer's port closed, the dual-stack "::" socket receiving IPv4 datagrams
 * as v4-mapped addresses (skipped without IPv6), and bad arguments. Every wait is bounded
 * by a timeout scope. Only ports bound here are used. */
#include "tests/support/helpers.h"

#define BOUND CORIO_SEC(10) /* a datagram on loopback takes microseconds */

static int port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
					: ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static struct sockaddr_in loop4(int port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

static int family_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 ? ss.ss_family : -1;
}

/* corio_recvfrom under a deadline. */
static ssize_t recv_bounded(int fd, void *buf, size_t len, struct sockaddr_storage *src,
			    socklen_t *srclen)
{
	corio_timeout to;
	ssize_t n;

	corio_timeout_enter(&to, BOUND);
	n = src ? corio_recvfrom(fd, buf, len, 0, (struct sockaddr *)src, srclen)
		: corio_recv(fd, buf, len, 0);
	corio_timeout_exit(&to);
	return n;
}

static void *bind_task(void *arg)
{
	int a = corio_udp_bind("127.0.0.1", "0"), b = corio_udp_bind("localhost", "0");

	(void)arg;
	TH_CHECK(a >= 0 && b >= 0);
	TH_CHECK(corio_sock_port(a) > 0 && corio_sock_port(b) > 0);
	TH_CHECK(family_of(a) == AF_INET && family_of(b) == AF_INET);
	/* The port is taken: a second bind to it fails. */
	{
		char port[16];

		snprintf(port, sizeof port, "%d", corio_sock_port(a));
		TH_CHECK(corio_udp_bind("127.0.0.1", port) == -EADDRINUSE);
	}
	TH_CHECK(corio_udp_bind("127.0.0.1", "no-such-service-corio") < 0);
	TH_CHECK(corio_udp_connect("127.0.0.1", NULL) == -EINVAL);
	corio_close(a);
	corio_close(b);
	return TH_OK;
}
TH_TASK_TEST(bind_port0, bind_task)

START_TEST(bind_outside_loop)
{
	int fd = corio_udp_bind("127.0.0.1", "0");

	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(corio_sock_port(fd), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
	/* Names and connects need a task. */
	ck_assert_int_eq(corio_udp_bind("localhost", "0"), -EPERM);
	ck_assert_int_eq(corio_udp_connect("127.0.0.1", "9"), -EPERM);
}
END_TEST

static void *sendto_task(void *arg)
{
	int a = corio_udp_bind("127.0.0.1", "0"), b = corio_udp_bind("127.0.0.1", "0");
	struct sockaddr_in to;
	struct sockaddr_storage src;
	socklen_t srclen = sizeof src;
	char buf[2048], big[1500];

	(void)arg;
	TH_CHECK(a >= 0 && b >= 0);
	to = loop4(corio_sock_port(b));
	TH_CHECK(corio_sendto(a, "hello", 5, 0, (struct sockaddr *)&to, sizeof to) == 5);
	TH_CHECK(recv_bounded(b, buf, sizeof buf, &src, &srclen) == 5);
	TH_CHECK(memcmp(buf, "hello", 5) == 0);
	TH_CHECK(srclen == sizeof(struct sockaddr_in) && src.ss_family == AF_INET);
	TH_CHECK(port_of(&src) == corio_sock_port(a));
	/* Back to the source; an empty datagram; a larger one. */
	TH_CHECK(corio_sendto(b, "", 0, 0, (struct sockaddr *)&src, srclen) == 0);
	TH_CHECK(recv_bounded(a, buf, sizeof buf, NULL, NULL) == 0);
	memset(big, 'x', sizeof big);
	TH_CHECK(corio_sendto(b, big, sizeof big, 0, (struct sockaddr *)&src, srclen) ==
		 (ssize_t)sizeof big);
	TH_CHECK(recv_bounded(a, buf, sizeof buf, NULL, NULL) == (ssize_t)sizeof big);
	corio_close(a);
	corio_close(b);
	return TH_OK;
}
TH_TASK_TEST(sendto_recvfrom, sendto_task)

static void *connected_task(void *arg)
{
	int srv = corio_udp_bind("127.0.0.1", "0"), cli;
	char port[16], buf[64];
	struct sockaddr_storage src;
	socklen_t srclen = sizeof src;
	ssize_t n;

	(void)arg;
	TH_CHECK(srv >= 0);
	snprintf(port, sizeof port, "%d", corio_sock_port(srv));
	cli = corio_udp_connect("127.0.0.1", port);
	TH_CHECK(cli >= 0);
	TH_CHECK(corio_send(cli, "ping", 4, 0) == 4);
	TH_CHECK(recv_bounded(srv, buf, sizeof buf, &src, &srclen) == 4);
	TH_CHECK(port_of(&src) == corio_sock_port(cli));
	TH_CHECK(corio_sendto(srv, "pong", 4, 0, (struct sockaddr *)&src, srclen) == 4);
	n = recv_bounded(cli, buf, sizeof buf, NULL, NULL);
	TH_CHECK(n == 4 && memcmp(buf, "pong", 4) == 0);
	/* The peer's port closes: the ICMP error shows on a later call. */
	corio_close(srv);
	TH_CHECK(corio_send(cli, "ping", 4, 0) == 4);
	n = recv_bounded(cli, buf, sizeof buf, NULL, NULL);
	TH_CHECK(n == -ECONNREFUSED);
	corio_close(cli);
	/* A name as the peer. */
	srv = corio_udp_bind("127.0.0.1", "0");
	TH_CHECK(srv >= 0);
	snprintf(port, sizeof port, "%d", corio_sock_port(srv));
	cli = corio_udp_connect("localhost", port);
	TH_CHECK(cli >= 0 && corio_send(cli, "x", 1, 0) == 1);
	TH_CHECK(recv_bounded(srv, buf, sizeof buf, NULL, NULL) == 1);
	corio_close(cli);
	corio_close(srv);
	return TH_OK;
}
TH_TASK_TEST(connected, connected_task)

/* The any address: "::" takes IPv4 datagrams, whose source is v4-mapped. */
static void *dual_task(void *arg)
{
	int any = corio_udp_bind(NULL, "0"), v4 = corio_udp_bind("127.0.0.1", "0"), v6;
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6, .sin6_addr = in6addr_loopback };
	struct sockaddr_in to;
	struct sockaddr_storage src;
	socklen_t srclen = sizeof src;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src;
	char buf[16];

	(void)arg;
	TH_CHECK(any >= 0 && v4 >= 0);
	if (family_of(any) != AF_INET6) {
		fprintf(stderr, "dual_stack: no IPv6 here (bound %d): skipped\n", family_of(any));
		corio_close(any);
		corio_close(v4);
		return TH_OK;
	}
	to = loop4(corio_sock_port(any));
	TH_CHECK(corio_sendto(v4, "v4", 2, 0, (struct sockaddr *)&to, sizeof to) == 2);
	TH_CHECK(recv_bounded(any, buf, sizeof buf, &src, &srclen) == 2);
	TH_CHECK(src.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr));
	TH_CHECK(port_of(&src) == corio_sock_port(v4));
	/* And IPv6 proper, from ::1. */
	v6 = corio_udp_bind("::1", "0");
	if (v6 >= 0) {
		to6.sin6_port = htons((uint16_t)corio_sock_port(any));
		srclen = sizeof src;
		TH_CHECK(corio_sendto(v6, "v6", 2, 0, (struct sockaddr *)&to6, sizeof to6) == 2);
		TH_CHECK(recv_bounded(any, buf, sizeof buf, &src, &srclen) == 2);
		TH_CHECK(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
		corio_close(v6);
	}
	corio_close(any);
	corio_close(v4);
	return TH_OK;
}
TH_TASK_TEST(dual_stack, dual_task)

int main(void)
{
	return th_main(TH_SUITE("udp", 60, bind_port0, bind_outside_loop, sendto_recvfrom,
				connected, dual_stack));
}
