/* tests/http/test_server_shutdown.c: the HTTP/1.1 server's graceful shutdown: in-flight
 * requests finish, idle connections close (many of them), new connections are refused, and
 * the deadline cuts the rest. */
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

/* ---- graceful shutdown --------------------------------------------------------------------- */

typedef struct slowreq {
	int port;
	int status;
	bool closed;
	char body[32];
} slowreq;

static void *slow_client(void *arg)
{
	slowreq *s = arg;
	resp r;

	if (once(s->port, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n", &r, &s->closed) == 0) {
		s->status = r.status;
		snprintf(s->body, sizeof s->body, "%s", r.body);
	}
	resp_free(&r);
	return NULL;
}

static void *t_shutdown(void *arg)
{
	srvctx x;
	cli idle;
	resp r;
	slowreq s = {0};
	corio_task *t;
	char ps[16];
	corio_event started;
	uint64_t t0;

	TH_CHECK(srv_start(&x, NULL) == 0);
	/* an idle keep-alive connection, and a request in flight */
	TH_CHECK(cli_open(&idle, x.port) >= 0);
	TH_CHECK(cli_send(&idle, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
	TH_CHECK(cli_read(&idle, &r, false) == 0 && r.status == 200);
	resp_free(&r);
	s.port = x.port;
	TH_CHECK(corio_event_init(&started) == 0);
	handler_started = &started;
	t = corio_spawn(slow_client, &s);
	TH_CHECK(corio_event_wait(&started) == 0); /* the slow handler is running */
	handler_started = NULL;
	t0 = corio_now();
	TH_CHECK(corio_http_server_shutdown(x.srv, CORIO_SEC(5)) == 0);
	TH_CHECK(corio_http_server_shutdown(x.srv, CORIO_SEC(5)) == -EALREADY);
	/* the idle connection is closed at once */
	TH_CHECK(cli_sees_eof(&idle));
	TH_CHECK(corio_now() - t0 < CORIO_MS(4500)); /* not after the 5 s grace */
	cli_close(&idle);
	/* new connections are refused */
	snprintf(ps, sizeof ps, "%d", x.port);
	{
		int fd = corio_tcp_connect("127.0.0.1", ps);

		if (fd >= 0)
			corio_close(fd);
		TH_CHECK(fd == -ECONNREFUSED);
	}
	/* the request in flight completes, and its connection closes after it */
	TH_CHECK(corio_join(t, NULL) == 0);
	TH_CHECK(s.status == 200 && !strcmp(s.body, "slow done") && s.closed);
	TH_CHECK(corio_join(x.task, NULL) == 0 && x.rc == 0);
	TH_CHECK(corio_now() - t0 < CORIO_MS(4500)); /* the request's end, not the grace's */
	corio_http_server_free(x.srv);
	return TH_OK;
}

START_TEST(shutdown_graceful)
{
	RUN_OK(t_shutdown, NULL);
}
END_TEST

static void *forever_client(void *arg)
{
	slowreq *s = arg;
	resp r;

	s->status = once(s->port, "GET /forever HTTP/1.1\r\nHost: t\r\n\r\n", &r, NULL);
	resp_free(&r);
	return NULL;
}

static void *t_shutdown_deadline(void *arg)
{
	srvctx x;
	slowreq s = {0};
	corio_task *t;
	corio_event started;
	resp r;
	uint64_t t0;

	TH_CHECK(srv_start(&x, NULL) == 0);
	s.port = x.port;
	TH_CHECK(corio_event_init(&started) == 0);
	handler_started = &started;
	t = corio_spawn(forever_client, &s);
	TH_CHECK(corio_event_wait(&started) == 0); /* the request is in its handler */
	handler_started = NULL;
	t0 = corio_now();
	TH_CHECK(corio_http_server_shutdown(x.srv, CORIO_MS(200)) == 0);
	TH_CHECK(corio_join(x.task, NULL) == 0 && x.rc == 0);
	/* the grace, and nowhere near the handler's 30 s */
	TH_CHECK(corio_now() - t0 >= CORIO_MS(190) && corio_now() - t0 < CORIO_SEC(10));
	TH_CHECK(corio_join(t, NULL) == 0);
	TH_CHECK(s.status == -1); /* closed without an answer */
	corio_http_server_free(x.srv);
	/* cancelling the task in serve: a stop without grace */
	{
		cli c;

		TH_CHECK(srv_start(&x, NULL) == 0);
		TH_CHECK(cli_open(&c, x.port) >= 0);
		/* one exchange: the server has surely accepted this connection */
		TH_CHECK(cli_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
		TH_CHECK(cli_read(&c, &r, false) == 0 && r.status == 200);
		resp_free(&r);
		corio_cancel(x.task);
		TH_CHECK(corio_join(x.task, NULL) == -ECANCELED);
		TH_CHECK(cli_sees_eof(&c));
		cli_close(&c);
		TH_CHECK(corio_http_server_shutdown(x.srv, 0) == -EALREADY);
		corio_http_server_free(x.srv);
	}
	/* shutdown before serve: serve returns at once */
	TH_CHECK((x.srv = corio_http_server_new(NULL, handler, NULL)) != NULL);
	TH_CHECK(corio_http_server_serve(x.srv) == -ENOTCONN);
	TH_CHECK(corio_http_server_listen(x.srv, "127.0.0.1", 0) == 0);
	TH_CHECK(corio_http_server_listen(x.srv, "127.0.0.1", 0) == -EALREADY);
	TH_CHECK(corio_http_server_shutdown(x.srv, 0) == 0);
	TH_CHECK(corio_http_server_serve(x.srv) == 0);
	corio_http_server_free(x.srv);
	return TH_OK;
}

/* 300 keep-alive connections, each after one request, all idle at the shutdown. */
static void *t_shutdown_many(void *arg)
{
	enum { N = 300 };
	srvctx x;
	cli *c = calloc(N, sizeof *c);
	uint64_t t0;

	TH_CHECK(srv_start(&x, NULL) == 0);
	for (int i = 0; i < N; i++) {
		resp r;

		TH_CHECK(cli_open(&c[i], x.port) >= 0);
		TH_CHECK(cli_send(&c[i], "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
		TH_CHECK(cli_read(&c[i], &r, false) == 0 && r.status == 200);
		resp_free(&r);
	}
	t0 = corio_now();
	TH_CHECK(corio_http_server_shutdown(x.srv, CORIO_SEC(10)) == 0);
	TH_CHECK(corio_join(x.task, NULL) == 0 && x.rc == 0);
	TH_CHECK(corio_now() - t0 < CORIO_SEC(8)); /* idle: closed at once, not at the 10 s */
	for (int i = 0; i < N; i++) {
		TH_CHECK(cli_sees_eof(&c[i]));
		cli_close(&c[i]);
	}
	free(c);
	corio_http_server_free(x.srv);
	return TH_OK;
}

START_TEST(shutdown_many_idle)
{
	RUN_OK(t_shutdown_many, NULL);
}
END_TEST

START_TEST(shutdown_deadline)
{
	RUN_OK(t_shutdown_deadline, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_server");

	TH_TCASE(s, "server", TH_TIMEOUT, shutdown_graceful, shutdown_deadline, shutdown_many_idle);
	return th_main(s);
}
