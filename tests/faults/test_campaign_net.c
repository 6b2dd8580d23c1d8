/* tests/faults/test_campaign_net.c: the sockets' seeded fault campaign (campaign.h):
 * a patterned 1 MiB stream echoed over a socketpair through corio_send/recv (and
 * send_all/recv_exact), and over TCP on 127.0.0.1 through corio_stream, under every fault
 * class. Shorts must leave the bytes exact; an injected error must end the exchange with
 * a clean negative errno on some side, the bytes received up to then a prefix of the
 * stream, nothing hung and nothing leaked.
 *
 *   CORIO_CAMPAIGN_SEEDS=1-200 build/debug/test_campaign_net
 */
#define _GNU_SOURCE
#include "tests/faults/campaign.h"

#define ECHO_LEN (1u << 20)
#define CHUNK_MAX (96u << 10)

/* What the three sides of one echo share. */
typedef struct echo {
	cp_ctx *c;
	int fd;           /* the side this task uses */
	corio_stream *st; /* the stream, in the stream workload */
	bool failed;      /* some side saw an error (the others may then see EOF early) */
	const char *msg;  /* the first failure that is not allowed */
} echo;

/* Records a failed call: a disallowed one becomes the exchange's message. */
static void echo_error(echo *e, const char *what, long rc)
{
	const char *m = cp_judge(e->c, what, rc);

	e->failed = true;
	if (m && !e->msg)
		e->msg = m;
}

static size_t chunk(uint64_t *rng, size_t left)
{
	size_t n = 1 + cp_rand(rng) % CHUNK_MAX;

	return n < left ? n : left;
}

/* ---- socketpair: corio_send / corio_recv ------------------------------------------------- */

/* Echoes what it receives until EOF, then closes its end. */
static void *pair_echo(void *arg)
{
	echo *e = arg;
	uint64_t rng = e->c->seed * 3ull;
	uint8_t *buf = malloc(CHUNK_MAX);

	for (;;) {
		ssize_t n = buf ? corio_recv(e->fd, buf, chunk(&rng, CHUNK_MAX), 0) : -ENOMEM;
		ssize_t w;

		if (n <= 0) {
			if (n < 0)
				echo_error(e, "echo: corio_recv", n);
			break;
		}
		if ((w = corio_send_all(e->fd, buf, (size_t)n)) != n) {
			echo_error(e, "echo: corio_send_all", w);
			break;
		}
	}
	free(buf);
	corio_close(e->fd);
	return NULL;
}

/* The stream a writer sends (malloc'ed), or NULL after shutting fd down. */
static uint8_t *writer_bytes(echo *e, int fd)
{
	uint8_t *buf = malloc(ECHO_LEN);

	if (!buf) {
		echo_error(e, "malloc", -ENOMEM);
		shutdown(fd, SHUT_RDWR);
		return NULL;
	}
	cp_fill(e->c->seed, 0, buf, ECHO_LEN);
	return buf;
}

/* Sends the stream, alternating corio_send (retrying its short counts here) and
 * corio_send_all; then shuts its direction down. On error it shuts both down, so that the
 * reader and the echo see EOF instead of waiting for bytes that will not come. */
static void *pair_writer(void *arg)
{
	echo *e = arg;
	uint64_t rng = e->c->seed * 5ull;
	uint8_t *buf = writer_bytes(e, e->fd);
	size_t off = 0;

	if (!buf)
		return NULL;
	for (int i = 0; off < ECHO_LEN; i++) {
		size_t n = chunk(&rng, ECHO_LEN - off);
		ssize_t w = i % 2 ? corio_send_all(e->fd, buf + off, n)
				  : corio_send(e->fd, buf + off, n, 0);

		if (w <= 0 || (size_t)w > n) {
			echo_error(e, i % 2 ? "writer: corio_send_all" : "writer: corio_send",
				   w == 0 ? -EPIPE : w);
			break;
		}
		off += (size_t)w;
	}
	shutdown(e->fd, off == ECHO_LEN ? SHUT_WR : SHUT_RDWR);
	free(buf);
	return NULL;
}

/* One read of the echo: as many bytes as one call gives, or exactly len (fewer at EOF). */
typedef ssize_t (*echo_read_fn)(echo *e, void *buf, size_t len, bool exact);

/* Reads the echo until EOF, one read of each kind in turn, checking every byte. Returns how
 * many bytes came back, or -1 after wrong bytes (e->msg says which). After a failure it
 * shuts fd down both ways, so that the other tasks stop instead of waiting. */
