/* runtime/net/net_internal.h: what the runtime/net/ files share and nothing else: whether
 * the caller is a task, address resolution (numeric without a thread, names through
 * corio_blocking + getaddrinfo), unix socket addresses, and forgetting a listener of the
 * registry (runtime/net/accept.c). */
#ifndef CORIO_NET_INTERNAL_H
#define CORIO_NET_INTERNAL_H

#include <netdb.h>
#include <sys/socket.h>

#include <corio/net.h>

#include "runtime/core/op.h"

/* True when the caller is a task of a loop (the io_uring path is available). */
static inline bool corio__net_in_task(void)
{
	corio__loop *l = corio__loop_get();

	return l && l->current;
}

/* A resolved address list. Numeric hosts fill one[] without allocating; names come from
 * getaddrinfo (ai, freed by corio__net_addrs_free). */
typedef struct corio__net_addrs {
	struct addrinfo *ai;     /* getaddrinfo's list, or &one_ai */
	struct addrinfo one_ai;
	struct sockaddr_storage one;
	struct addrinfo *owned;  /* what corio__net_addrs_free must release */
} corio__net_addrs;

/* Resolves host:port for a stream socket. passive: for bind (NULL host = any address).
 * 0, -errno or a CORIO_EAI code. Parks only for names (thread pool). */
int corio__net_resolve(const char *host, const char *port, bool passive, corio__net_addrs *out);
void corio__net_addrs_free(corio__net_addrs *a);
int corio__net_eai_error(int eai, int err);

struct sockaddr_un;
/* Fills *sun from path ('@' = abstract namespace): the address length or -errno. */
int corio__net_unix_addr(const char *path, struct sockaddr_un *sun);

/* Forgets fd in the listener registry before it is closed: cancels the multishot accept,
 * closes queued connections, wakes parked corio_accept callers with -EBADF. No effect for
 * an fd that is not a listener of this loop. Never parks. corio_close calls it inside a
 * task through its before-close hook (runtime/core/close.h), which the registry registers
 * when it is first created. */
void corio__net_forget(int fd);

#endif
