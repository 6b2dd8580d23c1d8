/* tests/http/test_server_limits.c: the HTTP/1.1 server's limits and malformed requests (431,
 * 413, 414, 400 malformed / obs-fold / Host, 501), its deadlines (408 and the idle close,
 * with and without splice), and the limits again with short reads and writes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <corio/http_server.h>

#include "tests/support/helpers.h"
#include "tests/http/server_helpers.h"

/* ---- limits and malformed requests -------------------------------------------------------- */

/* A request the server answers with status and a closed connection. */
typedef struct bad_case {
	const char *what; /* the failure message */
	const char *req;
	int status;
} bad_case;

#define NCASES(a) (sizeof (a) / sizeof (a)[0])

static const bad_case malformed[] = {
	{ "400: a malformed request line", "GARBAGE\r\n\r\n", 400 },
	{ "400: bad header syntax", "GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400 },
	{ "400: obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", 400 },
	{ "400: a bad chunk size",
	  "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400 },
	{ "400: two Content-Lengths",
	  "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
	  400 },
	{ "400: Content-Length with Transfer-Encoding",
	  "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	  400 },
};

static const bad_case refused[] = {
	{ "400: Host missing (HTTP/1.1)", "GET / HTTP/1.1\r\n\r\n", 400 },
	{ "400: Host repeated", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
	{ "400: Host repeated in another case", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
	  400 },
	{ "501: a transfer coding other than chunked",
	  "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	  501 },
	{ "400: Transfer-Encoding from an HTTP/1.0 client (faulty framing)",
	  "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 },
	{ "417: an expectation other than 100-continue",
	  "GET / HTTP/1.1\r\nHost: t\r\nExpect: magic\r\n\r\n", 417 },
	{ "505: another HTTP major version", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505 },
};

/* NULL when every case was answered as it says, else the first that was not. */
static const char *answers_and_close_all(int port, const bad_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!answers_and_closes(port, c[i].req, c[i].status))
			return c[i].what;
	return NULL;
}

static void *t_limits(void *arg)
{
	corio_http_server_opts o;
	srvctx x;
	char *big;
	const char *bad;

	corio_http_server_opts_init(&o);
	o.max_header_bytes = 4096;
	o.max_headers = 20;
	o.max_body_bytes = 1000;
	o.max_requests = 2;
	TH_CHECK(srv_start(&x, &o) == 0);
	big = malloc(16384);
	/* 431: header bytes */
	snprintf(big, 16384, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: %05000d\r\n\r\n", 0);
	TH_CHECK(answers_and_closes(x.port, big, 431));
	/* 431: header count */
	strcpy(big, "GET / HTTP/1.1\r\nHost: t\r\n");
	for (int i = 0; i < 30; i++)
		sprintf(big + strlen(big), "X-H%d: v\r\n", i);
	strcat(big, "\r\n");
	TH_CHECK(answers_and_closes(x.port, big, 431));
	/* 414: a request-target longer than the header limit */
	snprintf(big, 16384, "GET /%05000d HTTP/1.1\r\nHost: t\r\n\r\n", 0);
	TH_CHECK(answers_and_closes(x.port, big, 414));
	/* 413: Content-Length above the limit, and a chunked body growing past it */
	TH_CHECK(answers_and_closes(x.port,
				    "POST /echo HTTP/1.1\r\nHost: t\r\n"
				    "Content-Length: 5000\r\n\r\n",
				    413));
	free(big);
	{
		/* 3 chunks of 500 bytes */
		size_t n = 0;
		char *b = malloc(4096);

		n += (size_t)sprintf(
			b, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
		for (int i = 0; i < 3; i++) {
			n += (size_t)sprintf(b + n, "1f4\r\n");
			memset(b + n, 'x', 500);
			n += 500;
			n += (size_t)sprintf(b + n, "\r\n");
		}
		n += (size_t)sprintf(b + n, "0\r\n\r\n");
		TH_CHECK(answers_and_closes(x.port, b, 413));
		free(b);
	}
	/* 400: malformed request line, bad header syntax, obs-fold, bad chunk size, framing */
	if ((bad = answers_and_close_all(x.port, malformed, NCASES(malformed))))
		return (void *)bad;
	/* obs-fold split across reads, either side of the CRLF */
	for (int i = 0; i < 2; i++) {
		cli c;
		resp r;

		TH_CHECK(cli_open(&c, x.port) >= 0);
		TH_CHECK(cli_send(&c, i ? "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n"
					: "GET / HTTP/1.1\r\nHost: t\r\nX-A: a") == 0);
		corio_sleep(CORIO_MS(20));
		TH_CHECK(cli_send(&c, i ? " b\r\n\r\n" : "\r\n b\r\n\r\n") == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 400 && has_close(&r));
		resp_free(&r);
		cli_close(&c);
	}
	/* a body cut short by the client: no answer, the connection closes */
	{
		cli c;

		TH_CHECK(cli_open(&c, x.port) >= 0);
		TH_CHECK(cli_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: "
				      "10\r\n\r\nabc") == 0);
		TH_CHECK(corio_shutdown(c.fd, SHUT_WR) == 0);
		TH_CHECK(cli_sees_eof(&c));
		cli_close(&c);
	}
	/* max_requests: the second answer on a connection closes it */
	{
		cli c;
		resp r;

		TH_CHECK(cli_open(&c, x.port) >= 0);
		TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && !has_close(&r));
		resp_free(&r);
		TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200 && has_close(&r));
		resp_free(&r);
		TH_CHECK(cli_sees_eof(&c));
		cli_close(&c);
	}
	/* 400: Host, framing; 501, 417, 505 */
	if ((bad = answers_and_close_all(x.port, refused, NCASES(refused))))
		return (void *)bad;
	/* a valid request right after all that still works */
	{
		resp r;

		TH_CHECK(once(x.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL) == 0);
		TH_CHECK(r.status == 200);
		resp_free(&r);
	}
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(limits)
{
	RUN_OK(t_limits, NULL);
}
END_TEST

static void *t_deadlines(void *arg)
{
	corio_http_server_opts o;
	srvctx x;
	cli c;
	resp r;
	uint64_t t0;

	corio_http_server_opts_init(&o);
	o.header_timeout_ns = CORIO_MS(200);
	o.idle_timeout_ns = CORIO_MS(300);
	o.body_timeout_ns = CORIO_MS(200);
	o.write_timeout_ns = CORIO_MS(200);
	TH_CHECK(srv_start(&x, &o) == 0);
	/* 408: a head that never ends (sent a byte at a time, slowloris) */
	TH_CHECK(cli_open(&c, x.port) >= 0);
	t0 = corio_now();
	TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\n") == 0);
	for (int i = 0; i < 3; i++) {
		corio_sleep(CORIO_MS(50));
		cli_send(&c, "X");
	}
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 408 && has_close(&r));
	/* the timeout counts from the head's start, not from its last byte; the upper bound
	 * only says "not hung" (a busy machine makes it late, never early) */
	TH_CHECK(corio_now() - t0 >= CORIO_MS(190) && corio_now() - t0 < CORIO_SEC(10));
	resp_free(&r);
	TH_CHECK(cli_sees_eof(&c));
	cli_close(&c);
	/* idle: closed without a word */
	TH_CHECK(cli_open(&c, x.port) >= 0);
	t0 = corio_now();
	TH_CHECK(cli_sees_eof(&c));
	TH_CHECK(corio_now() - t0 >= CORIO_MS(290) && corio_now() - t0 < CORIO_SEC(10));
	cli_close(&c);
	/* idle after a keep-alive response: the same */
	TH_CHECK(cli_open(&c, x.port) >= 0);
	TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
	resp_free(&r);
	TH_CHECK(cli_sees_eof(&c));
	cli_close(&c);
	/* a client that stops reading a large answer: cut off after write_timeout */
	TH_CHECK(cli_open(&c, x.port) >= 0);
	TH_CHECK(cli_send(&c, "GET /files/huge.bin HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	corio_sleep(CORIO_SEC(1));
	{
		size_t total = 0;

		while (cli_more(&c) == 0) {
			total += c.len;
			c.len = 0;
		}
		total += c.len;
		TH_CHECK(c.eof && total > 0 && total < (64u << 20));
	}
	cli_close(&c);
	/* 408: a body that stops arriving */
	TH_CHECK(cli_open(&c, x.port) >= 0);
	TH_CHECK(cli_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc") ==
		 0);
	TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 408 && has_close(&r));
	resp_free(&r);
	TH_CHECK(cli_sees_eof(&c));
	cli_close(&c);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(deadlines)
{
	make_files();
	RUN_OK(t_deadlines, NULL);
	rm_files();
}
END_TEST

/* The same with large bodies spliced: a splice blocked on a client that stopped reading
 * is cut off at the write deadline too. */
START_TEST(deadlines_splice)
{
	setenv("CORIO_HTTP_FILE", "splice", 1);
	make_files();
	RUN_OK(t_deadlines, NULL);
	rm_files();
}
END_TEST

START_TEST(faults_limits)
{
	g_faults = FAULTS;
	RUN_OK(t_limits, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_server");

	TH_TCASE(s, "server", TH_TIMEOUT, limits, deadlines, deadlines_splice);
	TH_TCASE(s, "faults", TH_TIMEOUT, faults_limits);
	return th_main(s);
}
