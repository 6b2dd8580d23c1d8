/* runtime/net/happy.c: TCP connects: corio_tcp_connect (numeric hosts parsed, names through
 * the resolver's cache) over Happy Eyeballs v2 (RFC 8305), corio_tcp_connect_addrinfo. The
 * addresses are put in the RFC's order (families alternating, starting with the first
 * entry's, section 4), one attempt starts, and each later one starts when the Connection
 * Attempt Delay passed (250 ms, section 5) or at once when the previous attempt failed,
 * while the earlier ones keep running. The first to connect wins.
 *
 * Each attempt is a task of its own (a socket and a connect, each parking on its own
 * operation), so the attempts run side by side; this task waits for the first to finish
 * (corio_wait_any) with the delay as a timeout scope of its own. Ownership: an attempt
 * closes its socket itself when its connect fails; a connected socket it hands back is
 * ours, and every one that is not the winner is closed here, also when this task was
 * cancelled or its deadline fired (losers are cancelled, then joined in a shield, since a
 * connect may complete while its cancel is on its way). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>

#include "runtime/net/connect_ext.h"
#include "runtime/net/net_internal.h"

uint64_t corio__he_delay_ns = CORIO_MS(250);

#define MAX_ATTEMPTS 64u /* addresses tried; getaddrinfo rarely gives more than a dozen */

static bool usable(const struct addrinfo *ai)
{
	return (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
	       (ai->ai_socktype == SOCK_STREAM || ai->ai_socktype == 0) && ai->ai_addr;
}

size_t corio__he_order(const struct addrinfo *list, const struct addrinfo **out, size_t max)
{
	const struct addrinfo *fam[2][MAX_ATTEMPTS];
	size_t cnt[2] = { 0, 0 }, n = 0;
	int first = 0;

	/* Split by family, each keeping getaddrinfo's order (RFC 6724) within itself. */
	for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		int k;

		if (!usable(ai))
			continue;
		if (!first)
			first = ai->ai_family;
		k = ai->ai_family != first;
		if (cnt[k] < MAX_ATTEMPTS)
			fam[k][cnt[k]++] = ai;
	}
	/* Then alternate, starting with the first entry's family (RFC 8305 section 4). */
	for (size_t i = 0; n < max && (i < cnt[0] || i < cnt[1]); i++) {
		if (i < cnt[0])
			out[n++] = fam[0][i];
		if (i < cnt[1] && n < max)
			out[n++] = fam[1][i];
	}
	return n;
}

/* Who is told about each attempt (connect_ext.h): none for corio_tcp_connect. */
typedef struct hook {
	corio__connect_hook fn;
	void *ud;
} hook;

/* One attempt: a socket of ai's family connected to ai. fd or -errno. */
static int connect_one(const struct addrinfo *ai, const hook *h)
{
	int fd, one = 1;

	if (h->fn)
		h->fn(h->ud, ai, false, 0);
	fd = corio__net_dial(ai->ai_family, SOCK_STREAM, ai->ai_addr, ai->ai_addrlen);
	if (h->fn)
		h->fn(h->ud, ai, true, fd < 0 ? fd : 0);
	if (fd < 0)
		return fd;
	/* Small writes go out at once, as asyncio does for every TCP transport. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

typedef struct attempt {
	const struct addrinfo *ai;
	const hook *h;
	corio_task *t; /* NULL once joined */
	int rc;        /* the connected fd, or -errno (-ECANCELED until it ran) */
} attempt;

typedef struct race {
	const struct addrinfo *order[MAX_ATTEMPTS];
	attempt at[MAX_ATTEMPTS];
	corio_task *live[MAX_ATTEMPTS]; /* running attempts, for corio_wait_any */
	size_t live_at[MAX_ATTEMPTS];   /* their index in at[] */
	size_t n, started, nlive;
	int err;                        /* the last attempt's error */
	hook h;
} race;

/* wait_step's answer when the Connection Attempt Delay passed: apart from the indexes
 * (>= 0) and the errors (-errno > -1000) it also returns. */
#define DELAY_PASSED (-1001)

static void *attempt_run(void *p)
{
	attempt *a = p;

	a->rc = connect_one(a->ai, a->h);
	return NULL;
}