static long read_echo(echo *e, uint8_t *buf, echo_read_fn rd, int fd)
{
	uint64_t rng = e->c->seed * 7ull;
	size_t got = 0;

	for (int i = 0;; i++) {
		size_t want = chunk(&rng, CHUNK_MAX);
		ssize_t n = rd(e, buf, want, i % 2);
		size_t bad;

		if (n < 0) {
			echo_error(e, i % 2 ? "reader: an exact read" : "reader: a read", n);
			shutdown(fd, SHUT_RDWR);
			return (long)got;
		}
		if ((bad = cp_mismatch(e->c->seed, got, buf, (size_t)n)) != (size_t)n) {
			e->msg = cp_fail(e->c, "reader: wrong byte at offset %zu of the stream",
					 got + bad);
			shutdown(fd, SHUT_RDWR);
			return -1;
		}
		got += (size_t)n;
		if (n == 0 || (i % 2 && (size_t)n < want))
			return (long)got; /* EOF */
	}
}

static ssize_t pair_read1(echo *e, void *buf, size_t len, bool exact)
{
	return exact ? corio_recv_exact(e->fd, buf, len) : corio_recv(e->fd, buf, len, 0);
}

/* The exchange is over: judge what came back. */
static const char *echo_verdict(echo *e, long got)
{
	if (e->msg)
		return e->msg;
	if (got != ECHO_LEN && !e->failed)
		return cp_fail(e->c, "%ld of %u bytes came back and no call failed", got, ECHO_LEN);
	if (got > ECHO_LEN)
		return cp_fail(e->c, "%ld bytes came back, more than the %u sent", got, ECHO_LEN);
	return NULL;
}

static const char *pair_workload(cp_ctx *c)
{
	int sv[2];
	echo e = { .c = c };
	echo peer, writer;
	corio_task *tp, *tw;
	uint8_t *buf = malloc(CHUNK_MAX);
	long got;

	if (!buf || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		free(buf);
		return cp_fail(c, "socketpair or malloc failed");
	}
	e.fd = sv[0];
	peer = e;
	peer.fd = sv[1];
	writer = e;
	tp = corio_spawn(pair_echo, &peer);
	tw = corio_spawn(pair_writer, &writer);
	got = read_echo(&e, buf, pair_read1, e.fd);
	cp_join(tw);
	cp_join(tp);
	corio_close(sv[0]);
	free(buf);
	e.failed |= peer.failed || writer.failed;
	e.msg = e.msg ? e.msg : writer.msg ? writer.msg : peer.msg;
	return echo_verdict(&e, got);
}

static const int net_consequences[] = { EPIPE, ECONNRESET, 0 };

START_TEST(test_echo_send_recv)
{
	cp_run_classes((unsigned)_i, CP_NET, pair_workload, "test_echo_send_recv", 1u << CP_SHORT,
		       net_consequences, NULL, NULL);
}
END_TEST

/* ---- TCP on 127.0.0.1: corio_stream ------------------------------------------------------- */

/* Accepts one connection, closes the listener (so a client whose connection was never
 * accepted is reset, not left waiting) and echoes through a stream until EOF. */
static void *tcp_echo(void *arg)
{
	echo *e = arg;
	uint64_t rng = e->c->seed * 11ull;
	uint8_t *buf = malloc(CHUNK_MAX);
	int fd = corio_accept(e->fd, NULL, NULL), rc;
	corio_stream *st;

	corio_close(e->fd);
	if (fd < 0) {
		if (!e->failed) /* else the client could not connect and cancelled us */
			echo_error(e, "echo: corio_accept", fd);
		free(buf);
		return NULL;
	}
	if (!buf || !(st = corio_stream_new(fd))) {
		echo_error(e, "echo: corio_stream_new", -ENOMEM);
		corio_close(fd);
		free(buf);
		return NULL;
	}
	for (;;) {
		ssize_t n = corio_stream_read_some(st, buf, chunk(&rng, CHUNK_MAX)), w;
		int f;

		if (n <= 0) {
			if (n < 0)
				echo_error(e, "echo: corio_stream_read_some", n);
			break;
		}
		if ((w = corio_stream_write(st, buf, (size_t)n)) != n) {
			echo_error(e, "echo: corio_stream_write", w);
			break;
		}
		if (cp_rand(&rng) % 2 && (f = corio_stream_flush(st)) != 0) {
			echo_error(e, "echo: corio_stream_flush", f);
			break;
		}
	}
	if ((rc = corio_stream_close(st)) != 0)
		echo_error(e, "echo: corio_stream_close", rc);
	free(buf);
	return NULL;
}

