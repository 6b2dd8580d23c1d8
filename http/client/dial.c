/* http/client/dial.c: owns the client's TCP connect with its trace events: the name
 * resolved through corio_resolve (DNS_START/DNS_DONE, for names only: a numeric host has
 * nothing to look up), then each address tried in order with its own CONNECT_START/
 * CONNECT_DONE pair. Parks. (corio_tcp_connect does the same without events; once a
 * Happy Eyeballs connect with a per-attempt hook exists, this becomes a call to it.) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include <corio/net.h>

#include "http/client/client_internal.h"

static bool numeric(const char *host)
{
	struct in6_addr a;

	return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
}

static void addr_ev(const corio__hclient_trace *t, corio_http_trace_event e,
		    const struct addrinfo *ai, int err)
{
	corio_http_trace_info ev;

	if (!corio__hclient_tracing(t))
		return;
	memset(&ev, 0, sizeof ev);
	ev.event = e;
	ev.addr = ai->ai_addr;
	ev.addrlen = ai->ai_addrlen;
	ev.err = err;
	corio__hclient_trace_emit(t, &ev);
}

/* One address: fd or -errno. */
static int try_one(const struct addrinfo *ai, const corio__hclient_trace *t)
{
	int fd, rc, one = 1;

	addr_ev(t, CORIO_HTTP_TRACE_CONNECT_START, ai, 0);
	fd = rc = corio_socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && (rc = corio_connect(fd, ai->ai_addr, ai->ai_addrlen)) != 0) {
		corio_close(fd);
		fd = rc;
	}
	addr_ev(t, CORIO_HTTP_TRACE_CONNECT_DONE, ai, fd < 0 ? fd : 0);
	if (fd >= 0) /* small writes leave at once, as corio_tcp_connect does */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

int corio__hclient_dial(const char *host, const char *port, const corio__hclient_trace *t)
{
	struct addrinfo *list = NULL;
	bool name = !numeric(host);
	int rc;

	if (name)
		corio__hclient_trace_ev(t, CORIO_HTTP_TRACE_DNS_START, 0, 0);
	rc = corio_resolve(host, port, AF_UNSPEC, &list);
	if (name)
		corio__hclient_trace_ev(t, CORIO_HTTP_TRACE_DNS_DONE, rc, 0);
	if (rc != 0)
		return rc;
	rc = -ECONNREFUSED;
	for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		rc = try_one(ai, t);
		/* A deadline or a cancellation ends the whole attempt, not one address. */
		if (rc >= 0 || rc == -ETIMEDOUT || rc == -ECANCELED)
			break;
	}
	corio_resolve_free(list);
	return rc;
}
