/* runtime/net/udp.c: UDP sockets: corio_udp_bind (a numeric host, a name, or every address:
 * IPv6 "::" accepting IPv4 too, 0.0.0.0 where IPv6 is unavailable) and corio_udp_connect
 * (a default peer: only its datagrams arrive, and ICMP errors show on later calls). The
 * socket comes from IORING_OP_SOCKET, the connect is IORING_OP_CONNECT (it never waits on a
 * datagram socket, but it is the same path as TCP's); setsockopt and bind stay plain
 * syscalls. Datagrams move with corio_sendto/corio_recvfrom (sock.c) or a
 * corio_udp_receiver (udp_receiver.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>

#include "runtime/net/net_internal.h"

/* A datagram socket bound to ai. fd or -errno. */
static int bind_one(const struct addrinfo *ai)
{
	int fd = corio_socket(ai->ai_family, SOCK_DGRAM, 0), off = 0, rc = 0;

	if (fd < 0)
		return fd;
	/* Dual stack: "::" (or any IPv6 address) takes IPv4-mapped peers as well, as
	 * corio_tcp_listen does; hosts whose default is v6-only would refuse them. */
	if (ai->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0)
		rc = -errno;
	if (rc == 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		rc = -errno;
	if (rc != 0) {
		corio_close(fd);
		return rc;
	}
	return fd;
}

static bool any_host(const char *host)
{
	return !host || !*host || (host[0] == '*' && !host[1]);
}

int corio_udp_bind(const char *host, const char *port)
{
	corio__net_addrs addrs;
	int rc = corio__net_resolve(host, port, true, &addrs);

	if (rc != 0)
		return rc;
	rc = -EADDRNOTAVAIL;
	for (const struct addrinfo *ai = addrs.ai; ai; ai = ai->ai_next) {
		rc = bind_one(ai);
		if (rc >= 0 || rc == -ECANCELED || rc == -ETIMEDOUT)
			break;
	}
	/* The any address: IPv6 "::" first; a host without IPv6 gets 0.0.0.0. */
	if (rc == -EAFNOSUPPORT && any_host(host)) {
		struct sockaddr_in in4 = { .sin_family = AF_INET,
					   .sin_port = ((struct sockaddr_in6 *)&addrs.one)->sin6_port };
		struct addrinfo ai = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM,
				       .ai_addr = (struct sockaddr *)&in4, .ai_addrlen = sizeof in4 };

		rc = bind_one(&ai);
	}
	corio__net_addrs_free(&addrs);
	return rc;
}

int corio_udp_connect(const char *host, const char *port)
{
	corio__net_addrs addrs;
	int rc;

	rc = corio__net_resolve_peer(host, port, &addrs);
	if (rc != 0)
		return rc;
	/* Nothing is sent: the first address the kernel accepts as a peer (one it can route
	 * to) wins, in getaddrinfo's order. */
	rc = -EADDRNOTAVAIL;
	for (const struct addrinfo *ai = addrs.ai; ai; ai = ai->ai_next) {
		rc = corio__net_dial(ai->ai_family, SOCK_DGRAM, ai->ai_addr, ai->ai_addrlen);
		if (rc >= 0 || rc == -ECANCELED || rc == -ETIMEDOUT)
			break;
	}
	corio__net_addrs_free(&addrs);
	return rc;
}
