/* runtime/net/connect.c: dialing one address (a socket connected to it: what TCP's
 * attempts in happy.c, UDP's connect and corio_unix_connect share), corio_unix_connect,
 * and the unix socket address (path or '@' abstract name) that listen.c uses too. The
 * connects park. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "runtime/net/net_internal.h"

int corio__net_dial(int family, int type, const struct sockaddr *addr, socklen_t len)
{
	int fd = corio_socket(family, type, 0), rc;

	if (fd < 0)
		return fd;
	rc = corio_connect(fd, addr, len);
	if (rc != 0) {
		corio_close(fd); /* runs even when the connect was cancelled */
		return rc;
	}
	return fd;
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
	int len = corio__net_unix_addr(path, &sun);

	if (len < 0)
		return len;
	return corio__net_dial(AF_UNIX, type, (struct sockaddr *)&sun, (socklen_t)len);
}
