/* tests/net/test_recv_ring.c: the multishot receive with the provided-buffer ring
 * (runtime/net/ receivers): buffers handed out and returned, a reader holding buffers, EOF
 * returning them, and short receives and resets injected. Servers bind 127.0.0.1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "tests/support/helpers.h"
#include "tests/net/net_helpers.h"

/* ---- multishot receive with the provided-buffer ring ---- */

typedef struct rx_job {
	int fd;
	unsigned char *in;
	size_t len, got;
	uint64_t delay; /* sleep before reading: let the buffer pool run dry */
	ssize_t rc;
} rx_job;

static void *rx_read(void *p)
{
	rx_job *j = p;
	corio_receiver *r = corio_receiver_new(j->fd);

	if (!r) {
		j->rc = -errno;
		return NULL;
	}
	if (j->delay)
		corio_sleep(j->delay);
	while (j->got < j->len) {
		size_t want = j->len - j->got < 5000 ? j->len - j->got : 5000;
		ssize_t n = corio_receiver_recv(r, j->in + j->got, want);

		if (n <= 0) {
			j->rc = n;
			break;
		}
		j->got += (size_t)n;
	}
	if (j->got == j->len)
		j->rc = corio_receiver_recv(r, j->in, 1); /* EOF expected */
	corio_receiver_free(r);
	return NULL;
}

static const char *rx_check(size_t len, uint64_t delay, unsigned seed)
{
	int sv[2];
	unsigned char *out = malloc(len), *in = malloc(len);
	xfer x = { .out = out, .len = len, .shut = true };
	rx_job j = { .in = in, .len = len, .delay = delay };
	corio_task *t;
	const char *err = NULL;

	if (!out || !in || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return "setup";
	fill(out, len, seed);
	x.fd = sv[0];
	j.fd = sv[1];
	t = corio_spawn(rx_read, &j);
	sender(&x);
	corio_join(t, NULL);
	if (x.rc != (ssize_t)len)
		err = "send";
	else if (j.got != len || j.rc != 0)
		err = "short receive or no EOF";
	else if (memcmp(in, out, len) != 0)
		err = "bytes differ";
	corio_close(sv[0]);
	corio_close(sv[1]);
	free(out);
	free(in);
	return err;
}

static void *rx_check_task(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	return (void *)(uintptr_t)rx_check(256 << 10, CORIO_MS(100), seed);
}

static void *t_rx(void *arg)
{
	enum { CONNS = 160 };
	corio_task *t[CONNS];
	const char *e = rx_check(4 << 20, 0, 1);

	TH_CHECK(e == NULL);
	/* 24 MiB sent while the reader sleeps: the reader's share of the pool fills, the
	 * receive pauses, and resumes once the reader took everything. */
	e = rx_check(24 << 20, CORIO_MS(100), 2);
	TH_CHECK(e == NULL);
	/* 160 sleeping readers, 256 KiB each: their shares (at least 4 buffers each) are more
	 * than the 512 buffers of the pool, which runs dry (-ENOBUFS): receives are re-armed
	 * as buffers come back. */
	for (int i = 0; i < CONNS; i++)
		TH_CHECK((t[i] = corio_spawn(rx_check_task, (void *)(uintptr_t)(10 + i))));
	for (int i = 0; i < CONNS; i++) {
		void *r = NULL;

		TH_CHECK(corio_join(t[i], &r) == 0);
		TH_CHECK(r == NULL);
	}
	return TH_OK;
}

/* A reader that does not read holds about HOLD_MAX (4) of the pool's 512 buffers of 16
 * KiB, not the whole pool: the rest waits in the socket and the sender is pushed back.
 * Once the reader takes everything, receiving resumes and no byte is lost. */
static void *t_rx_hold(void *arg)
{
	size_t len = 16 << 20, total = 0;
	unsigned char *out = malloc(len), *in = malloc(len);
	xfer x = { .shut = true };
	corio_receiver *r;
	int sv[2], quiet = 0;

	TH_CHECK(out && in);
	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	/* The socket's own share fixed, whatever the machine's wmem_default (256 KiB here). */
	TH_CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){ 128 << 10 }, sizeof(int)) == 0);
	fill(out, len, 4);
	r = corio_receiver_new(sv[1]);
	TH_CHECK(r);
	/* Write until two rounds in a row, 5 ms apart, find the socket full. */
	for (int round = 0; round < 2000 && quiet < 2; round++) {
		ssize_t n = write(sv[0], out + total, len - total);

		if (n > 0) {
			total += (size_t)n;
			quiet = 0;
			continue;
		}
		TH_CHECK(n < 0 && errno == EAGAIN);
		quiet++;
		corio_sleep(CORIO_MS(5));
	}
	/* The socket's 256 KiB plus the share: far below the pool's 8 MiB. */
	TH_CHECK(total > 0 && total < (3u << 20));
	TH_CHECK(fcntl(sv[0], F_SETFL, 0) == 0);
	x.fd = sv[0];
	x.out = out + total;
	x.len = len - total;
	corio_task *t = corio_spawn(sender, &x);
	TH_CHECK(t);
	for (size_t got = 0; got < len;) {
		ssize_t n = corio_receiver_recv(r, in + got, len - got);

		TH_CHECK(n > 0);
		got += (size_t)n;
	}
	TH_CHECK(corio_receiver_recv(r, in, 1) == 0);
	TH_CHECK(corio_join(t, NULL) == 0 && x.rc == (ssize_t)(len - total));
	TH_CHECK(memcmp(in, out, len) == 0);
	corio_receiver_free(r);
	corio_close(sv[0]);
	corio_close(sv[1]);
	free(out);
	free(in);
	return TH_OK;
}

