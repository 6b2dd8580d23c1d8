/* runtime/net/resolve_tmp_hproxy.c: TEMPORARY corio_resolve and corio_resolve_free for the
 * branch that brings HTTP proxies and tracing (the client's connect resolves through
 * corio_resolve). The real ones, with their cache, come from the resolver's own branch:
 * this file is deleted when that lands. No cache, no TTL: corio__net_resolve's answer
 * copied into a list the caller owns, one malloc per node (address included). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/net/net_internal.h"

void corio_resolve_free(struct addrinfo *list)
{
	while (list) {
		struct addrinfo *next = list->ai_next;

		free(list);
		list = next;
	}
}

int corio_resolve(const char *host, const char *port, int family, struct addrinfo **out)
{
	struct addrinfo *head = NULL, **tail = &head;
	corio__net_addrs a;
	int rc;

	if (out)
		*out = NULL;
	if (!out || !host || !*host ||
	    (family != AF_UNSPEC && family != AF_INET && family != AF_INET6))
		return -EINVAL;
	rc = corio__net_resolve(host, port, false, &a);
	if (rc != 0)
		return rc;
	for (const struct addrinfo *ai = a.ai; ai; ai = ai->ai_next) {
		struct addrinfo *n;

		if (family != AF_UNSPEC && ai->ai_family != family)
			continue;
		if (!(n = malloc(sizeof *n + ai->ai_addrlen))) {
			rc = -ENOMEM;
			break;
		}
		*n = *ai;
		n->ai_canonname = NULL;
		n->ai_next = NULL;
		n->ai_addr = (struct sockaddr *)(n + 1);
		memcpy(n->ai_addr, ai->ai_addr, ai->ai_addrlen);
		*tail = n;
		tail = &n->ai_next;
	}
	corio__net_addrs_free(&a);
	if (rc == 0 && !head)
		rc = CORIO_EAI(EAI_NONAME);
	if (rc != 0) {
		corio_resolve_free(head);
		return rc;
	}
	*out = head;
	return 0;
}
