/* tests/net/test_stream.c: buffered streams (runtime/net/stream.c): read_until with one- and
 * multi-byte delimiters split across reads, oversized lines (-EMSGSIZE, nothing lost),
 * EOF without a delimiter, read_exact and read_some, buffered writes that only go out on
 * flush, large writes, pipes as well as sockets, timeouts and cancellation that lose no
 * byte, and byte-exact results under CORIO_FAULTS short reads and writes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include "tests/support/helpers.h"

typedef struct chunks {
	int fd;
	const char *data;
	size_t len;
	size_t step;   /* bytes per send */
	uint64_t gap;  /* sleep between sends */
	bool close_after;
} chunks;

/* Sends data in small pieces, with pauses, then maybe closes. */
static void *send_chunks(void *p)
{
	chunks *c = p;

	for (size_t i = 0; i < c->len; i += c->step) {
		size_t n = c->len - i < c->step ? c->len - i : c->step;

		if (corio_send_all(c->fd, c->data + i, n) != (ssize_t)n)
			return (void *)"send";
		if (c->gap)
			corio_sleep(c->gap);
		else
			corio_yield();
	}
	if (c->close_after)
		corio_close(c->fd);
	return NULL;
}

static int pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
}

static void *t_lines(void *arg)
{
	int sv[2];
	static const char text[] = "a\nbb\r\nccc\r\n\r\nlast without newline";
	chunks c = { .data = text, .len = sizeof text - 1, .step = 1, .close_after = true };
	corio_stream *s;
	char buf[64];
	corio_task *w;

	TH_CHECK(pair(sv) == 0);
	c.fd = sv[0];
	s = corio_stream_new(sv[1]);
	TH_CHECK(s && corio_stream_fd(s) == sv[1]);
	w = corio_spawn(send_chunks, &c);
	TH_CHECK(corio_stream_read_until(s, "\n", 1, buf, sizeof buf) == 2);
	TH_CHECK(memcmp(buf, "a\n", 2) == 0);
	/* A two-byte delimiter arriving one byte per read. */
	TH_CHECK(corio_stream_read_until(s, "\r\n", 2, buf, sizeof buf) == 4);
	TH_CHECK(memcmp(buf, "bb\r\n", 4) == 0);
	TH_CHECK(corio_stream_read_until(s, "\r\n", 2, buf, sizeof buf) == 5);
	TH_CHECK(memcmp(buf, "ccc\r\n", 5) == 0);
	TH_CHECK(corio_stream_read_until(s, "\r\n", 2, buf, sizeof buf) == 2);
	/* EOF without a delimiter: the rest, then 0. */
	TH_CHECK(corio_stream_read_until(s, "\n", 1, buf, sizeof buf) == 20);
	TH_CHECK(memcmp(buf, "last without newline", 20) == 0);
	TH_CHECK(corio_stream_read_until(s, "\n", 1, buf, sizeof buf) == 0);
	TH_CHECK(corio_stream_read_some(s, buf, sizeof buf) == 0);
	TH_CHECK(corio_stream_read_until(s, "", 0, buf, sizeof buf) == -EINVAL);
	corio_join(w, NULL);
	TH_CHECK(corio_stream_close(s) == 0);
	return TH_OK;
}

TH_TASK_TEST(read_until_lines, t_lines)

static void *t_oversized(void *arg)
{
	int sv[2];
	char line[101], buf[256];
	corio_stream *s;

	TH_CHECK(pair(sv) == 0);
	memset(line, 'x', 100);
	line[100] = '\n';
	s = corio_stream_new(sv[1]);
	TH_CHECK(s);
	TH_CHECK(corio_send_all(sv[0], line, sizeof line) == sizeof line);
	TH_CHECK(corio_send_all(sv[0], "ok\n", 3) == 3);
	/* The delimiter ends past max: fails, consumes nothing. */
	TH_CHECK(corio_stream_read_until(s, "\n", 1, buf, 50) == -EMSGSIZE);
	TH_CHECK(corio_stream_read_until(s, "\n", 1, buf, 100) == -EMSGSIZE);
	/* Exactly enough room: the whole line, byte for byte. */
	TH_CHECK(corio_stream_read_until(s, "\n", 1, buf, 101) == 101);
	TH_CHECK(memcmp(buf, line, 101) == 0);
	TH_CHECK(corio_stream_read_until(s, "\n", 1, buf, 3) == 3);
	TH_CHECK(memcmp(buf, "ok\n", 3) == 0);
	/* A line far longer than the stream's buffer and max, no delimiter yet: fails once
	 * max bytes are buffered without waiting for more, and read_exact gets them all. */
	size_t big = 200000;
	char *data = malloc(big), *in = malloc(big);
	chunks c = { .fd = sv[0], .len = big, .step = 7000 };
	TH_CHECK(data && in);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	c.data = data;
	corio_task *w = corio_spawn(send_chunks, &c);
	TH_CHECK(corio_stream_read_until(s, "\n", 1, in, 100000) == -EMSGSIZE);
	TH_CHECK(corio_stream_read_exact(s, in, big) == (ssize_t)big);
	TH_CHECK(memcmp(in, data, big) == 0);
	corio_join(w, NULL);
	free(data);
	free(in);
	corio_close(sv[0]);
	TH_CHECK(corio_stream_close(s) == 0);
	return TH_OK;
}

