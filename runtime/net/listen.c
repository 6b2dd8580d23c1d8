/* runtime/net/listen.c: listening sockets: corio_tcp_listen(_flags) (SO_REUSEADDR, optional
 * SO_REUSEPORT, IPv4/IPv6, port 0), corio_unix_listen (stream, seqpacket, datagram) and
 * corio_sock_port. The socket comes from IORING_OP_SOCKET; setsockopt, bind and listen
 * never wait and stay plain syscalls (IORING_OP_BIND/LISTEN only exist since 6.11). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/net/net_internal.h"

static int setopt(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : -errno;
}

/* A listening socket bound to ai. fd or -errno. */
static int listen_one(const struct addrinfo *ai, int backlog, unsigned flags)
{
	int fd = corio_socket(ai->ai_family, SOCK_STREAM, 0), rc;

	if (fd < 0)
		return fd;
	rc = setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (rc == 0 && (flags & CORIO_LISTEN_REUSEPORT))
		rc = setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (rc == 0 && ai->ai_family == AF_INET6)
		rc = setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, (flags & CORIO_LISTEN_V6ONLY) != 0);
	/* Accepted connections inherit TCP_NODELAY from the listener. */
	if (rc == 0)
		rc = setopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (rc == 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		rc = -errno;
	if (rc == 0 && listen(fd, backlog < 0 ? SOMAXCONN : backlog) != 0)
		rc = -errno;
	if (rc != 0) {
		corio_close(fd);
		return rc;
	}
	corio__net_forget(fd); /* a stale registry entry from a descriptor closed by close(2) */
	return fd;
}

int corio_tcp_listen_flags(const char *host, const char *port, int backlog, unsigned flags)
{
	corio__net_addrs addrs;
	int rc;

	if (flags & ~(CORIO_LISTEN_REUSEPORT | CORIO_LISTEN_V6ONLY))
		return -EINVAL;
	rc = corio__net_resolve(host, port, true, &addrs);
	if (rc != 0)
		return rc;
	rc = -EADDRNOTAVAIL;
	for (const struct addrinfo *ai = addrs.ai; ai; ai = ai->ai_next) {
		rc = listen_one(ai, backlog, flags);
		if (rc >= 0 || rc == -ECANCELED || rc == -ETIMEDOUT)
			break;
	}
	/* The any address: IPv6 "::" first; a host without IPv6 gets 0.0.0.0. */
	if (rc == -EAFNOSUPPORT && (!host || !*host || (host[0] == '*' && !host[1]))) {
		struct sockaddr_in in4 = { .sin_family = AF_INET,
					   .sin_port = ((struct sockaddr_in6 *)&addrs.one)->sin6_port };
		struct addrinfo ai = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM,
				       .ai_addr = (struct sockaddr *)&in4, .ai_addrlen = sizeof in4 };

		rc = listen_one(&ai, backlog, flags);
	}
	corio__net_addrs_free(&addrs);
	return rc;
}

int corio_tcp_listen(const char *host, const char *port, int backlog)
{
	return corio_tcp_listen_flags(host, port, backlog, 0);
}

int corio_sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -EAFNOSUPPORT;
}

int corio_unix_listen(const char *path, int type, int backlog)
{
	struct sockaddr_un sun;
	struct stat st;
	int len = corio__net_unix_addr(path, &sun), fd, rc = 0;

	if (len < 0)
		return len;
	if (type != SOCK_STREAM && type != SOCK_SEQPACKET && type != SOCK_DGRAM)
		return -EINVAL;
	/* A socket file left by an earlier run would make bind fail with EADDRINUSE. */
	if (path[0] != '@' && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	fd = corio_socket(AF_UNIX, type, 0);
	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&sun, (socklen_t)len) != 0)
		rc = -errno;
	if (rc == 0 && type != SOCK_DGRAM && listen(fd, backlog < 0 ? SOMAXCONN : backlog) != 0)
		rc = -errno;
	if (rc != 0) {
		corio_close(fd);
		return rc;
	}
	corio__net_forget(fd);
	return fd;
}
