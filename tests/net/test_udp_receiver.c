/* tests/net/test_udp_receiver.c: corio_udp_receiver (runtime/net/udp_receiver.c), each test
 * twice: on the multishot recvmsg with its buffer ring (kernels 6.0+; skipped before) and on
 * the fallback of one recvmsg per call (corio__udp_force_fallback). Many datagrams in order
 * with their contents and sizes (empty ones too), a burst while nobody reads (more than the
 * ring's 64 buffers: the rest waits in the socket and comes after a re-arm), truncation
 * (-EMSGSIZE, datagram consumed, the next one intact), source addresses (v4-mapped ones on
 * a dual-stack socket too) and a short srclen, cancellation and deadlines that lose nothing, one reader at a time, freeing with
 * datagrams pending and with a reader parked, and the SQE count that shows which path
 * ran. Every wait is bounded by a timeout scope. */
#include "tests/support/helpers.h"

#include "runtime/net/net_internal.h"

#define BOUND CORIO_SEC(10)

static bool fallback; /* the variant the running test checks */

typedef struct pair {
	int rx, tx, tx2;
	struct sockaddr_in to;
	corio_udp_receiver *r;
} pair;

static const char *pair_open(pair *p, size_t max_datagram)
{
	p->rx = corio_udp_bind("127.0.0.1", "0");
	p->tx = corio_udp_bind("127.0.0.1", "0");
	p->tx2 = corio_udp_bind("127.0.0.1", "0");
	if (p->rx < 0 || p->tx < 0 || p->tx2 < 0)
		return "bind";
	p->to = (struct sockaddr_in){ .sin_family = AF_INET,
				      .sin_port = htons((uint16_t)corio_sock_port(p->rx)),
				      .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	corio__udp_force_fallback = fallback;
	p->r = corio_udp_receiver_new(p->rx, max_datagram);
	return p->r ? NULL : "receiver";
}

static void pair_close(pair *p)
{
	corio_udp_receiver_free(p->r);
	corio_close(p->rx);
	corio_close(p->tx);
	corio_close(p->tx2);
}

static bool send_to(pair *p, int fd, const void *buf, size_t len)
{
	return corio_sendto(fd, buf, len, 0, (struct sockaddr *)&p->to, sizeof p->to) ==
	       (ssize_t)len;
}

static ssize_t recv_bounded(corio_udp_receiver *r, void *buf, size_t len, struct sockaddr *src,
			    socklen_t *srclen)
{
	corio_timeout to;
	ssize_t n;

	corio_timeout_enter(&to, BOUND);
	n = corio_udp_receiver_recv(r, buf, len, src, srclen);
	corio_timeout_exit(&to);
	return n;
}

/* Datagram i: i % 300 bytes (0 for every 300th), each byte (i + k) & 0xff. */
static size_t dg_make(unsigned i, unsigned char *buf)
{
	size_t len = i % 300;

	for (size_t k = 0; k < len; k++)
		buf[k] = (unsigned char)(i + k);
	return len;
}

static bool dg_check(unsigned i, const unsigned char *buf, ssize_t n)
{
	unsigned char want[300];

	return n == (ssize_t)dg_make(i, want) && memcmp(buf, want, (size_t)n) == 0;
}

/* Sends n datagrams without reading, then reads them all: order, sizes, contents. */
static const char *burst(pair *p, unsigned first, unsigned n)
{
	unsigned char buf[512];

	for (unsigned i = first; i < first + n; i++)
		if (!send_to(p, p->tx, buf, dg_make(i, buf)))
			return "send";
	for (unsigned i = first; i < first + n; i++)
		if (!dg_check(i, buf, recv_bounded(p->r, buf, sizeof buf, NULL, NULL)))
			return "datagram out of order, wrong size or content";
	return NULL;
}

static void *many_task(void *arg)
{
	pair p;
	corio_statistics s0, s1;

	(void)arg;
	TH_CHECK(pair_open(&p, 0) == NULL);
	corio_stats(&s0);
	/* Within the ring (32), past it (200: the request ends for want of buffers, the rest
	 * waits in the socket buffer and follows a re-arm), and again. */
	for (unsigned round = 0, first = 0; round < 3; first += round == 0 ? 32 : 200, round++) {
		const char *err = burst(&p, first, round == 0 ? 32 : 200);

		TH_CHECK(err == NULL);
	}
	corio_stats(&s1);
	/* 432 sends either way; the receives add ~432 SQEs without multishot, a few with. */
	if (fallback)
		TH_CHECK(s1.sqes_submitted - s0.sqes_submitted >= 2 * 432);
	else
		TH_CHECK(s1.sqes_submitted - s0.sqes_submitted < 432 + 50);
	pair_close(&p);
	return TH_OK;
}

static void *truncate_task(void *arg)
{
	pair p;
	unsigned char out[600], in[600];
	ssize_t n;

	(void)arg;
	TH_CHECK(pair_open(&p, 400) == NULL);
	for (int i = 0; i < 600; i++)
		out[i] = (unsigned char)(i * 7);
	/* Longer than the caller's buffer: the first len bytes, -EMSGSIZE, consumed. */
	TH_CHECK(send_to(&p, p.tx, out, 300) && send_to(&p, p.tx, "next", 4));
	memset(in, 0, sizeof in);
	TH_CHECK(recv_bounded(p.r, in, 100, NULL, NULL) == -EMSGSIZE);
	TH_CHECK(memcmp(in, out, 100) == 0 && in[100] == 0);
	n = recv_bounded(p.r, in, sizeof in, NULL, NULL);
	TH_CHECK(n == 4 && memcmp(in, "next", 4) == 0);
	/* Longer than the receiver's max_datagram (400): -EMSGSIZE with what it kept. */
	TH_CHECK(send_to(&p, p.tx, out, 500) && send_to(&p, p.tx, "after", 5));
	TH_CHECK(recv_bounded(p.r, in, sizeof in, NULL, NULL) == -EMSGSIZE);
	TH_CHECK(memcmp(in, out, 400) == 0);
	n = recv_bounded(p.r, in, sizeof in, NULL, NULL);
	TH_CHECK(n == 5 && memcmp(in, "after", 5) == 0);
	/* Zero-length buffer: the datagram is consumed all the same. */
	TH_CHECK(send_to(&p, p.tx, "z", 1) && send_to(&p, p.tx, "", 0));
	TH_CHECK(recv_bounded(p.r, NULL, 0, NULL, NULL) == -EMSGSIZE);
	TH_CHECK(recv_bounded(p.r, in, sizeof in, NULL, NULL) == 0);
	pair_close(&p);
	return TH_OK;
}

static void *sources_task(void *arg)
{
	pair p;
	struct sockaddr_storage src;
	socklen_t srclen;
	char buf[16];

	(void)arg;
	TH_CHECK(pair_open(&p, 0) == NULL);
	TH_CHECK(send_to(&p, p.tx, "a", 1) && send_to(&p, p.tx2, "b", 1));
	for (int i = 0; i < 2; i++) {
		srclen = sizeof src;
		TH_CHECK(recv_bounded(p.r, buf, sizeof buf, (struct sockaddr *)&src, &srclen) == 1);
		TH_CHECK(srclen == sizeof(struct sockaddr_in) && src.ss_family == AF_INET);
		TH_CHECK(ntohs(((struct sockaddr_in *)&src)->sin_port) ==
			 corio_sock_port(buf[0] == 'a' ? p.tx : p.tx2));
	}
	/* A short srclen: that much is copied, *srclen says the real size. */
	TH_CHECK(send_to(&p, p.tx, "c", 1));
	memset(&src, 0xee, sizeof src);
	srclen = 2;
	TH_CHECK(recv_bounded(p.r, buf, sizeof buf, (struct sockaddr *)&src, &srclen) == 1);
	TH_CHECK(srclen == sizeof(struct sockaddr_in) && src.ss_family == AF_INET);
	TH_CHECK(((unsigned char *)&src)[2] == 0xee);
	/* A dual-stack "::" socket: an IPv4 source comes as a v4-mapped IPv6 address. */
	{
		int any = corio_udp_bind(NULL, "0");
		corio_udp_receiver *r6 = any >= 0 ? corio_udp_receiver_new(any, 0) : NULL;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src;

		TH_CHECK(r6);
		p.to.sin_port = htons((uint16_t)corio_sock_port(any));
		srclen = sizeof src;
		TH_CHECK(send_to(&p, p.tx, "m", 1));
		TH_CHECK(recv_bounded(r6, buf, sizeof buf, (struct sockaddr *)&src, &srclen) == 1);
		if (src.ss_family == AF_INET6) { /* else no IPv6 here: bound 0.0.0.0 */
			TH_CHECK(srclen == sizeof *s6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr));
			TH_CHECK(ntohs(s6->sin6_port) == corio_sock_port(p.tx));
		}
		corio_udp_receiver_free(r6);
		corio_close(any);
	}
	/* src without srclen. */
	TH_CHECK(corio_udp_receiver_recv(p.r, buf, sizeof buf, (struct sockaddr *)&src, NULL) ==
		 -EINVAL);
	pair_close(&p);
	return TH_OK;
}

