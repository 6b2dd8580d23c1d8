/* runtime/net/net_internal.h: what the runtime/net/ files share and nothing else: whether
 * the caller is a task, address resolution (numeric without a thread, names through the
 * per-loop cache and single-flight getaddrinfo on the blocking pool), unix socket
 * addresses, forgetting a listener of the registry (runtime/net/accept.c), and the knobs
 * the tests turn (Happy Eyeballs' delay, the UDP receiver's fallback, cache statistics). */
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
 * 0, -errno or a CORIO_EAI code. Parks only for names (corio__resolve_name: the cache,
 * else the thread pool). */
int corio__net_resolve(const char *host, const char *port, bool passive, corio__net_addrs *out);
/* The peer of a connect (TCP or UDP): a task only (-EPERM), a port required (-EINVAL), then
 * corio__net_resolve (NULL host: 127.0.0.1). *out is freeable whatever this returns. */
int corio__net_resolve_peer(const char *host, const char *port, corio__net_addrs *out);
void corio__net_addrs_free(corio__net_addrs *a);
int corio__net_eai_error(int eai, int err);

/* ---- name resolution (resolve.c over resolve_flight.c over resolve_cache.c, all over
 * addrinfo.c) ---- */

/* A copy of list in one malloc block (entries, addresses and the first canonical name),
 * freed with free() / corio_resolve_free. NULL on ENOMEM (or an empty list). */
struct addrinfo *corio__ai_copy(const struct addrinfo *list);

/* Counters of a loop's cache, for tests (no timing needed to see a hit). */
typedef struct corio__resolve_stats {
	uint64_t hits;      /* answered from the cache */
	uint64_t misses;    /* names not in the cache (or expired) */
	uint64_t lookups;   /* getaddrinfo calls started (one per flight) */
	uint64_t joined;    /* callers that joined a flight already running */
	uint64_t evictions; /* entries dropped to stay within CORIO__RESOLVE_MAX */
	unsigned entries;
} corio__resolve_stats;

#define CORIO__RESOLVE_MAX 1024u
#define CORIO__RESOLVE_TTL_DEFAULT CORIO_SEC(30)

typedef struct corio__resolve_entry corio__resolve_entry;

/* The per-loop cache (l->resolve_cache, made at first use, freed by the loop's fini hook)
 * and the lookups in flight. gen changes at every flush, so that an answer fetched before
 * a flush is not stored after it. */
typedef struct corio__resolve_cache {
	corio__loop_fini fini;
	uint64_t ttl;
	uint64_t gen;
	unsigned n;
	corio__list order;               /* entries, oldest first */
	corio__resolve_entry **buckets;  /* CORIO__RESOLVE_BUCKETS chains */
	corio__list flights;             /* lookups running on the pool (resolve_flight.c) */
	corio__resolve_stats stats;
} corio__resolve_cache;

/* This loop's cache, made at first use; NULL on ENOMEM. Never parks. */
corio__resolve_cache *corio__resolve_cache_of(corio__loop *l);
/* A caller-owned copy of the cached answer for (host, port, family): 0, or -ENOENT (not
 * there, expired, or the cache is off), -ENOMEM. */
int corio__resolve_cache_find(corio__resolve_cache *c, const char *host, const char *port,
			      int family, struct addrinfo **out);
/* Takes list (a corio__ai_copy block) into the cache, unless the cache is off or was
 * flushed since gen (then list is freed). Evicts the oldest entry at CORIO__RESOLVE_MAX. */
void corio__resolve_cache_store(corio__resolve_cache *c, const char *host, const char *port,
				int family, uint64_t gen, struct addrinfo *list);
/* Resolves a name: the cache, else a lookup on the pool shared by every task asking for
 * the same (host, port, family) meanwhile. A cancelled or timed-out caller leaves at once;
 * the lookup finishes on its own and its answer is cached. Parks (a task only). */
int corio__resolve_name(const char *host, const char *port, int family, struct addrinfo **out);
/* Tests: this loop's counters (zeros outside a loop or before any use). */
void corio__resolve_stats_get(corio__resolve_stats *out);

/* ---- Happy Eyeballs (happy.c) ---- */

/* Connection Attempt Delay (RFC 8305 section 5: 250 ms recommended). A variable so that tests
 * can shorten or lengthen it; loop thread only. */
extern uint64_t corio__he_delay_ns;
/* The attempt order of list: usable entries (SOCK_STREAM or 0, AF_INET/AF_INET6), families
 * alternating starting with the first entry's. Fills up to max pointers; the count. */
size_t corio__he_order(const struct addrinfo *list, const struct addrinfo **out, size_t max);

/* ---- provided-buffer rings (bufring.c) ---- */

/* entries buffers of bufsz bytes under buffer group bgid (entries a power of two). */
typedef struct corio__bufring {
	struct io_uring_buf_ring *br;
	size_t br_size;
	char *mem;
	unsigned entries;
	size_t bufsz;
	uint16_t bgid;
} corio__bufring;

/* Maps, fills and registers b on ring: 0, or -ENOMEM / the register error (-EEXIST: bgid is
 * taken), with nothing left to release. */
int corio__bufring_init(struct io_uring *ring, corio__bufring *b, unsigned entries,
			size_t bufsz, uint16_t bgid);
/* Gives buffer bid back to the kernel. */
void corio__bufring_put(corio__bufring *b, uint16_t bid);
/* Unregisters b (after the last request using it ended) and frees it. */
void corio__bufring_fini(struct io_uring *ring, corio__bufring *b);
static inline char *corio__bufring_buf(const corio__bufring *b, uint16_t bid)
{
	return b->mem + (size_t)bid * b->bufsz;
}

/* ---- UDP (udp_receiver.c) ---- */

/* Tests: new corio_udp_receivers use one recvmsg per call, as on kernels before 6.0. */
extern bool corio__udp_force_fallback;

/* A socket (type, SOCK_CLOEXEC) connected to addr: fd, or -errno with nothing left open.
 * Parks. */
int corio__net_dial(int family, int type, const struct sockaddr *addr, socklen_t len);

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