static void *t_rx_misc(void *arg)
{
	int sv[2];
	corio_receiver *r;
	char buf[16];
	corio_timeout t;

	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	r = corio_receiver_new(sv[1]);
	TH_CHECK(r);
	/* A deadline with nothing arriving, then the data is still there. */
	corio_timeout_enter(&t, CORIO_MS(20));
	TH_CHECK(corio_receiver_recv(r, buf, sizeof buf) == -ETIMEDOUT);
	corio_timeout_exit(&t);
	TH_CHECK(corio_send_all(sv[0], "abcdef", 6) == 6);
	TH_CHECK(corio_receiver_recv(r, buf, 4) == 4 && memcmp(buf, "abcd", 4) == 0);
	TH_CHECK(corio_receiver_recv(r, buf, 4) == 2 && memcmp(buf, "ef", 2) == 0);
	/* Freed while armed: the kernel's final CQE frees it later. */
	corio_receiver_free(r);
	corio_close(sv[0]);
	corio_close(sv[1]);
	/* A reset peer: -ECONNRESET, reported once. */
	served p;
	TH_CHECK(serve_connect(&p, 4, rst_server) == NULL);
	r = corio_receiver_new(p.cfd);
	TH_CHECK(r);
	char zero[1000] = { 0 };
	TH_CHECK(corio_send_all(p.cfd, zero, sizeof zero) == sizeof zero);
	ssize_t n = corio_receiver_recv(r, buf, sizeof buf);
	TH_CHECK(n == -ECONNRESET || n == 0);
	corio_receiver_free(r);
	served_close(&p, NULL);
	return TH_OK;
}

/* CORIO_FAULTS short rules shorten the receiver's reads too (always, at @1); no byte is
 * lost or reordered. */
static void *t_rx_short(void *arg)
{
	int sv[2];
	corio_receiver *r;
	char in[64], out[64];
	size_t got = 0;
	int shorter = 0;

	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (char)('a' + i % 26);
	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	r = corio_receiver_new(sv[1]);
	TH_CHECK(r);
	TH_CHECK(write(sv[0], out, sizeof out) == (ssize_t)sizeof out);
	while (got < sizeof out) {
		ssize_t n = corio_receiver_recv(r, in + got, sizeof in - got);

		TH_CHECK(n > 0);
		shorter += (size_t)n < sizeof in - got;
		got += (size_t)n;
	}
	TH_CHECK(memcmp(in, out, sizeof out) == 0);
	TH_CHECK(shorter > 0);
	corio_receiver_free(r);
	close(sv[0]);
	close(sv[1]);
	return TH_OK;
}

/* Every connection's end gives its buffers back: 700 receivers (more than the pool's 512
 * buffers), each reading one byte and then EOF, leave the pool full for the next. A keeper
 * receiver lives through all of them: the pool is released with its last receiver, so
 * without one each of the 700 would get a fresh pool (checking nothing, and costing an
 * 8 MiB allocation and a buffer-ring registration each: 19 s under ASan). */
static void *t_rx_eof_returns(void *arg)
{
	int keep[2];
	corio_receiver *keeper;

	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, keep) == 0);
	keeper = corio_receiver_new(keep[1]);
	TH_CHECK(keeper);
	for (int i = 0; i < 700; i++) {
		int sv[2];
		corio_receiver *r;
		corio_timeout t;
		char b = 0;
		ssize_t n1, n2;

		TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
		r = corio_receiver_new(sv[1]);
		TH_CHECK(r);
		TH_CHECK(write(sv[0], "e", 1) == 1);
		TH_CHECK(shutdown(sv[0], SHUT_WR) == 0);
		corio_timeout_enter(&t, CORIO_SEC(2));
		n1 = corio_receiver_recv(r, &b, 1);
		n2 = corio_receiver_recv(r, &b, 1);
		corio_timeout_exit(&t);
		corio_receiver_free(r);
		close(sv[0]);
		close(sv[1]);
		if (n1 != 1 || n2 != 0)
			fprintf(stderr, "receiver %d: %zd then %zd\n", i, n1, n2);
		TH_CHECK(n1 == 1 && n2 == 0);
	}
	corio_receiver_free(keeper);
	close(keep[0]);
	close(keep[1]);
	return TH_OK;
}

/* One test per run, each with its own timeout: together they took 60 s under ASan on a
 * loaded machine, the whole of one tcase timeout. */
TH_TASK_TEST(multishot_recv_buffer_ring, t_rx)

TH_TASK_TEST(multishot_recv_misc, t_rx_misc)

TH_TASK_TEST(multishot_recv_reader_holds, t_rx_hold)

TH_TASK_TEST(multishot_recv_eof_returns_buffers, t_rx_eof_returns)

START_TEST(multishot_recv_under_faults)
{
	corio_config cfg = th_config();

	cfg.faults = "5:short@0.7,ECONNRESET@0.0/recv";
	TH_RUN_EXPECT_OK(&cfg, t_rx, NULL);
	cfg.faults = "7:short@1/recv";
	TH_RUN_EXPECT_OK(&cfg, t_rx_short, NULL);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("recv_ring", TH_TIMEOUT, multishot_recv_buffer_ring, multishot_recv_misc, multishot_recv_reader_holds, multishot_recv_eof_returns_buffers, multishot_recv_under_faults));
}
