/* runtime/net/resolve_flight.c: resolving a name that is not in the cache. One lookup (a
 * "flight") runs getaddrinfo on the blocking pool per (host, port, family) at a time; every
 * task that asks for the same key meanwhile parks on that flight and gets its own copy of
 * the answer (single-flight, as Go's singleflight package does for its resolver).
 *
 * The flight is a detached task that owns the getaddrinfo job, not one of the callers: a
 * caller that is cancelled or times out leaves at once, without waiting for the pool thread
 * (which cannot be interrupted), and the answer still lands in the cache for the next one.
 * At the loop's end the flight is cancelled like every detached task and its waiters (none
 * by then) would get -ECANCELED. Failures are handed to the waiters, never cached. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/net/net_internal.h"

typedef struct flight {
	corio__lnode link;          /* on the cache's flights */
	corio__resolve_cache *cache;
	corio__list waiters;        /* struct waiter, parked callers */
	uint64_t gen;               /* the cache's generation when it started */
	int family;
	/* The getaddrinfo job: filled here, run on a pool thread (gai_run), read back here. */
	struct addrinfo hints;
	struct addrinfo *res;
	int gai_rc, gai_errno;
	const char *host, *port;    /* point into key */
	char key[];                 /* host NUL port NUL */
} flight;

/* resolve_cache.c frees a flight that never ran through its node. */
_Static_assert(offsetof(flight, link) == 0, "a flight starts with its list node");

typedef struct waiter {
	corio__wait w;
	corio__lnode link;
	flight *f;
	struct addrinfo *out;       /* the caller's copy, set before the wake */
	int rc;
} waiter;

/* On a pool thread: no corio calls here. */
static void *gai_run(void *p)
{
	flight *f = p;

	f->gai_rc = getaddrinfo(f->host, f->port && *f->port ? f->port : "0", &f->hints, &f->res);
	f->gai_errno = errno;
	return NULL;
}

/* The result of the flight's job: 0 with *list (a corio__ai_copy block), or the error. */
static int flight_result(flight *f, int rc, struct addrinfo **list)
{
	*list = NULL;
	if (rc == 0 && f->gai_rc != 0)
		rc = corio__net_eai_error(f->gai_rc, f->gai_errno);
	else if (rc == 0 && !f->res)
		rc = CORIO_EAI(EAI_NONAME);
	else if (rc == 0 && !(*list = corio__ai_copy(f->res)))
		rc = -ENOMEM;
	/* corio_blocking waited for the job even when cancelled: a list it made is ours. */
	if (f->res)
		freeaddrinfo(f->res);
	f->res = NULL;
	return rc;
}

static void *flight_run(void *p)
{
	flight *f = p;
	struct addrinfo *list;
	int rc = flight_result(f, corio_blocking(gai_run, f, NULL), &list);

	corio__list_remove(&f->cache->flights, &f->link);
	for (corio__lnode *n; (n = corio__list_pop_front(&f->waiters));) {
		waiter *w = CORIO__CONTAINER_OF(n, waiter, link);

		w->rc = rc;
		if (rc == 0 && !(w->out = corio__ai_copy(list)))
			w->rc = -ENOMEM;
		corio__wait_wake(&w->w, 0);
	}
	if (rc == 0)
		corio__resolve_cache_store(f->cache, f->host, f->port, f->family, f->gen, list);
	free(f);
	return NULL;
}

static flight *flight_find(corio__resolve_cache *c, const char *host, const char *port,
			   int family)
{
	for (corio__lnode *n = c->flights.head; n; n = n->next) {
		flight *f = CORIO__CONTAINER_OF(n, flight, link);

		if (f->family == family && strcmp(f->host, host) == 0 &&
		    strcmp(f->port, port ? port : "") == 0)
			return f;
	}
	return NULL;
}

static flight *flight_start(corio__resolve_cache *c, const char *host, const char *port,
			    int family)
{
	size_t hl = strlen(host) + 1, pl = strlen(port ? port : "") + 1;
	flight *f = calloc(1, sizeof *f + hl + pl);
	corio_task *t;

	if (!f)
		return NULL;
	memcpy(f->key, host, hl);
	memcpy(f->key + hl, port ? port : "", pl);
	f->host = f->key;
	f->port = f->key + hl;
	f->cache = c;
	f->gen = c->gen;
	f->family = family;
	f->hints.ai_family = family;
	f->hints.ai_socktype = SOCK_STREAM;
	f->hints.ai_flags = AI_ADDRCONFIG;
	t = corio_spawn(flight_run, f);
	if (!t) {
		free(f);
		return NULL;
	}
	corio_detach(t);
	corio__list_push_back(&c->flights, &f->link);
	c->stats.lookups++;
	return f;
}

/* Cancellation or the deadline ended the wait: leave the flight. */
static void waiter_unlink(corio__wait *w)
{
	waiter *me = w->data;

	corio__list_remove(&me->f->waiters, &me->link);
}

int corio__resolve_name(const char *host, const char *port, int family, struct addrinfo **out)
{
	corio__loop *l = corio__loop_get();
	corio__resolve_cache *c;
	waiter me = { 0 };
	int rc;

	*out = NULL;
	if (!l || !l->current)
		return -EPERM;
	if (!(c = corio__resolve_cache_of(l)))
		return -ENOMEM;
	rc = corio__resolve_cache_find(c, host, port, family, out);
	if (rc != -ENOENT)
		return rc;
	me.f = flight_find(c, host, port, family);
	if (me.f)
		c->stats.joined++;
	else if (!(me.f = flight_start(c, host, port, family)))
		return -ENOMEM;
	me.w = (corio__wait){ .task = l->current, .unlink = waiter_unlink, .data = &me,
			      .what = "resolve", .obj = me.f };
	corio__list_push_back(&me.f->waiters, &me.link);
	rc = corio__wait_park(&me.w);
	if (rc == 0)
		rc = me.rc;
	if (rc == 0)
		*out = me.out;
	else
		corio_resolve_free(me.out); /* woken with an answer, then cancelled */
	return rc;
}