/* Writes the stream through corio_stream_write in chunks, flushing now and then; then
 * flushes and shuts its direction down (both on error, as pair_writer). */
static void *tcp_writer(void *arg)
{
	echo *e = arg;
	uint64_t rng = e->c->seed * 13ull;
	int fd = corio_stream_fd(e->st), rc = 0;
	uint8_t *buf = writer_bytes(e, fd);
	size_t off = 0;

	if (!buf)
		return NULL;
	while (off < ECHO_LEN && rc == 0) {
		size_t n = chunk(&rng, ECHO_LEN - off);
		ssize_t w = corio_stream_write(e->st, buf + off, n);

		if (w != (ssize_t)n)
			echo_error(e, "writer: corio_stream_write", w < 0 ? w : -EIO);
		else if (cp_rand(&rng) % 4 == 0 && (rc = corio_stream_flush(e->st)) != 0)
			echo_error(e, "writer: corio_stream_flush", rc);
		rc = w != (ssize_t)n ? -1 : rc;
		off += (size_t)n;
	}
	if (rc == 0 && (rc = corio_stream_flush(e->st)) != 0)
		echo_error(e, "writer: corio_stream_flush", rc);
	shutdown(fd, rc == 0 ? SHUT_WR : SHUT_RDWR);
	free(buf);
	return NULL;
}

static ssize_t stream_read1(echo *e, void *buf, size_t len, bool exact)
{
	return exact ? corio_stream_read_exact(e->st, buf, len)
		     : corio_stream_read_some(e->st, buf, len);
}

/* Connects the client half and wraps it in e->st. 0 or -errno (recorded in e). */
static int tcp_client(echo *e, int port)
{
	char ps[16];
	int fd;

	snprintf(ps, sizeof ps, "%d", port);
	fd = corio_tcp_connect("127.0.0.1", ps);
	if (fd < 0) {
		echo_error(e, "corio_tcp_connect", fd);
		return fd;
	}
	if (!(e->st = corio_stream_new(fd))) {
		echo_error(e, "corio_stream_new", -ENOMEM);
		corio_close(fd);
		return -ENOMEM;
	}
	return 0;
}

static const char *tcp_workload(cp_ctx *c)
{
	echo e = { .c = c }, peer = { .c = c }, writer;
	corio_task *tp, *tw = NULL;
	uint8_t *buf = malloc(CHUNK_MAX);
	long got = 0;
	unsigned rules = cp_faults_pause(); /* the listener is set up, not tested */
	int lfd = corio_tcp_listen("127.0.0.1", "0", 16), rc;

	cp_faults_resume(rules);
	if (lfd < 0 || !buf) {
		free(buf);
		if (lfd >= 0)
			corio_close(lfd);
		return cp_fail(c, "corio_tcp_listen: %d", lfd);
	}
	peer.fd = lfd;
	tp = corio_spawn(tcp_echo, &peer);
	if (tcp_client(&e, corio_sock_port(lfd)) == 0) {
		writer = e;
		tw = corio_spawn(tcp_writer, &writer);
		got = read_echo(&e, buf, stream_read1, corio_stream_fd(e.st));
		cp_join(tw);
		if ((rc = corio_stream_close(e.st)) != 0)
			echo_error(&e, "corio_stream_close", rc);
		e.failed |= writer.failed;
		e.msg = e.msg ? e.msg : writer.msg;
	} else {
		peer.failed = true; /* tells the acceptor its -ECANCELED is ours */
		corio_cancel(tp);
	}
	cp_join(tp);
	free(buf);
	e.failed |= peer.failed;
	e.msg = e.msg ? e.msg : peer.msg;
	return echo_verdict(&e, got);
}

START_TEST(test_echo_stream_tcp)
{
	cp_run_classes((unsigned)_i, CP_NET, tcp_workload, "test_echo_stream_tcp",
		       1u << CP_SHORT, net_consequences, NULL, NULL);
}
END_TEST

int main(void)
{
	return cp_main(CP_SUITE("campaign_net", 300, test_echo_send_recv, test_echo_stream_tcp));
}
