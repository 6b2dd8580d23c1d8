/* tests/http/test_server_load.c: the HTTP/1.1 server under load: 10 000 requests over 10
 * connections (2 500 under ASan), on several loops, with short transfers injected, and with
 * resets and broken pipes injected on both sides (the server neither crashes nor leaks). */
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

/* ---- load: 10 000 requests over 10 connections (2 500 under ASan) ------------------------- */

typedef struct loadc {
	int port, id, ok;
} loadc;

/* Requests per client. ASan builds run each request several times slower: a quarter keeps
 * the test's shape (pipelining, ten clients, faults) within its timeout on a busy machine. */
#define LOAD_REQS (TH_ASAN ? 250 : 1000)

static void *load_client(void *arg)
{
	loadc *l = arg;
	cli c;
	char req[512], want[128];

	if (cli_open(&c, l->port) < 0) {
		free(c.buf);
		return NULL;
	}
	/* LOAD_REQS requests: in groups of four, the last two of each group pipelined in one
	 * write */
	for (int i = 0; i < LOAD_REQS;) {
		int k = i % 4 == 2 ? 2 : 1, n = 0;
		bool good = true;

		for (int j = 0; j < k; j++) {
			snprintf(want, sizeof want, "c%d-r%d", l->id, i + j);
			n += snprintf(req + n, sizeof req - (size_t)n,
				      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n%s",
				      strlen(want), want);
		}
		if (corio_send_all(c.fd, req, (size_t)n) != n)
			break;
		for (int j = 0; j < k && good; j++) {
			resp r;

			snprintf(want, sizeof want, "c%d-r%d", l->id, i + j);
			good = cli_read(&c, &r, false) == 0 && r.status == 200 && !strcmp(r.body, want);
			resp_free(&r);
			l->ok += good;
		}
		if (!good)
			break;
		i += k;
	}
	cli_close(&c);
	return NULL;
}

static void *t_load(void *arg)
{
	corio_http_server_opts o;
	srvctx x;
	loadc l[10];
	corio_task *t[10];
	unsigned threads = (unsigned)(uintptr_t)arg;

	corio_http_server_opts_init(&o);
	o.threads = threads;
	TH_CHECK(srv_start(&x, &o) == 0);
	for (int i = 0; i < 10; i++) {
		l[i] = (loadc){.port = x.port, .id = i};
		t[i] = corio_spawn(load_client, &l[i]);
	}
	TH_CHECK(corio_gather(t, 10, NULL) == 0);
	for (int i = 0; i < 10; i++)
		TH_CHECK(l[i].ok == LOAD_REQS);
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	if (g_faults) {
		corio_statistics st;

		TH_CHECK(corio_stats(&st) == 0 && st.faults_injected > LOAD_REQS);
	}
	return TH_OK;
}

START_TEST(load_10k)
{
	RUN_OK(t_load, (void *)(uintptr_t)1);
}
END_TEST

START_TEST(load_threads)
{
	RUN_OK(t_load, (void *)(uintptr_t)2);
}
END_TEST

START_TEST(faults_load)
{
	g_faults = "3:short@0.3";
	RUN_OK(t_load, (void *)(uintptr_t)1);
}
END_TEST

/* Resets and broken pipes injected on both sides: clients reconnect and go on; the server
 * must neither crash nor leak (TH_RUN counts descriptors) and must still shut down. */
static void *chaos_client(void *arg)
{
	loadc *l = arg;

	for (int i = 0; i < 300; i++) {
		resp r;
		int rc = once(
			l->port,
			i % 3 ? "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
			      : "GET /files/big.bin HTTP/1.1\r\nHost: t\r\n\r\n",
			&r, NULL);

		l->ok += rc == 0 && r.status == 200;
		resp_free(&r);
	}
	return NULL;
}

static void *t_chaos(void *arg)
{
	srvctx x;
	loadc l[4];
	corio_task *t[4];
	int ok = 0;

	TH_CHECK(srv_start(&x, NULL) == 0);
	for (int i = 0; i < 4; i++) {
		l[i] = (loadc){.port = x.port, .id = i};
		t[i] = corio_spawn(chaos_client, &l[i]);
	}
	TH_CHECK(corio_gather(t, 4, NULL) == 0);
	for (int i = 0; i < 4; i++)
		ok += l[i].ok;
	TH_CHECK(ok > 100); /* most get through */
	TH_CHECK(srv_stop(&x, CORIO_SEC(1)) == 0);
	return TH_OK;
}

START_TEST(faults_errors)
{
	g_faults = "9:short@0.3,ECONNRESET@0.02/recv+send+sendmsg,EPIPE@0.01/send,EIO@0.02/read";
	make_files();
	RUN_OK(t_chaos, NULL);
	rm_files();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_server");

	TH_TCASE(s, "server", TH_TIMEOUT, load_10k, load_threads);
	TH_TCASE(s, "faults", TH_TIMEOUT, faults_load, faults_errors);
	return th_main(s);
}
