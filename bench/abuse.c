/* bench/abuse.c: the soak benchmark's clients (see abuse.h): one corio task per client,
 * every blocking call inside a timeout scope ending at the run's deadline, so that every
 * client stops there whatever the server does. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <corio/corio.h>

#include "bench/abuse.h"

#define REQUEST_TIMEOUT CORIO_SEC(10) /* one well-behaved request, connect to last byte */
#define SLOW_EVERY CORIO_MS(300)
#define FLOOD_HOLD CORIO_SEC(2)

/* Response bodies are read into this and dropped: shared by every task, since nobody
 * looks at the bytes (coroutine stacks are 64 KiB: no large buffers on them). */
static char sink[65536];

static bool over(const abuse *a)
{
	return a->stopped || corio_now() >= a->end;
}

/* A failure of a well-behaved client, unless the run is ending (the deadline's own
 * -ETIMEDOUT and a stop's -ECANCELED are not the server's doing). */
static void failed(abuse *a, int rc)
{
	if (over(a))
		return;
	a->st.errors++;
	a->st.last_error = rc;
}

/* A connection to the server, or -errno (a failure counts as an error and waits 10 ms,
 * so that a refusing server does not make the client spin). */
static int open_conn(abuse *a)
{
	int fd = corio_tcp_connect("127.0.0.1", a->portstr);

	if (fd >= 0) {
		a->st.connections++;
		return fd;
	}
	failed(a, fd);
	if (!over(a))
		corio_sleep(CORIO_MS(10));
	return fd;
}

/* The next connection of a client, or -1 once the run is over (open_conn counts the
 * failures in between). */
static int next_conn(abuse *a)
{
	while (!over(a)) {
		int fd = open_conn(a);

		if (fd >= 0)
			return fd;
	}
	return -1;
}

/* Closes with an RST instead of a FIN (SO_LINGER 0): an abrupt drop, and no TIME_WAIT
 * left on this side to eat the ephemeral ports. */
static void close_rst(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	corio_close(fd);
}

/* The i-th drop of a client: every other one with an RST, the others with a FIN. */
static void drop_conn(int fd, unsigned i)
{
	if (i % 2)
		close_rst(fd);
	else
		corio_close(fd);
}

/* Reads and drops left body bytes: 0 or -errno. */
static int drain(int fd, uint64_t left)
{
	while (left > 0) {
		ssize_t n = corio_recv(fd, sink, left < sizeof sink ? left : sizeof sink, 0);

		if (n <= 0)
			return n == 0 ? -ECONNRESET : (int)n;
		left -= (uint64_t)n;
	}
	return 0;
}

/* One response to a GET (nothing pipelined behind it): the status, or -errno (-EPROTO for
 * a head that is too long or has no Content-Length). The body is read and dropped. */
static int read_response(int fd)
{
	char head[4096];
	size_t have = 0, extra;
	const char *eoh = NULL, *cl;
	int status;
	uint64_t len;

	while (!eoh) {
		ssize_t n = have + 1 < sizeof head
				    ? corio_recv(fd, head + have, sizeof head - 1 - have, 0)
				    : -EPROTO;

		if (n <= 0)
			return n == 0 ? -ECONNRESET : (int)n;
		have += (size_t)n;
		head[have] = 0;
		eoh = memmem(head, have, "\r\n\r\n", 4);
	}
	cl = strcasestr(head, "\r\nContent-Length:");
	if (sscanf(head, "HTTP/1.1 %d", &status) != 1 || !cl || cl > eoh)
		return -EPROTO;
	len = strtoull(cl + 17, NULL, 10);
	extra = have - (size_t)(eoh + 4 - head);
	if (extra > len)
		return -EPROTO;
	return drain(fd, len - extra) ?: status;
}

/* GET path on fd within REQUEST_TIMEOUT: the status or -errno. */
static int request(int fd, const char *path, bool close)
{
	char req[256];
	int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n",
			   path, close ? "Connection: close\r\n" : "");
	corio_timeout t;
	ssize_t rc;

	corio_timeout_enter(&t, REQUEST_TIMEOUT);
	rc = corio_send_all(fd, req, (size_t)len);
	if (rc >= 0)
		rc = read_response(fd);
	corio_timeout_exit(&t);
	return (int)rc;
}

/* request() on behalf of a well-behaved client: a 200 is counted, anything else failed. */
static int counted(abuse *a, int fd, const char *path, bool close)
{
	int rc = request(fd, path, close);

	if (rc == 200)
		a->st.requests++;
	else
		failed(a, rc);
	return rc;
}