TH_TASK_TEST(read_until_oversized, t_oversized)

static void *t_exact(void *arg)
{
	int sv[2];
	static const char text[] = "0123456789abcdefghij";
	chunks c = { .data = text, .len = 20, .step = 3, .close_after = true };
	corio_stream *s;
	char buf[32];
	corio_task *w;

	TH_CHECK(pair(sv) == 0);
	c.fd = sv[0];
	s = corio_stream_new(sv[1]);
	w = corio_spawn(send_chunks, &c);
	TH_CHECK(corio_stream_read_exact(s, buf, 5) == 5 && memcmp(buf, "01234", 5) == 0);
	TH_CHECK(corio_stream_read_some(s, buf, 1) == 1 && buf[0] == '5');
	TH_CHECK(corio_stream_read_exact(s, buf, 10) == 10 && memcmp(buf, "6789abcdef", 10) == 0);
	/* EOF first: the count so far. */
	TH_CHECK(corio_stream_read_exact(s, buf, 10) == 4 && memcmp(buf, "ghij", 4) == 0);
	TH_CHECK(corio_stream_read_exact(s, buf, 10) == 0);
	corio_join(w, NULL);
	TH_CHECK(corio_stream_close(s) == 0);
	TH_CHECK(corio_stream_new(-1) == NULL);
	return TH_OK;
}

TH_TASK_TEST(read_exact_and_some, t_exact)

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

typedef struct rd_job {
	corio_stream *r;
	char *in;
	size_t n;
	ssize_t got;
} rd_job;

static void *read_job(void *p)
{
	rd_job *j = p;

	j->got = corio_stream_read_exact(j->r, j->in, j->n);
	return NULL;
}

static void *t_write_big(void *arg)
{
	int sv[2];
	corio_stream *s, *r;
	size_t big = 1 << 20;
	char *data = malloc(big + 4), *in = malloc(big + 4);
	rd_job j;
	corio_task *t;

	TH_CHECK(data && in);
	TH_CHECK(pair(sv) == 0);
	s = corio_stream_new(sv[0]);
	r = corio_stream_new(sv[1]);
	TH_CHECK(s && r);
	for (int i = 0; i < 10; i++)
		TH_CHECK(corio_stream_write(s, "hello ", 6) == 6);
	/* Buffered: nothing reached the peer yet. */
	TH_CHECK(!readable(sv[1]));
	TH_CHECK(corio_stream_flush(s) == 0);
	TH_CHECK(corio_stream_read_exact(r, in, 60) == 60);
	TH_CHECK(memcmp(in, "hello hello ", 12) == 0);
	TH_CHECK(corio_stream_flush(s) == 0); /* nothing to do */
	/* Small then large: order kept, the large one bypasses the buffer. */
	memcpy(data, "head", 4);
	for (size_t i = 0; i < big; i++)
		data[4 + i] = (char)(i * 7);
	j = (rd_job){ .r = r, .in = in, .n = big + 4 };
	t = corio_spawn(read_job, &j);
	TH_CHECK(corio_stream_write(s, data, 4) == 4);
	TH_CHECK(corio_stream_write(s, data + 4, big) == (ssize_t)big);
	TH_CHECK(corio_stream_flush(s) == 0);
	corio_join(t, NULL);
	TH_CHECK(j.got == (ssize_t)(big + 4));
	TH_CHECK(memcmp(in, data, big + 4) == 0);
	/* Many medium writes cross the flush threshold. */
	j = (rd_job){ .r = r, .in = in, .n = 300 * 1000 };
	t = corio_spawn(read_job, &j);
	for (int i = 0; i < 300; i++)
		TH_CHECK(corio_stream_write(s, data + 4 + (size_t)i * 1000, 1000) == 1000);
	TH_CHECK(corio_stream_close(s) == 0); /* flushes */
	corio_join(t, NULL);
	TH_CHECK(j.got == 300 * 1000);
	TH_CHECK(memcmp(in, data + 4, 300 * 1000) == 0);
	TH_CHECK(corio_stream_read_some(r, in, 10) == 0); /* EOF */
	TH_CHECK(corio_stream_close(r) == 0);
	free(data);
	free(in);
	return TH_OK;
}

TH_TASK_TEST(buffered_write_flush, t_write_big)

static void *t_pipe(void *arg)
{
	int p[2];
	corio_stream *w, *r;
	char buf[64];

	TH_CHECK(pipe2(p, O_CLOEXEC) == 0);
	r = corio_stream_new(p[0]);
	w = corio_stream_new(p[1]);
	TH_CHECK(r && w);
	TH_CHECK(corio_stream_write(w, "one\ntwo\n", 8) == 8);
	TH_CHECK(corio_stream_close(w) == 0);
	TH_CHECK(corio_stream_read_until(r, "\n", 1, buf, sizeof buf) == 4);
	TH_CHECK(corio_stream_read_until(r, "\n", 1, buf, sizeof buf) == 4);
	TH_CHECK(memcmp(buf, "two\n", 4) == 0);
	TH_CHECK(corio_stream_read_until(r, "\n", 1, buf, sizeof buf) == 0);
	TH_CHECK(corio_stream_close(r) == 0);
	return TH_OK;
}

