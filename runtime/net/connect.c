/* runtime/net/connect.c: the client side: corio_tcp_connect (resolve through the cache,
 * then race the addresses: happy.c), corio_unix_connect, and the unix socket address (path
 * or '@' abstract name) that listen.c uses too. The connects park. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "runtime/net/net_internal.h"

int corio_tcp_connect(const char *host, const char *port)
{
	corio__net_addrs addrs;
	int rc;

	if (!corio__net_in_task())
		return -EPERM;
	if (!port || !*port)
		return -EINVAL;
	rc = corio__net_resolve(host, port, false, &addrs);
	if (rc != 0)
		return rc;
	rc = corio_tcp_connect_addrinfo(addrs.ai);
	corio__net_addrs_free(&addrs);
	return rc;
}

/* Fills sun from path ('@' = abstract namespace). Its length, or -ENAMETOOLONG/-EINVAL. */
int corio__net_unix_addr(const char *path, struct sockaddr_un *sun)
{
	size_t n;

	if (!path || !*path)
		return -EINVAL;
	n = strlen(path);
	if (n >= sizeof sun->sun_path)
		return -ENAMETOOLONG;
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n);
	if (path[0] == '@') {
		sun->sun_path[0] = 0;
		return (int)(offsetof(struct sockaddr_un, sun_path) + n);
	}
	return (int)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

int corio_unix_connect(const char *path, int type)
{
	struct sockaddr_un sun;
	int len = corio__net_unix_addr(path, &sun), fd, rc;

	if (len < 0)
		return len;
	fd = corio_socket(AF_UNIX, type, 0);
	if (fd < 0)
		return fd;
	rc = corio_connect(fd, (struct sockaddr *)&sun, (socklen_t)len);
	if (rc != 0) {
		corio_close(fd);
		return rc;
	}
	return fd;
}
