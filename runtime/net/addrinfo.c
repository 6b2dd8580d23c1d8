/* runtime/net/addrinfo.c: address lists as corio hands them out: one-block copies that
 * the caller owns (corio__ai_copy, freed by corio_resolve_free), the mapping of
 * getaddrinfo's EAI_* codes to corio results, and corio_net_strerror. The bottom of the
 * resolver's files (resolve.c, resolve_flight.c, resolve_cache.c); calls none of them.
 * Nothing here parks. */
#define _GNU_SOURCE
#include <errno.h>
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

/* The addresses of one entry, aligned for any sockaddr. */
#define AI_SLOT sizeof(struct sockaddr_storage)

struct addrinfo *corio__ai_copy(const struct addrinfo *list)
{
	size_t n = 0, canon = 0;
	struct addrinfo *out;
	char *addrs;

	for (const struct addrinfo *a = list; a; a = a->ai_next)
		n++;
	if (!n)
		return NULL;
	if (list->ai_canonname)
		canon = strlen(list->ai_canonname) + 1;
	/* One block: entries, then their addresses, then the canonical name. */
	out = calloc(1, n * (sizeof *out + AI_SLOT) + canon);
	if (!out)
		return NULL;
	addrs = (char *)(out + n);
	if (canon)
		memcpy(addrs + n * AI_SLOT, list->ai_canonname, canon);
	for (size_t i = 0; list; list = list->ai_next, i++) {
		struct addrinfo *o = &out[i];
		size_t len = list->ai_addrlen < AI_SLOT ? list->ai_addrlen : AI_SLOT;

		*o = *list;
		o->ai_addr = (struct sockaddr *)(addrs + i * AI_SLOT);
		memcpy(o->ai_addr, list->ai_addr, len);
		o->ai_addrlen = (socklen_t)len;
		o->ai_canonname = NULL;
		o->ai_next = i + 1 < n ? &out[i + 1] : NULL;
	}
	if (canon)
		out->ai_canonname = addrs + n * AI_SLOT;
	return out;
}

void corio_resolve_free(struct addrinfo *list)
{
	free(list); /* one block: corio__ai_copy */
}
