/* tests/net/test_happy.c: Happy Eyeballs in corio_tcp_connect_addrinfo (runtime/net/happy.c).
 * The attempt order (families alternating from the first entry's), and races over local
 * addresses that behave on purpose: a port that refuses (a TCP socket bound but not
 * listening: the SYN gets a RST), one that hangs (a listener with backlog 0 whose accept
 * queue is full: its SYNs are dropped, the connect waits), and one that accepts. The
 * Connection Attempt Delay is the internal corio__he_delay_ns: long (30 s) where a test
 * shows the next attempt started at once after a failure, short where it shows a hung
 * attempt does not hold the race up. Every run checks that no descriptor is left open
 * (losers closed, also when the caller is cancelled or its deadline fires). IPv6 cases
 * are skipped when ::1 cannot be bound. Only ports bound here are used. */
#include <netinet/tcp.h>

#include "tests/support/helpers.h"

#include "runtime/net/net_internal.h"

/* ---- addresses ---- */

typedef struct addr {
	struct sockaddr_storage ss;
	struct addrinfo ai;
} addr;

static void addr_set(addr *a, int family, int port)
{
	memset(a, 0, sizeof *a);
	a->ai.ai_family = family;
	a->ai.ai_socktype = SOCK_STREAM;
	a->ai.ai_addr = (struct sockaddr *)&a->ss;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->ai.ai_addrlen = sizeof *in;
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		in6->sin6_addr = in6addr_loopback;
		a->ai.ai_addrlen = sizeof *in6;
	}
}

/* Links a[0..n-1] into one list. */
static const struct addrinfo *chain(addr *a, int n)
{
	for (int i = 0; i < n; i++)
		a[i].ai.ai_next = i + 1 < n ? &a[i + 1].ai : NULL;
	return &a[0].ai;
}

static int local_port(int fd)
{
	return corio_sock_port(fd);
}

static int peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return -errno;
	return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
				       : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int peer_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	return getpeername(fd, (struct sockaddr *)&ss, &len) == 0 ? ss.ss_family : -1;
}

/* ---- local peers: refusing, hanging, accepting ---- */

/* A TCP socket bound to loopback (family) and not listening: connects to its port are
 * refused. fd, or -errno. */
