/* tests/support/net.c: loopback ports and a blocking HTTP GET, shared by the tests and by
 * corio-bench / corio-load (see net.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/support/net.h"

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	return a;
}

int th_loopback_socket(int *port, bool listen_too)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
	    (listen_too && listen(fd, 511) != 0)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

int th_free_port(void)
{
	int port = -1, fd = th_loopback_socket(&port, false);

	if (fd < 0)
		return -1;
	close(fd);
	return port;
}

/* A blocking socket connected to 127.0.0.1:port, or -1. */
static int connect_loopback(int port)
{
	struct sockaddr_in a = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

bool th_port_accepts(int port)
{
	int fd = connect_loopback(port);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int th_http_get(int port, const char *path, char *out, size_t len, int timeout_s)
{
	struct timeval tv = { .tv_sec = timeout_s };
	int fd = connect_loopback(port);
	char req[256];
	size_t used = 0, reqlen;
	ssize_t n;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	reqlen = (size_t)snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
				  path);
	if (reqlen >= sizeof req || write(fd, req, reqlen) != (ssize_t)reqlen) {
		close(fd);
		return -1;
	}
	while (used + 1 < len && (n = read(fd, out + used, len - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = 0;
	close(fd);
	/* A peer that died after accepting resets the connection: nothing read. */
	return used > 0 ? 0 : -1;
}
