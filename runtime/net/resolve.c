/* runtime/net/resolve.c: host:port to socket addresses for stream sockets. Numeric
 * addresses (IPv4, IPv6, bracketed IPv6) and numeric ports are parsed here without any
 * thread; anything else goes to getaddrinfo on the blocking pool (corio_blocking). Also the
 * mapping of EAI_* codes to corio results and corio_net_strerror. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/net/net_internal.h"

int corio__net_eai_error(int eai, int err)
{
	if (eai == 0)
		return 0;
	if (eai == EAI_SYSTEM)
		return err > 0 ? -err : -EIO;
	if (eai == EAI_MEMORY)
		return -ENOMEM;
	return CORIO_EAI(eai);
}

const char *corio_net_strerror(int err)
{
	if (CORIO_IS_EAI(err))
		return gai_strerror(err + CORIO_EAI_BASE); /* inverse of CORIO_EAI */
	return strerror(err < 0 ? -err : err);
}

/* "80" -> 80; -1 when port is not a plain decimal number in 0..65535. */
static int numeric_port(const char *port)
{
	char *end;
	unsigned long v;

	if (!port || !*port)
		return 0;
	if (*port < '0' || *port > '9')
		return -1;
	v = strtoul(port, &end, 10);
	return *end || v > 65535 ? -1 : (int)v;
}

/* Fills ss from a numeric host; false when host is not one. NULL/""/"*" is the any
 * address (passive) or 127.0.0.1 (active). */
static bool numeric_host(const char *host, bool passive, int port,
			 struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n;

	memset(ss, 0, sizeof *ss);
	if (!host || !*host || (passive && strcmp(host, "*") == 0)) {
		if (passive) {
			in6->sin6_family = AF_INET6;
			in6->sin6_addr = in6addr_any;
			in6->sin6_port = htons((uint16_t)port);
			*len = sizeof *in6;
		} else {
			in4->sin_family = AF_INET;
			in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			in4->sin_port = htons((uint16_t)port);
			*len = sizeof *in4;
		}
		return true;
	}
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof *in4;
		return true;
	}
	n = strlen(host);
	if (host[0] == '[' && n >= 2 && host[n - 1] == ']' && n - 2 < sizeof buf) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = 0;
		host = buf;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof *in6;
		return true;
	}
	return false;
}

typedef struct gai_job {
	const char *host, *port;
	struct addrinfo hints;
	struct addrinfo *res;
	int rc, err;
} gai_job;

/* On a pool thread: no corio calls here. */
static void *gai_run(void *p)
{
	gai_job *j = p;

	j->rc = getaddrinfo(j->host, j->port, &j->hints, &j->res);
	j->err = errno;
	return NULL;
}

static int resolve_name(const char *host, const char *port, bool passive, corio__net_addrs *out)
{
	gai_job j = { .host = host && *host ? host : NULL, .port = port && *port ? port : "0" };
	int rc;

	j.hints.ai_family = AF_UNSPEC;
	j.hints.ai_socktype = SOCK_STREAM;
	j.hints.ai_flags = AI_ADDRCONFIG | (passive ? AI_PASSIVE : 0);
	rc = corio_blocking(gai_run, &j, NULL);
	/* corio_blocking waits for the job even when cancelled: j is ours again here, and a
	 * list getaddrinfo made must be freed whatever rc says. */
	if (rc != 0) {
		if (j.res)
			freeaddrinfo(j.res);
		return rc;
	}
	if (j.rc != 0)
		return corio__net_eai_error(j.rc, j.err);
	if (!j.res)
		return CORIO_EAI(EAI_NONAME);
	out->ai = out->owned = j.res;
	return 0;
}

int corio__net_resolve(const char *host, const char *port, bool passive, corio__net_addrs *out)
{
	int p = numeric_port(port);
	socklen_t len;

	memset(out, 0, sizeof *out);
	if (p >= 0 && numeric_host(host, passive, p, &out->one, &len)) {
		out->one_ai.ai_family = out->one.ss_family;
		out->one_ai.ai_socktype = SOCK_STREAM;
		out->one_ai.ai_addr = (struct sockaddr *)&out->one;
		out->one_ai.ai_addrlen = len;
		out->ai = &out->one_ai;
		return 0;
	}
	return resolve_name(host, port, passive, out);
}

void corio__net_addrs_free(corio__net_addrs *a)
{
	if (a->owned)
		freeaddrinfo(a->owned);
	a->owned = a->ai = NULL;
}
