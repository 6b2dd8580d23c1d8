/* runtime/net/resolve.c: host:port to socket addresses. Numeric addresses (IPv4, IPv6,
 * bracketed IPv6) and numeric ports are parsed here without any thread; anything else goes
 * to corio__resolve_name (the per-loop cache of resolve_cache.c, else getaddrinfo on the
 * blocking pool, resolve_flight.c). Owns corio_resolve and corio__net_resolve (what the
 * listeners and connects use). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/net/net_internal.h"

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

/* The one-entry list of a numeric host. */
static void one_entry(corio__net_addrs *out, socklen_t len)
{
	out->one_ai.ai_family = out->one.ss_family;
	out->one_ai.ai_socktype = SOCK_STREAM;
	out->one_ai.ai_protocol = IPPROTO_TCP;
	out->one_ai.ai_addr = (struct sockaddr *)&out->one;
	out->one_ai.ai_addrlen = len;
	out->ai = &out->one_ai;
}

int corio_resolve(const char *host, const char *port, int family, struct addrinfo **out)
{
	corio__net_addrs a;
	int p = numeric_port(port);
	socklen_t len;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!host || !*host)
		return -EINVAL;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -EINVAL;
	memset(&a, 0, sizeof a);
	if (p < 0 || !numeric_host(host, false, p, &a.one, &len))
		return corio__resolve_name(host, port, family, out);
	/* A numeric host of the other family: what getaddrinfo says for it. */
	if (family != AF_UNSPEC && a.one.ss_family != family)
		return CORIO_EAI(EAI_ADDRFAMILY);
	one_entry(&a, len);
	*out = corio__ai_copy(a.ai);
	return *out ? 0 : -ENOMEM;
}

int corio__net_resolve(const char *host, const char *port, bool passive, corio__net_addrs *out)
{
	int p = numeric_port(port);
	socklen_t len;

	int rc;

	memset(out, 0, sizeof *out);
	if (p >= 0 && numeric_host(host, passive, p, &out->one, &len)) {
		one_entry(out, len);
		return 0;
	}
	/* A name (passive or not: AI_PASSIVE only matters for a NULL host, handled above). */
	rc = corio__resolve_name(host, port, AF_UNSPEC, &out->owned);
	out->ai = out->owned;
	return rc;
}

int corio__net_resolve_peer(const char *host, const char *port, corio__net_addrs *out)
{
	memset(out, 0, sizeof *out);
	if (!corio__net_in_task())
		return -EPERM;
	if (!port || !*port)
		return -EINVAL;
	return corio__net_resolve(host, port, false, out);
}

void corio__net_addrs_free(corio__net_addrs *a)
{
	if (a->owned)
		corio_resolve_free(a->owned);
	a->owned = a->ai = NULL;
}
