/* tests/net/test_resolve.c: corio_resolve and the per-loop cache (runtime/net/resolve*.c).
 * Numeric hosts (IPv4, IPv6, bracketed) without any thread and outside a loop, the family
 * filter, bad arguments, "localhost" through getaddrinfo (/etc/hosts: no network), cache
 * hits seen through the cache's counters (no timing), expiry with a 1 ns TTL, TTL 0, flush,
 * eviction past 1024 names, failures not cached (an unknown service name fails without the
 * network: no test here sends a DNS query, since no traffic may leave the machine),
 * single-flight lookups, and a resolve cancelled while its lookup runs. The counters come
 * from corio__resolve_stats_get (runtime/net/net_internal.h). */
#include "tests/support/helpers.h"

#include "runtime/net/net_internal.h"

static int port_of(const struct addrinfo *ai)
{
	if (ai->ai_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ai->ai_addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ai->ai_addr)->sin6_port);
}

static corio__resolve_stats stats(void)
{
	corio__resolve_stats s;

	corio__resolve_stats_get(&s);
	return s;
}

static bool has_loopback4(const struct addrinfo *ai)
{
	for (; ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET &&
		    ((const struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr ==
			    htonl(INADDR_LOOPBACK))
			return true;
	return false;
}

/* ---- numeric hosts ---- */

static void *numeric_task(void *arg)
{
	struct addrinfo *ai;
	static const char *const v6[] = { "::1", "[::1]" };

	(void)arg;
	TH_CHECK(corio_resolve("127.0.0.1", "80", AF_UNSPEC, &ai) == 0);
	TH_CHECK(ai && !ai->ai_next && ai->ai_family == AF_INET && port_of(ai) == 80);
	TH_CHECK(has_loopback4(ai));
	corio_resolve_free(ai);
	for (int i = 0; i < 2; i++) {
		TH_CHECK(corio_resolve(v6[i], "443", AF_INET6, &ai) == 0);
		TH_CHECK(ai && !ai->ai_next && ai->ai_family == AF_INET6 && port_of(ai) == 443);
		TH_CHECK(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr));
		corio_resolve_free(ai);
	}
	/* No port: 0. */
	TH_CHECK(corio_resolve("10.1.2.3", NULL, AF_INET, &ai) == 0 && port_of(ai) == 0);
	corio_resolve_free(ai);
	/* Numeric answers need no lookup and are not cached. */
	TH_CHECK(stats().lookups == 0 && stats().entries == 0);
	return TH_OK;
}
TH_TASK_TEST(numeric, numeric_task)

START_TEST(numeric_outside_loop)
{
	struct addrinfo *ai = NULL;

	ck_assert_int_eq(corio_resolve("[::1]", "9", AF_UNSPEC, &ai), 0);
	ck_assert_int_eq(ai->ai_family, AF_INET6);
	ck_assert_int_eq(port_of(ai), 9);
	corio_resolve_free(ai);
	/* A name needs a task (the pool and the loop's cache). */
	ck_assert_int_eq(corio_resolve("localhost", "9", AF_UNSPEC, &ai), -EPERM);
	ck_assert_ptr_null(ai);
	/* Outside a loop the cache calls do nothing. */
	ck_assert_uint_eq(corio_resolve_ttl(5), 0);
	corio_resolve_flush();
}
END_TEST

static void *bad_args_task(void *arg)
{
	struct addrinfo *ai = (void *)1;

	(void)arg;
	TH_CHECK(corio_resolve(NULL, "80", AF_UNSPEC, &ai) == -EINVAL && ai == NULL);
	TH_CHECK(corio_resolve("", "80", AF_UNSPEC, &ai) == -EINVAL);
	TH_CHECK(corio_resolve("127.0.0.1", "80", AF_UNIX, &ai) == -EINVAL);
	TH_CHECK(corio_resolve("localhost", "80", 12345, &ai) == -EINVAL);
	TH_CHECK(corio_resolve("127.0.0.1", "80", AF_UNSPEC, NULL) == -EINVAL);
	/* The family filter on numeric hosts: what getaddrinfo says. */
	TH_CHECK(corio_resolve("127.0.0.1", "80", AF_INET6, &ai) == CORIO_EAI(EAI_ADDRFAMILY));
	TH_CHECK(corio_resolve("::1", "80", AF_INET, &ai) == CORIO_EAI(EAI_ADDRFAMILY));
	TH_CHECK(ai == NULL);
	TH_CHECK(strcmp(corio_net_strerror(CORIO_EAI(EAI_ADDRFAMILY)),
			gai_strerror(EAI_ADDRFAMILY)) == 0);
	return TH_OK;
}
TH_TASK_TEST(bad_args, bad_args_task)

/* ---- names and the cache ---- */

static void *localhost_task(void *arg)
{
	struct addrinfo *a, *b;

	(void)arg;
	TH_CHECK(corio_resolve("localhost", "8080", AF_UNSPEC, &a) == 0);
	TH_CHECK(has_loopback4(a) && port_of(a) == 8080);
	TH_CHECK(stats().lookups == 1 && stats().misses == 1 && stats().entries == 1);
	/* The second answer comes from the cache, as a copy of its own. */
	TH_CHECK(corio_resolve("localhost", "8080", AF_UNSPEC, &b) == 0);
	TH_CHECK(stats().lookups == 1 && stats().hits == 1);
	TH_CHECK(a != b && has_loopback4(b) && port_of(b) == 8080);
	corio_resolve_free(a);
	TH_CHECK(has_loopback4(b));
	corio_resolve_free(b);
	/* Another port or family is another key. */
	TH_CHECK(corio_resolve("localhost", "8081", AF_UNSPEC, &a) == 0);
	corio_resolve_free(a);
	TH_CHECK(corio_resolve("localhost", "8080", AF_INET, &a) == 0);
	for (struct addrinfo *p = a; p; p = p->ai_next)
		TH_CHECK(p->ai_family == AF_INET);
	corio_resolve_free(a);
	TH_CHECK(stats().lookups == 3 && stats().entries == 3);
	/* A service name goes through getaddrinfo too. */
	TH_CHECK(corio_resolve("127.0.0.1", "http", AF_UNSPEC, &a) == 0 && port_of(a) == 80);
	corio_resolve_free(a);
	corio_resolve_flush();
	TH_CHECK(stats().entries == 0);
	TH_CHECK(corio_resolve("localhost", "8080", AF_UNSPEC, &a) == 0);
	corio_resolve_free(a);
	TH_CHECK(stats().lookups == 5);
	return TH_OK;
}
TH_TASK_TEST(localhost_cached, localhost_task)

static void *ttl_task(void *arg)
{
	struct addrinfo *a;

	(void)arg;
	TH_CHECK(corio_resolve_ttl(1) == CORIO_SEC(30)); /* the default */
	/* 1 ns: expired at the next look, whatever the clock's resolution. */
	TH_CHECK(corio_resolve("localhost", "1", AF_UNSPEC, &a) == 0);
	corio_resolve_free(a);
	TH_CHECK(corio_resolve("localhost", "1", AF_UNSPEC, &a) == 0);
	corio_resolve_free(a);
	TH_CHECK(stats().lookups == 2 && stats().hits == 0);
	TH_CHECK(corio_resolve_ttl(CORIO_SEC(60)) == 1);
	TH_CHECK(corio_resolve("localhost", "1", AF_UNSPEC, &a) == 0);
	corio_resolve_free(a);
	TH_CHECK(stats().lookups == 2 && stats().hits == 1); /* stored with the 1 ns TTL, kept now */
	/* 0: off, and emptied. */
	TH_CHECK(corio_resolve_ttl(0) == CORIO_SEC(60));
	TH_CHECK(stats().entries == 0);
	for (int i = 0; i < 2; i++) {
		TH_CHECK(corio_resolve("localhost", "1", AF_UNSPEC, &a) == 0);
		corio_resolve_free(a);
	}
	TH_CHECK(stats().lookups == 4 && stats().entries == 0);
	return TH_OK;
}
TH_TASK_TEST(ttl, ttl_task)

static void *evict_task(void *arg)
{
	struct addrinfo *a;
	char port[16];

	(void)arg;
	for (unsigned i = 1; i <= CORIO__RESOLVE_MAX + 1; i++) {
		snprintf(port, sizeof port, "%u", i);
		TH_CHECK(corio_resolve("localhost", port, AF_UNSPEC, &a) == 0);
		corio_resolve_free(a);
	}
	TH_CHECK(stats().entries == CORIO__RESOLVE_MAX && stats().evictions == 1);
	/* The newest is there, the oldest went first. */
	TH_CHECK(corio_resolve("localhost", "1025", AF_UNSPEC, &a) == 0);
	corio_resolve_free(a);
	TH_CHECK(stats().hits == 1);
	TH_CHECK(corio_resolve("localhost", "1", AF_UNSPEC, &a) == 0);
	corio_resolve_free(a);
	TH_CHECK(stats().hits == 1 && stats().lookups == CORIO__RESOLVE_MAX + 2);
	TH_CHECK(stats().entries == CORIO__RESOLVE_MAX && stats().evictions == 2);
	return TH_OK;
}
TH_TASK_TEST(evict, evict_task)

static void *failure_task(void *arg)
{
	struct addrinfo *a = (void *)1;
	int rc;

	(void)arg;
	/* An unknown service: getaddrinfo fails from /etc/services, no network involved. */
	for (int i = 0; i < 2; i++) {
		rc = corio_resolve("localhost", "no-such-service-corio", AF_UNSPEC, &a);
		TH_CHECK(rc == CORIO_EAI(EAI_SERVICE) || rc == CORIO_EAI(EAI_NONAME));
		TH_CHECK(CORIO_IS_EAI(rc) && a == NULL);
	}
	TH_CHECK(stats().lookups == 2 && stats().entries == 0);
	/* Through corio_tcp_connect too. */
	TH_CHECK(CORIO_IS_EAI(corio_tcp_connect("localhost", "no-such-service-corio")));
	return TH_OK;
}
TH_TASK_TEST(failure_not_cached, failure_task)

typedef struct asker {
	const char *port;
	int rc;
	bool loopback;
} asker;

static void *ask(void *p)
{
	asker *k = p;
	struct addrinfo *a = NULL;

	k->rc = corio_resolve("localhost", k->port, AF_UNSPEC, &a);
	k->loopback = a && has_loopback4(a);
	corio_resolve_free(a);
	return NULL;
}

static void *single_flight_task(void *arg)
{
	asker k[5];
	corio_task *t[5];

	(void)arg;
	for (int i = 0; i < 5; i++) {
		k[i] = (asker){ .port = "7", .rc = 1 };
		t[i] = corio_spawn(ask, &k[i]);
		TH_CHECK(t[i]);
	}
	TH_CHECK(corio_gather(t, 5, NULL) == 0);
	for (int i = 0; i < 5; i++)
		TH_CHECK(k[i].rc == 0 && k[i].loopback);
	/* All five asked before the one lookup could answer (they ran in one turn). */
	TH_CHECK(stats().lookups == 1 && stats().joined == 4 && stats().entries == 1);
	return TH_OK;
}
TH_TASK_TEST(single_flight, single_flight_task)

static void *cancel_task(void *arg)
{
	asker k = { .port = "9", .rc = 1 };
	corio_task *t = corio_spawn(ask, &k);
	struct addrinfo *a;
	corio_timeout to;
	int rc;

	(void)arg;
	TH_CHECK(t);
	corio_yield(); /* it starts the lookup and parks on it */
	TH_CHECK(stats().lookups == 1);
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	TH_CHECK(k.rc == -ECANCELED);
	/* The lookup went on without it: this call joins it or finds its answer cached. */
	TH_CHECK(corio_resolve("localhost", "9", AF_UNSPEC, &a) == 0 && has_loopback4(a));
	corio_resolve_free(a);
	TH_CHECK(stats().lookups == 1);
	/* A deadline that passed before the call: -ETIMEDOUT, nothing leaked. */
	corio_resolve_flush();
	corio_timeout_enter(&to, 0);
	rc = corio_resolve("localhost", "10", AF_UNSPEC, &a);
	TH_CHECK(corio_timeout_exit(&to));
	TH_CHECK(rc == -ETIMEDOUT);
	return TH_OK;
}
TH_TASK_TEST(cancel, cancel_task)

/* The cache of one loop is not another's: a new loop starts empty (and the old one's was
 * freed at its end: the sanitizer build checks that). */
static void *fresh_task(void *arg)
{
	struct addrinfo *a;

	(void)arg;
	TH_CHECK(stats().entries == 0);
	TH_CHECK(corio_resolve("localhost", "11", AF_UNSPEC, &a) == 0);
	corio_resolve_free(a);
	return TH_OK;
}

START_TEST(per_loop)
{
	TH_RUN_EXPECT_OK(NULL, fresh_task, NULL);
	TH_RUN_EXPECT_OK(NULL, fresh_task, NULL);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("resolve", 60, numeric, numeric_outside_loop, bad_args,
				localhost_cached, ttl, evict, failure_not_cached,
				single_flight,
				cancel, per_loop));
}