typedef struct reader {
	corio_udp_receiver *r;
	ssize_t rc;
	char buf[16];
} reader;

static void *read_one(void *arg)
{
	reader *rd = arg;

	rd->rc = recv_bounded(rd->r, rd->buf, sizeof rd->buf, NULL, NULL);
	return NULL;
}

static void *cancel_task(void *arg)
{
	pair p;
	reader rd = { .rc = 1 };
	corio_task *t;
	corio_timeout to;
	char buf[16];
	ssize_t n;

	(void)arg;
	TH_CHECK(pair_open(&p, 0) == NULL);
	rd.r = p.r;
	/* A parked reader cancelled with nothing there. */
	t = corio_spawn(read_one, &rd);
	corio_yield();
	TH_CHECK(corio_udp_receiver_recv(p.r, buf, sizeof buf, NULL, NULL) == -EBUSY);
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED && rd.rc == -ECANCELED);
	/* A reader cancelled just as a datagram arrives: whoever gets it, it is not lost. */
	rd.rc = 1;
	t = corio_spawn(read_one, &rd);
	corio_yield();
	TH_CHECK(send_to(&p, p.tx, "keep", 4));
	corio_cancel(t);
	corio_join(t, NULL);
	if (rd.rc != 4) {
		TH_CHECK(rd.rc == -ECANCELED);
		n = recv_bounded(p.r, buf, sizeof buf, NULL, NULL);
		TH_CHECK(n == 4 && memcmp(buf, "keep", 4) == 0);
	}
	/* A deadline with nothing there, then the datagram that comes later. */
	corio_timeout_enter(&to, CORIO_MS(10));
	n = corio_udp_receiver_recv(p.r, buf, sizeof buf, NULL, NULL);
	TH_CHECK(corio_timeout_exit(&to) && n == -ETIMEDOUT);
	TH_CHECK(send_to(&p, p.tx, "late", 4));
	n = recv_bounded(p.r, buf, sizeof buf, NULL, NULL);
	TH_CHECK(n == 4 && memcmp(buf, "late", 4) == 0);
	pair_close(&p);
	return TH_OK;
}