static void start_next(race *r)
{
	attempt *a = &r->at[r->started];

	*a = (attempt){ .ai = r->order[r->started], .h = &r->h, .rc = -ECANCELED };
	r->started++;
	a->t = corio_spawn(attempt_run, a);
	if (!a->t) {
		r->err = -ENOMEM; /* as if it failed: the next one starts */
		return;
	}
	r->live_at[r->nlive] = (size_t)(a - r->at);
	r->live[r->nlive++] = a->t;
}

static void *join_fn(void *t)
{
	corio_join(t, NULL);
	return NULL;
}

/* Joins running attempt li (finished, or cancelled) whatever the state of this task (a
 * join in a cancelled task would leave the task unfreed), and forgets it. Its result. */
static int reap(race *r, size_t li)
{
	attempt *a = &r->at[r->live_at[li]];

	corio_shield(join_fn, a->t);
	a->t = NULL;
	r->nlive--;
	r->live[li] = r->live[r->nlive];
	r->live_at[li] = r->live_at[r->nlive];
	return a->rc;
}

/* Waits for an attempt to finish: its index in live[], DELAY_PASSED, or the error that
 * ends the race (-ECANCELED, -ETIMEDOUT, -ENOMEM). */
static int wait_step(race *r)
{
	corio_timeout to;
	int rc;

	if (r->started == r->n)
		return corio_wait_any(r->live, r->nlive);
	corio_timeout_enter(&to, corio__he_delay_ns);
	rc = corio_wait_any(r->live, r->nlive);
	/* Our own scope fired (not the caller's): the Connection Attempt Delay passed. */
	if (corio_timeout_exit(&to) && rc == -ETIMEDOUT)
		return DELAY_PASSED;
	return rc;
}

/* Cancels every attempt still running, joins them all and closes each socket that is not
 * the winner's. */
static void race_end(race *r, int winner)
{
	for (size_t i = 0; i < r->nlive; i++)
		corio_cancel(r->live[i]);
	while (r->nlive) {
		int fd = reap(r, r->nlive - 1);

		if (fd >= 0 && fd != winner)
			corio_close(fd);
	}
}

/* Starts, waits, starts again: the first fd that connects, or the error ending the race. */
static int race_run(race *r)
{
	int rc;

	start_next(r);
	for (;;) {
		if (r->nlive == 0) {
			if (r->started == r->n)
				return r->err;
			start_next(r);
			continue;
		}
		/* A delay of 0 starts every attempt at once. */
		rc = corio__he_delay_ns == 0 && r->started < r->n ? DELAY_PASSED : wait_step(r);
		if (rc == DELAY_PASSED) {
			start_next(r);
			continue;
		}
		if (rc < 0)
			return rc; /* cancelled, timed out: the whole race ends */
		rc = reap(r, (size_t)rc);
		if (rc >= 0)
			return rc;
		r->err = rc;
		if (r->started < r->n)
			start_next(r); /* failed: the next one starts at once */
	}
}

int corio_tcp_connect(const char *host, const char *port)
{
	corio__net_addrs addrs;
	int rc;

	rc = corio__net_resolve_peer(host, port, &addrs);
	if (rc != 0)
		return rc;
	rc = corio_tcp_connect_addrinfo(addrs.ai);
	corio__net_addrs_free(&addrs);
	return rc;
}

int corio_tcp_connect_addrinfo(const struct addrinfo *list)
{
	return corio__tcp_connect_hooked(list, NULL, NULL);
}

int corio__tcp_connect_hooked(const struct addrinfo *list, corio__connect_hook fn, void *ud)
{
	race *r;
	int rc;

	if (!corio__net_in_task())
		return -EPERM;
	r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->n = corio__he_order(list, r->order, MAX_ATTEMPTS);
	r->err = -ECONNREFUSED;
	r->h = (hook){ fn, ud };
	if (r->n == 0)
		rc = -EINVAL;
	else if (r->n == 1)
		rc = connect_one(r->order[0], &r->h); /* nothing to race: no task */
	else
		rc = race_run(r);
	race_end(r, rc);
	free(r);
	return rc;
}