static int refusing(int family)
{
	addr a;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	addr_set(&a, family, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, a.ai.ai_addr, a.ai.ai_addrlen) != 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* A listener whose accept queue is full, so that its SYNs are dropped and a connect to it
 * hangs. The fillers are the connections that fill it; close them with it. */
typedef struct hanging {
	int lfd;
	int fill[4];
	int nfill;
} hanging;

/* Accept queue length and its limit (TCP_INFO of a listener). */
static bool queue_full(int lfd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return false;
	return ti.tcpi_unacked > ti.tcpi_sacked; /* sk_acceptq_is_full */
}

static const char *hanging_open(hanging *h, int family)
{
	addr a;

	memset(h, 0, sizeof *h);
	h->lfd = family == AF_INET ? corio_tcp_listen("127.0.0.1", "0", 0)
				   : corio_tcp_listen("::1", "0", 0);
	if (h->lfd < 0)
		return "listen";
	addr_set(&a, family, local_port(h->lfd));
	/* Connections the kernel completes and queues, until the queue is full (one should
	 * do with backlog 0; another every 200 ms if not), checked by polling the listener:
	 * bounded (2 s), no fixed sleep. */
	for (uint64_t end = corio_now() + CORIO_SEC(2), next = 0; !queue_full(h->lfd);) {
		uint64_t now = corio_now();

		if (now > end)
			return "could not fill the accept queue";
		if (now >= next && h->nfill < 4) {
			int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			if (fd < 0)
				return "socket";
			h->fill[h->nfill++] = fd;
			(void)connect(fd, a.ai.ai_addr, a.ai.ai_addrlen);
			next = now + CORIO_MS(200);
		}
		corio_sleep(CORIO_MS(1));
	}
	return NULL;
}

static void hanging_close(hanging *h)
{
	for (int i = 0; i < h->nfill; i++)
		close(h->fill[i]);
	if (h->lfd >= 0)
		corio_listen_close(h->lfd);
}

/* Whether ::1 can be bound here (CI may have no IPv6). */
static bool have_ipv6(void)
{
	int fd = refusing(AF_INET6);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* ---- the attempt order ---- */

START_TEST(order)
{
	addr a[6];
	const struct addrinfo *out[8];
	size_t n;

	/* v6, v6, v6, v4, v4 -> v6 v4 v6 v4 v6 */
	addr_set(&a[0], AF_INET6, 1);
	addr_set(&a[1], AF_INET6, 2);
	addr_set(&a[2], AF_INET6, 3);
	addr_set(&a[3], AF_INET, 4);
	addr_set(&a[4], AF_INET, 5);
	n = corio__he_order(chain(a, 5), out, 8);
	ck_assert_uint_eq(n, 5);
	ck_assert_ptr_eq(out[0], &a[0].ai);
	ck_assert_ptr_eq(out[1], &a[3].ai);
	ck_assert_ptr_eq(out[2], &a[1].ai);
	ck_assert_ptr_eq(out[3], &a[4].ai);
	ck_assert_ptr_eq(out[4], &a[2].ai);
	/* v4 first: v4 leads; unusable entries (datagram, unix) are left out; max holds. */
	addr_set(&a[0], AF_INET, 1);
	addr_set(&a[1], AF_INET6, 2);
	addr_set(&a[2], AF_INET6, 3);
	addr_set(&a[3], AF_INET, 4);
	a[3].ai.ai_socktype = SOCK_DGRAM;
	addr_set(&a[4], AF_INET, 5);
	a[4].ai.ai_family = AF_UNIX;
	addr_set(&a[5], AF_INET, 6);
	n = corio__he_order(chain(a, 6), out, 8);
	ck_assert_uint_eq(n, 4);
	ck_assert_ptr_eq(out[0], &a[0].ai);
	ck_assert_ptr_eq(out[1], &a[1].ai);
	ck_assert_ptr_eq(out[2], &a[5].ai);
	ck_assert_ptr_eq(out[3], &a[2].ai);
	ck_assert_uint_eq(corio__he_order(chain(a, 6), out, 2), 2);
	ck_assert_uint_eq(corio__he_order(NULL, out, 8), 0);
}
END_TEST

/* ---- races ---- */

typedef struct scene {
	int family_hang, family_refuse, family_good; /* 0: not needed */
	hanging hang;
	int refuse, good;
	addr a[4];
} scene;

static const char *scene_open(scene *s)
{
	const char *err = NULL;

	s->refuse = s->good = -1;
	s->hang.lfd = -1;
	if (s->family_hang)
		err = hanging_open(&s->hang, s->family_hang);
	if (!err && s->family_refuse && (s->refuse = refusing(s->family_refuse)) < 0)
		err = "refusing socket";
	if (!err && s->family_good &&
	    (s->good = s->family_good == AF_INET ? corio_tcp_listen("127.0.0.1", "0", -1)
						 : corio_tcp_listen("::1", "0", -1)) < 0)
		err = "listen";
	return err;
}

static void scene_close(scene *s)
{
	hanging_close(&s->hang);
	if (s->refuse >= 0)
		close(s->refuse);
	if (s->good >= 0)
		corio_listen_close(s->good);
}

/* Entries: 'h' hanging, 'r' refusing, 'g' accepting, in that order. */
static const struct addrinfo *scene_list(scene *s, const char *spec)
{
	int n = 0;

	for (; *spec; spec++, n++) {
		int fam = *spec == 'h' ? s->family_hang : *spec == 'r' ? s->family_refuse
								      : s->family_good;
		int fd = *spec == 'h' ? s->hang.lfd : *spec == 'r' ? s->refuse : s->good;

		addr_set(&s->a[n], fam, local_port(fd));
	}
	return chain(s->a, n);
}

/* Connects to list under a deadline of `bound`; the fd or -errno, and how long it took. */
static int connect_bounded(const struct addrinfo *list, uint64_t bound, uint64_t *took)
{
	corio_timeout to;
	uint64_t t0 = corio_now();
	int fd;

	corio_timeout_enter(&to, bound);
	fd = corio_tcp_connect_addrinfo(list);
	corio_timeout_exit(&to);
	*took = corio_now() - t0;
	return fd;
}

/* A refused attempt starts the next one at once: with a 30 s delay the race still ends
 * well within its 10 s bound, on the accepting address. */
static void *refused_then_good_task(void *arg)
{
	scene s = { .family_refuse = AF_INET, .family_good = AF_INET };
	uint64_t took;
	int fd;

	(void)arg;
	TH_CHECK(scene_open(&s) == NULL);
	corio__he_delay_ns = CORIO_SEC(30);
	fd = connect_bounded(scene_list(&s, "rg"), CORIO_SEC(10), &took);
	TH_CHECK(fd >= 0);
	TH_CHECK(peer_port(fd) == local_port(s.good));
	corio_close(fd);
	/* All refused: the last error. */
	fd = connect_bounded(scene_list(&s, "rr"), CORIO_SEC(10), &took);
	TH_CHECK(fd == -ECONNREFUSED);
	scene_close(&s);
	return TH_OK;
}
TH_TASK_TEST(refused_then_good, refused_then_good_task)

/* A hung attempt does not hold the race: after the (shortened) delay the next one starts
 * and wins; the hung one is cancelled and its socket closed (the run's fd check). */
static void *hang_then_good_task(void *arg)
{
	scene s = { .family_hang = AF_INET, .family_good = AF_INET };
	uint64_t took;
	int fd;

	(void)arg;
	TH_CHECK(scene_open(&s) == NULL);
	corio__he_delay_ns = CORIO_MS(20);
	fd = connect_bounded(scene_list(&s, "hg"), CORIO_SEC(20), &took);
	TH_CHECK(fd >= 0);
	TH_CHECK(peer_port(fd) == local_port(s.good));
	TH_CHECK(took >= CORIO_MS(20)); /* the second started after the delay, not before */
	corio_close(fd);
	scene_close(&s);
	return TH_OK;
}
TH_TASK_TEST(hang_then_good, hang_then_good_task)

/* Both connect: one wins, the other is closed. With delay 0 both start at once. Nobody
 * accepts: the listeners' backlog (SOMAXCONN) holds the 40 connections. */
static void *two_good_task(void *arg)
{
	scene s = { .family_good = AF_INET };
	addr a[2];
	int fd, g2 = corio_tcp_listen("127.0.0.1", "0", -1);
	uint64_t took;

	(void)arg;
	TH_CHECK(g2 >= 0 && scene_open(&s) == NULL);
	addr_set(&a[0], AF_INET, local_port(s.good));
	addr_set(&a[1], AF_INET, local_port(g2));
	corio__he_delay_ns = 0;
	for (int i = 0; i < 20; i++) {
		fd = connect_bounded(chain(a, 2), CORIO_SEC(10), &took);
		TH_CHECK(fd >= 0);
		TH_CHECK(peer_port(fd) == local_port(s.good) || peer_port(fd) == local_port(g2));
		corio_close(fd);
	}
	corio_listen_close(g2);
	scene_close(&s);
	return TH_OK;
}
TH_TASK_TEST(two_good, two_good_task)

/* The caller's deadline ends the whole race while every attempt hangs. */
static void *deadline_task(void *arg)
{
	scene s = { .family_hang = AF_INET };
	uint64_t took;

	(void)arg;
	TH_CHECK(scene_open(&s) == NULL);
	corio__he_delay_ns = CORIO_MS(10);
	TH_CHECK(connect_bounded(scene_list(&s, "hhh"), CORIO_MS(200), &took) == -ETIMEDOUT);
	TH_CHECK(took >= CORIO_MS(200));
	scene_close(&s);
	return TH_OK;
}
TH_TASK_TEST(deadline, deadline_task)

typedef struct job {
	const struct addrinfo *list;
	int rc;
} job;

static void *connect_job(void *p)
{
	job *j = p;

	j->rc = corio_tcp_connect_addrinfo(j->list);
	return NULL;
}

/* The caller is cancelled while two attempts hang: -ECANCELED, both sockets closed. */
static void *cancel_task(void *arg)
{
	scene s = { .family_hang = AF_INET };
	job j = { .rc = 1 };
	corio_task *t;

	(void)arg;
	TH_CHECK(scene_open(&s) == NULL);
	corio__he_delay_ns = 0;
	j.list = scene_list(&s, "hh");
	t = corio_spawn(connect_job, &j);
	TH_CHECK(t);
	/* Let it start both attempts and their sockets reach connect. */
	for (int i = 0; i < 5; i++)
		corio_yield();
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	TH_CHECK(j.rc == -ECANCELED);
	scene_close(&s);
	return TH_OK;
}
TH_TASK_TEST(cancel, cancel_task)

/* Names and numeric hosts through corio_tcp_connect: "localhost" (/etc/hosts) and the
 * single-address path. */
static void *tcp_connect_task(void *arg)
{
	int lfd = corio_tcp_listen("127.0.0.1", "0", -1), fd;
	char port[16];

	(void)arg;
	TH_CHECK(lfd >= 0);
	snprintf(port, sizeof port, "%d", local_port(lfd));
	fd = corio_tcp_connect("localhost", port);
	TH_CHECK(fd >= 0 && peer_port(fd) == local_port(lfd));
	corio_close(fd);
	fd = corio_tcp_connect(NULL, port);
	TH_CHECK(fd >= 0 && peer_port(fd) == local_port(lfd));
	corio_close(fd);
	TH_CHECK(corio_tcp_connect_addrinfo(NULL) == -EINVAL);
	corio_listen_close(lfd);
	return TH_OK;
}
TH_TASK_TEST(tcp_connect, tcp_connect_task)

/* Both families: IPv6 first and hanging, IPv4 second and accepting -> IPv4 wins after the
 * delay; IPv6 accepting first -> IPv6 wins; IPv6 refusing -> IPv4 at once. */
static void *dual_task(void *arg)
{
	uint64_t took;
	int fd;

	(void)arg;
	{
		scene s = { .family_hang = AF_INET6, .family_good = AF_INET };

		TH_CHECK(scene_open(&s) == NULL);
		corio__he_delay_ns = CORIO_MS(20);
		fd = connect_bounded(scene_list(&s, "hg"), CORIO_SEC(20), &took);
		TH_CHECK(fd >= 0 && peer_family(fd) == AF_INET);
		corio_close(fd);
		scene_close(&s);
	}
	{
		scene s = { .family_hang = AF_INET, .family_good = AF_INET6 };

		TH_CHECK(scene_open(&s) == NULL);
		corio__he_delay_ns = CORIO_SEC(30);
		fd = connect_bounded(scene_list(&s, "gh"), CORIO_SEC(10), &took);
		TH_CHECK(fd >= 0 && peer_family(fd) == AF_INET6);
		corio_close(fd);
		scene_close(&s);
	}
	{
		scene s = { .family_refuse = AF_INET6, .family_good = AF_INET };

		TH_CHECK(scene_open(&s) == NULL);
		fd = connect_bounded(scene_list(&s, "rg"), CORIO_SEC(10), &took);
		TH_CHECK(fd >= 0 && peer_family(fd) == AF_INET);
		corio_close(fd);
		scene_close(&s);
	}
	return TH_OK;
}

START_TEST(dual_stack)
{
	if (!have_ipv6()) {
		fprintf(stderr, "dual_stack: ::1 cannot be bound here (no IPv6): skipped\n");
		return;
	}
	TH_RUN_EXPECT_OK(NULL, dual_task, NULL);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("happy", 60, order, refused_then_good, hang_then_good, two_good,
				deadline, cancel, tcp_connect, dual_stack));
}