static void *free_task(void *arg)
{
	pair p;
	reader rd = { .rc = 1 };
	corio_task *t;

	(void)arg;
	/* Datagrams pending at the free: dropped, their buffers released (ASan: no leak). */
	TH_CHECK(pair_open(&p, 0) == NULL);
	for (int i = 0; i < 10; i++)
		TH_CHECK(send_to(&p, p.tx, "pending", 7));
	corio_yield();
	pair_close(&p);
	/* A reader parked at the free: woken with -EBADF (multishot), or its recvmsg cancelled
	 * and -EBADF returned (fallback). */
	TH_CHECK(pair_open(&p, 0) == NULL);
	rd.r = p.r;
	t = corio_spawn(read_one, &rd);
	corio_yield();
	corio_udp_receiver_free(p.r);
	p.r = NULL;
	TH_CHECK(corio_join(t, NULL) == 0 && rd.rc == -EBADF);
	pair_close(&p);
	/* Bad arguments. */
	TH_CHECK(corio_udp_receiver_new(-1, 0) == NULL && errno == EBADF);
	{
		int tcp = corio_socket(AF_INET, SOCK_STREAM, 0);

		TH_CHECK(corio_udp_receiver_new(tcp, 0) == NULL && errno == EINVAL);
		corio_close(tcp);
	}
	TH_CHECK(corio_udp_receiver_recv(NULL, NULL, 0, NULL, NULL) == -EINVAL);
	corio_udp_receiver_free(NULL);
	return TH_OK;
}

static void *caps_task(void *arg)
{
	corio_capabilities c;

	(void)arg;
	TH_CHECK(corio_caps(&c) == 0);
	TH_CHECK(c.udp_multishot == corio_caps_has_op(&c, IORING_OP_SEND_ZC));
	return TH_OK;
}
TH_TASK_TEST(caps, caps_task)

START_TEST(outside_loop)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_ptr_null(corio_udp_receiver_new(fd, 0));
	ck_assert_int_eq(errno, EPERM);
	close(fd);
}
END_TEST

/* Whether the multishot variant can run here (caps.udp_multishot). */
static void *has_multishot(void *arg)
{
	corio_capabilities c;

	(void)arg;
	return corio_caps(&c) == 0 && c.udp_multishot ? (void *)1 : NULL;
}

/* Each task as two tests: NAME (multishot) and NAME_fallback. */
#define BOTH(name, fn)                                                                       \
	START_TEST(name)                                                                     \
	{                                                                                    \
		if (!TH_RUN(has_multishot, NULL)) {                                          \
			fprintf(stderr, #name ": no multishot recvmsg (kernel < 6.0): skipped\n"); \
			return;                                                              \
		}                                                                            \
		fallback = false;                                                            \
		TH_RUN_EXPECT_OK(NULL, fn, NULL);                                            \
	}                                                                                    \
	END_TEST                                                                             \
	START_TEST(name##_fallback)                                                          \
	{                                                                                    \
		fallback = true;                                                             \
		TH_RUN_EXPECT_OK(NULL, fn, NULL);                                            \
	}                                                                                    \
	END_TEST

BOTH(many, many_task)
BOTH(truncation, truncate_task)
BOTH(sources, sources_task)
BOTH(cancellation, cancel_task)
BOTH(free_pending, free_task)

int main(void)
{
	return th_main(TH_SUITE("udp_receiver", 60, caps, outside_loop, many, many_fallback,
				truncation, truncation_fallback, sources, sources_fallback,
				cancellation, cancellation_fallback, free_pending,
				free_pending_fallback));
}