/* ---- the clients ------------------------------------------------------------------------ */

/* Keep-alive requests on one connection until one fails; paths[from..to] in turn. */
static void keepalive_loop(abuse *a, unsigned from, unsigned to)
{
	for (int fd; (fd = next_conn(a)) >= 0;) {
		unsigned i = from;

		while (!over(a) && counted(a, fd, a->paths[i], false) == 200)
			i = i < to ? i + 1 : from;
		corio_close(fd);
	}
}

static void keepalive(abuse *a)
{
	keepalive_loop(a, 0, 1);
}

static void big(abuse *a)
{
	keepalive_loop(a, 2, 2);
}

static void close_each(abuse *a)
{
	for (int fd; (fd = next_conn(a)) >= 0;) {
		counted(a, fd, a->paths[0], true);
		corio_close(fd);
		/* 200 a second at most: the server's TIME_WAIT sockets (it closes first) and
		 * this side's ephemeral ports stay far from their limits in a long run. */
		corio_sleep(CORIO_MS(5));
	}
}

/* One request, then silence until the server closes (its idle timeout) or the run ends. */
static void idle(abuse *a)
{
	for (int fd; (fd = next_conn(a)) >= 0;) {
		char b;

		if (counted(a, fd, a->paths[0], false) == 200) {
			a->st.idle_open++;
			corio_recv(fd, &b, 1, 0);
			a->st.idle_open--;
			a->st.idle_closed += !over(a);
		}
		corio_close(fd);
	}
}

/* A header that never ends, a byte every SLOW_EVERY, until the server ends it. */
static void slowloris(abuse *a)
{
	static const char start[] = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

	for (int fd; (fd = next_conn(a)) >= 0;) {
		ssize_t rc;

		a->st.slow_open++;
		rc = corio_send_all(fd, start, sizeof start - 1);
		while (rc >= 0 && corio_sleep(SLOW_EVERY) == 0)
			rc = corio_send(fd, "a", 1, 0);
		a->st.slow_open--;
		a->st.slow_cut += !over(a);
		corio_close(fd);
	}
}

static void half_sent(abuse *a)
{
	static const char half[] = "GET /4k.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Ag";

	unsigned i = 0;

	for (int fd; (fd = next_conn(a)) >= 0; i++) {
		if (corio_send_all(fd, half, sizeof half - 1) >= 0)
			a->st.half_sent++;
		drop_conn(fd, i);
		corio_sleep(CORIO_MS(20));
	}
}

/* A burst of a->burst connections opened one after the other and held, then all dropped
 * at once: the server sees that many arrive together and vanish. */
static void drop(abuse *a)
{
	int *fds = malloc(a->burst * sizeof *fds);

	while (fds && !over(a)) {
		unsigned n = 0;

		while (n < a->burst && !over(a)) {
			int fd = open_conn(a);

			if (fd >= 0)
				fds[n++] = fd;
		}
		for (unsigned i = 0; i < n; i++)
			drop_conn(fds[i], i);
		a->st.dropped += n;
		corio_sleep(ABUSE_BURST_EVERY);
	}
	free(fds);
}

/* Pipelines requests with plain nonblocking send(2) until it says EAGAIN: an io_uring send
 * would wait for room instead of saying the socket blocked. Yields between sends so that
 * the other clients run while the server keeps up. */
static void flood_once(abuse *a, int fd)
{
	size_t sent = 0;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (!over(a)) {
		ssize_t n = send(fd, a->flood, a->flood_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN) {
			a->st.floods++;
			corio_sleep(FLOOD_HOLD);
			return;
		}
		if (n < 0)
			return; /* the server closed it: its right */
		sent += (size_t)n;
		if (sent >= ABUSE_FLOOD_CAP) {
			a->st.floods_capped++;
			return;
		}
		corio_yield();
	}
}

static void flood(abuse *a)
{
	for (int fd; (fd = next_conn(a)) >= 0;) {
		flood_once(a, fd);
		close_rst(fd); /* unread answers make it an RST anyway */
	}
}

