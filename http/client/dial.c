/* http/client/dial.c: owns the client's TCP connect with its trace events: the name
 * resolved through corio_resolve (DNS_START/DNS_DONE, for names only: a numeric host has
 * nothing to look up), then the addresses raced as corio_tcp_connect races them (Happy
 * Eyeballs, runtime/net/happy.c) with a CONNECT_START/CONNECT_DONE pair per attempt.
 * Attempts run side by side, so their pairs may interleave, and a loser still connecting
 * when another won ends with -ECANCELED. Parks. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include <corio/net.h>

#include "http/client/client_internal.h"
#include "runtime/net/connect_ext.h"

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

/* connect_ext.h's hook: one CONNECT_START/CONNECT_DONE pair per attempt. */
static void attempt_ev(void *ud, const struct addrinfo *ai, bool done, int err)
{
	addr_ev(ud, done ? CORIO_HTTP_TRACE_CONNECT_DONE : CORIO_HTTP_TRACE_CONNECT_START, ai, err);
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
	/* Happy Eyeballs when the name has both families; the hook runs in each attempt. */
	rc = corio__tcp_connect_hooked(list, corio__hclient_tracing(t) ? attempt_ev : NULL,
				       (void *)t);
	corio_resolve_free(list);
	return rc;
}
