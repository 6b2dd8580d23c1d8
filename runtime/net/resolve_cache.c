/* runtime/net/resolve_cache.c: the per-loop cache of resolved names: answers keyed by
 * (host, port, family), kept for the loop's TTL (corio_resolve_ttl, 30 s by default, 0 =
 * off), at most CORIO__RESOLVE_MAX of them with the oldest going first, dropped all at once
 * by corio_resolve_flush. Loop-local, so no lock: only the loop's thread touches it. The
 * cache owns its lists (corio__ai_copy blocks); callers get copies of their own. The
 * lookups that fill it are in resolve_flight.c. Nothing here parks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/net/net_internal.h"

#define CORIO__RESOLVE_BUCKETS 2048u /* a power of two, twice the entries */

struct corio__resolve_entry {
	corio__lnode order;          /* on the cache's list, oldest first */
	corio__resolve_entry *hnext; /* bucket chain */
	uint32_t hash;
	int family;
	uint64_t stored_at;
	struct addrinfo *ai;
	char key[];                  /* host NUL port NUL */
};

/* FNV-1a over the key; port NULL and "" are the same key. */
static uint32_t key_hash(const char *host, const char *port, int family)
{
	uint32_t h = 2166136261u ^ (uint32_t)family;

	for (const char *s = host; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h = (h ^ 0xffu) * 16777619u;
	for (const char *s = port ? port : ""; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static bool key_eq(const corio__resolve_entry *e, uint32_t hash, const char *host,
		   const char *port, int family)
{
	const char *eport = e->key + strlen(e->key) + 1;

	return e->hash == hash && e->family == family && strcmp(e->key, host) == 0 &&
	       strcmp(eport, port ? port : "") == 0;
}

static corio__resolve_entry **bucket_of(corio__resolve_cache *c, uint32_t hash)
{
	return &c->buckets[hash & (CORIO__RESOLVE_BUCKETS - 1)];
}

static void entry_drop(corio__resolve_cache *c, corio__resolve_entry *e)
{
	corio__resolve_entry **pp = bucket_of(c, e->hash);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	corio__list_remove(&c->order, &e->order);
	c->n--;
	corio_resolve_free(e->ai);
	free(e);
}

static void cache_empty(corio__resolve_cache *c)
{
	for (corio__lnode *n; (n = c->order.head);)
		entry_drop(c, CORIO__CONTAINER_OF(n, corio__resolve_entry, order));
	c->gen++; /* answers fetched before this are not stored after it */
}

/* The loop's fini hook, after the loop's last task. A flight whose task was cancelled at
 * the loop's end before its first turn never ran and is still listed: it is one block
 * starting with its list node (resolve_flight.c), with no waiter and no answer left. */
static void cache_fini(corio__loop *l)
{
	corio__resolve_cache *c = l->resolve_cache;

	l->resolve_cache = NULL;
	for (corio__lnode *n; (n = corio__list_pop_front(&c->flights));)
		free(n);
	cache_empty(c);
	free(c->buckets);
	free(c);
}

corio__resolve_cache *corio__resolve_cache_of(corio__loop *l)
{
	corio__resolve_cache *c = l->resolve_cache;

	if (c)
		return c;
	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->buckets = calloc(CORIO__RESOLVE_BUCKETS, sizeof *c->buckets);
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->ttl = CORIO__RESOLVE_TTL_DEFAULT;
	l->resolve_cache = c;
	corio__loop_on_fini(l, &c->fini, cache_fini);
	return c;
}

static corio__resolve_entry *entry_find(corio__resolve_cache *c, const char *host,
					const char *port, int family)
{
	uint32_t h = key_hash(host, port, family);

	for (corio__resolve_entry *e = *bucket_of(c, h); e; e = e->hnext)
		if (key_eq(e, h, host, port, family))
			return e;
	return NULL;
}

int corio__resolve_cache_find(corio__resolve_cache *c, const char *host, const char *port,
			      int family, struct addrinfo **out)
{
	corio__resolve_entry *e = c->ttl ? entry_find(c, host, port, family) : NULL;

	/* The TTL in force now decides, so that a shorter one applies at once. */
	if (e && corio_now() - e->stored_at >= c->ttl) {
		entry_drop(c, e);
		e = NULL;
	}
	if (!e) {
		c->stats.misses++;
		return -ENOENT;
	}
	c->stats.hits++;
	*out = corio__ai_copy(e->ai);
	return *out ? 0 : -ENOMEM;
}

void corio__resolve_cache_store(corio__resolve_cache *c, const char *host, const char *port,
				int family, uint64_t gen, struct addrinfo *list)
{
	size_t hl = strlen(host) + 1, pl = strlen(port ? port : "") + 1;
	corio__resolve_entry *e, *old;

	if (!c->ttl || gen != c->gen || !(e = malloc(sizeof *e + hl + pl))) {
		corio_resolve_free(list);
		return;
	}
	if ((old = entry_find(c, host, port, family)))
		entry_drop(c, old);
	if (c->n >= CORIO__RESOLVE_MAX) {
		entry_drop(c, CORIO__CONTAINER_OF(c->order.head, corio__resolve_entry, order));
		c->stats.evictions++;
	}
	*e = (corio__resolve_entry){ .hash = key_hash(host, port, family), .family = family,
				     .stored_at = corio_now(), .ai = list };
	memcpy(e->key, host, hl);
	memcpy(e->key + hl, port ? port : "", pl);
	e->hnext = *bucket_of(c, e->hash);
	*bucket_of(c, e->hash) = e;
	corio__list_push_back(&c->order, &e->order);
	c->n++;
}

uint64_t corio_resolve_ttl(uint64_t ttl_ns)
{
	corio__loop *l = corio__loop_get();
	corio__resolve_cache *c;
	uint64_t prev;

	if (!l)
		return 0;
	c = corio__resolve_cache_of(l);
	if (!c)
		return CORIO__RESOLVE_TTL_DEFAULT; /* no memory: nothing cached, nothing to set */
	prev = c->ttl;
	c->ttl = ttl_ns;
	if (!ttl_ns)
		cache_empty(c);
	return prev;
}

void corio_resolve_flush(void)
{
	corio__loop *l = corio__loop_get();

	if (l && l->resolve_cache)
		cache_empty(l->resolve_cache);
}

void corio__resolve_stats_get(corio__resolve_stats *out)
{
	corio__loop *l = corio__loop_get();

	memset(out, 0, sizeof *out);
	if (l && l->resolve_cache) {
		*out = l->resolve_cache->stats;
		out->entries = l->resolve_cache->n;
	}
}