static void tls_hello(abuse *a)
{
	for (int fd; (fd = next_conn(a)) >= 0;) {
		corio_timeout t;

		if (corio_send_all(fd, a->hello, a->hello_len) >= 0)
			a->st.tls_hellos++;
		corio_timeout_enter(&t, CORIO_SEC(5));
		while (corio_recv(fd, sink, sizeof sink, 0) > 0) /* its 400, until it closes */
			;
		corio_timeout_exit(&t);
		corio_close(fd);
		corio_sleep(CORIO_MS(50));
	}
}

/* ---- the run ---------------------------------------------------------------------------- */

typedef void (*client_fn)(abuse *a);

static const struct {
	client_fn fn;
	unsigned count;
} kinds[] = {
	{ keepalive, ABUSE_KEEPALIVE }, { close_each, 1 }, { big, 1 },
	{ idle, ABUSE_IDLE },           { slowloris, ABUSE_SLOW }, { half_sent, 1 },
	{ drop, 1 },                    { flood, ABUSE_FLOODERS }, { tls_hello, 1 },
};

typedef struct started {
	abuse *a;
	client_fn fn;
} started;

static void *client_main(void *arg)
{
	started *s = arg;
	corio_timeout t;

	corio_timeout_enter_at(&t, s->a->end);
	s->fn(s->a);
	corio_timeout_exit(&t);
	return NULL;
}

/* A real ClientHello (what a TLS client sends first), from OpenSSL through memory BIOs;
 * a bare handshake record header when that fails. */
static void make_hello(abuse *a)
{
	static const unsigned char bare[] = { 0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0, 0, 0 };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	BIO *rb = ssl ? BIO_new(BIO_s_mem()) : NULL, *wb = rb ? BIO_new(BIO_s_mem()) : NULL;
	int n = 0;

	if (wb) {
		SSL_set_bio(ssl, rb, wb); /* ssl owns both now */
		SSL_set_tlsext_host_name(ssl, "localhost");
		SSL_connect(ssl); /* writes the ClientHello, then wants the answer */
		n = BIO_read(wb, a->hello, (int)sizeof a->hello);
	} else if (rb) {
		BIO_free(rb);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	a->hello_len = n > 0 ? (size_t)n : sizeof bare;
	if (n <= 0)
		memcpy(a->hello, bare, sizeof bare);
}

static void make_flood(abuse *a)
{
	static const char req[] = "GET /4k.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

	a->flood_len = 0;
	while (a->flood_len + sizeof req - 1 <= sizeof a->flood) {
		memcpy(a->flood + a->flood_len, req, sizeof req - 1);
		a->flood_len += sizeof req - 1;
	}
}

/* Spawns every client, each with its slot of args (owned here, not by the task: a task
 * cancelled before it first ran never runs); false when one could not be made (the ones
 * made are in a->tasks). */
static bool spawn_all(abuse *a, started *args)
{
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		for (unsigned i = 0; i < kinds[k].count; i++) {
			started *s = &args[a->ntasks];
			corio_task *t;

			*s = (started){ .a = a, .fn = kinds[k].fn };
			if (!(t = corio_spawn(client_main, s)))
				return false;
			a->tasks[a->ntasks++] = t;
		}
	}
	return true;
}

int abuse_run(abuse *a)
{
	size_t total = 0;
	started *args;
	bool ok;

	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		total += kinds[k].count;
	snprintf(a->portstr, sizeof a->portstr, "%d", a->port);
	make_hello(a);
	make_flood(a);
	a->ntasks = 0;
	a->tasks = malloc(total * sizeof *a->tasks);
	args = malloc(total * sizeof *args);
	ok = a->tasks && args && spawn_all(a, args);
	if (!ok)
		abuse_stop(a);
	for (size_t i = 0; i < a->ntasks; i++)
		corio_join(a->tasks[i], NULL);
	free(a->tasks);
	free(args);
	a->tasks = NULL;
	a->ntasks = 0;
	return ok ? 0 : -ENOMEM;
}

void abuse_stop(abuse *a)
{
	a->stopped = true;
	for (size_t i = 0; i < a->ntasks; i++)
		corio_cancel(a->tasks[i]);
}

int abuse_get_once(int port, const char *path, uint64_t timeout_ns)
{
	char portstr[8];
	corio_timeout t;
	int fd, rc;

	snprintf(portstr, sizeof portstr, "%d", port);
	corio_timeout_enter(&t, timeout_ns);
	fd = corio_tcp_connect("127.0.0.1", portstr);
	rc = fd < 0 ? fd : request(fd, path, true);
	if (fd >= 0)
		corio_close(fd);
	corio_timeout_exit(&t);
	return rc;
}