TH_TASK_TEST(pipe_stream, t_pipe)

typedef struct until_job {
	corio_stream *s;
	char buf[64];
	ssize_t rc;
} until_job;

static void *until_job_run(void *p)
{
	until_job *j = p;

	j->rc = corio_stream_read_until(j->s, "\n", 1, j->buf, sizeof j->buf);
	return NULL;
}

static void *t_interrupt(void *arg)
{
	int sv[2];
	corio_stream *s;
	char buf[64];
	corio_timeout t;
	until_job j;
	corio_task *task;

	TH_CHECK(pair(sv) == 0);
	s = corio_stream_new(sv[1]);
	TH_CHECK(corio_send_all(sv[0], "par", 3) == 3);
	/* A deadline while half a line is buffered: nothing is lost. */
	corio_timeout_enter(&t, CORIO_MS(30));
	TH_CHECK(corio_stream_read_until(s, "\n", 1, buf, sizeof buf) == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&t));
	TH_CHECK(corio_send_all(sv[0], "tial\nnext", 9) == 9);
	TH_CHECK(corio_stream_read_until(s, "\n", 1, buf, sizeof buf) == 8);
	TH_CHECK(memcmp(buf, "partial\n", 8) == 0);
	/* A cancelled reader leaves "next" buffered for the next one. */
	j = (until_job){ .s = s };
	task = corio_spawn(until_job_run, &j);
	corio_sleep(CORIO_MS(10));
	corio_cancel(task);
	corio_join(task, NULL);
	TH_CHECK(j.rc == -ECANCELED);
	TH_CHECK(corio_send_all(sv[0], "!\n", 2) == 2);
	TH_CHECK(corio_stream_read_until(s, "\n", 1, buf, sizeof buf) == 6);
	TH_CHECK(memcmp(buf, "next!\n", 6) == 0);
	corio_close(sv[0]);
	TH_CHECK(corio_stream_close(s) == 0);
	return TH_OK;
}

TH_TASK_TEST(timeout_and_cancel_lose_nothing, t_interrupt)

/* Line echo through two streams, checked byte for byte (run under short faults). */
typedef struct line_srv {
	int fd;
	int lines;
} line_srv;

static void *line_echo(void *p)
{
	line_srv *ls = p;
	corio_stream *s = corio_stream_new(ls->fd);
	char buf[4096];
	ssize_t n;

	while ((n = corio_stream_read_until(s, "\n", 1, buf, sizeof buf)) > 0) {
		if (corio_stream_write(s, buf, (size_t)n) != n)
			break;
		if (corio_stream_flush(s) != 0)
			break;
		ls->lines++;
	}
	corio_stream_close(s);
	return NULL;
}

static void *t_faults(void *arg)
{
	int sv[2];
	line_srv ls;
	corio_stream *c;
	corio_task *srv;
	char line[4096], back[4096];
	unsigned seed = 5;

	TH_CHECK(pair(sv) == 0);
	ls = (line_srv){ .fd = sv[1] };
	srv = corio_spawn(line_echo, &ls);
	c = corio_stream_new(sv[0]);
	for (int i = 0; i < 200; i++) {
		size_t len;

		seed = seed * 1103515245u + 12345u;
		len = 1 + (seed >> 8) % 3000;
		for (size_t k = 0; k < len; k++)
			line[k] = (char)('A' + (k * 31 + (size_t)i) % 50);
		line[len] = '\n';
		TH_CHECK(corio_stream_write(c, line, len + 1) == (ssize_t)(len + 1));
		TH_CHECK(corio_stream_flush(c) == 0);
		TH_CHECK(corio_stream_read_until(c, "\n", 1, back, sizeof back) ==
			 (ssize_t)(len + 1));
		TH_CHECK(memcmp(back, line, len + 1) == 0);
	}
	TH_CHECK(corio_shutdown(sv[0], SHUT_WR) == 0);
	corio_join(srv, NULL);
	TH_CHECK(ls.lines == 200);
	TH_CHECK(corio_stream_close(c) == 0);
	if (arg) {
		corio_statistics st;

		corio_stats(&st);
		TH_CHECK(st.faults_injected > 100); /* the faults did happen */
	}
	return TH_OK;
}

START_TEST(byte_exact_under_short_faults)
{
	static const char *specs[] = { "3:short@0.7", "99:short@0.9" };

	TH_RUN_EXPECT_OK(NULL, t_faults, NULL);
	for (size_t i = 0; i < 2; i++) {
		corio_config cfg = th_config();

		cfg.faults = specs[i];
		TH_RUN_EXPECT_OK(&cfg, t_faults, (void *)1);
	}
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("stream", TH_TIMEOUT, read_until_lines, read_until_oversized,
				read_exact_and_some, buffered_write_flush, pipe_stream,
				timeout_and_cancel_lose_nothing, byte_exact_under_short_faults));
}
