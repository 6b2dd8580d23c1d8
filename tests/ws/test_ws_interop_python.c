/* tests/ws/test_ws_interop_python.c: corio's WebSocket against Python's `websockets`
 * (Debian 12's python3-websockets 10.4, asyncio API; tests/ws/peers/ws_py.py), a smaller
 * matrix than Node's (tests/ws/test_ws_interop_node_*.c); skipped with 77 and the reason when
 * /usr/bin/python3 or the package is missing.
 *
 * Python as the client of corio's server: echo of text and binary of 0, 125 and 65536 bytes
 * (websockets offers permessage-deflate by default: a server that does not accept it
 * declines, one that does agrees, and the echoes work both ways; over wss:// too), Python
 * closing with 4000 + reason as corio sees it, corio closing with 1001 as Python sees it.
 * Python as the server for corio's client: the same echoes, with permessage-deflate offered
 * (agreed) and not, corio closing with 4002 as
 * Python sees it, Python closing with 4003 as corio sees it. */
#include "tests/ws/interop.h"

static const size_t sizes[] = { 0, 125, 65536 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---- Python as the client ---------------------------------------------------------------- */

/* `python3 ws_py.py client URL [wait]`. */
static void client_argv(const ix_ccase *k, char *url, char **argv)
{
	static char script[PATH_MAX];

	snprintf(script, sizeof script, "%s/ws_py.py", IX_PEERS);
	argv[0] = IX_PYTHON;
	argv[1] = script;
	argv[2] = "client";
	argv[3] = url;
	argv[4] = (char *)k->scenario;
	argv[5] = NULL;
	if (k->tls) {
		int i = k->scenario ? 5 : 4;

		argv[i] = "--ca";
		argv[i + 1] = ix_certs.path[CERT_CA];
		argv[i + 2] = NULL;
	}
}

static void run_cjob(ix_ccase k)
{
	k.argv = client_argv;
	TH_RUN_EXPECT_OK(NULL, ix_client_case, &k);
}

START_TEST(py_client_echo_close_4000)
{
	/* offered, not accepted: declined */
	run_cjob((ix_ccase){ .path = "/echo", .scenario = NULL,
			     .lines = { "extensions -", "echo ok", "closed " },
			     .check = ix_seen_peer_closed, .echoed = (int)NSIZES * 2,
			     .code = 4000, .reason = "py says bye" });
}
END_TEST

START_TEST(py_client_deflate_echo)
{
	/* offered and accepted: agreed */
	run_cjob((ix_ccase){ .path = "/deflate", .scenario = NULL,
			     .lines = { "extensions permessage-deflate", "echo ok", "closed " },
			     .check = ix_seen_peer_closed, .echoed = (int)NSIZES * 2,
			     .code = 4000, .reason = "py says bye" });
}
END_TEST

/* The same over wss://, Python trusting the test CA. */
START_TEST(py_client_wss_echo)
{
	run_cjob((ix_ccase){ .path = "/echo", .scenario = NULL, .tls = true,
			     .lines = { "extensions -", "echo ok", "closed " },
			     .check = ix_seen_peer_closed, .echoed = (int)NSIZES * 2,
			     .code = 4000, .reason = "py says bye" });
}
END_TEST

START_TEST(py_client_sees_close_1001)
{
	run_cjob((ix_ccase){ .path = "/close", .scenario = "wait",
			     .lines = { "extensions ", "closed 1001 corio going away" },
			     .check = ix_seen_closed_here });
}
END_TEST

/* ---- Python as the server ---------------------------------------------------------------- */

typedef struct senv {
	ix_peer p;
	int port;
	corio_http_client *c;
} senv;
typedef const char *(*server_fn)(senv *e);

static void *t_server_case(void *arg)
{
	server_fn fn = (server_fn)(uintptr_t)arg;
	senv e = { .p = { .fd = -1 } };
	char script[PATH_MAX];
	char *argv[] = { IX_PYTHON, script, "server", NULL };
	const char *res;
	int rc;

	snprintf(script, sizeof script, "%s/ws_py.py", IX_PEERS);
	if ((rc = ix_start(&e.p, argv)) < 0)
		res = ix_fail("cannot start python: %s", strerror(-rc));
	else if ((e.port = ix_listening(&e.p)) <= 0)
		res = ix_fail("python server did not listen: %s; last line '%s'", strerror(-e.port),
			      e.p.last);
	else if (!(e.c = ix_client(NULL)))
		res = "no client";
	else
		res = fn(&e);
	corio_http_client_free(e.c);
	ix_stop(&e.p);
	return (void *)res;
}

static void run_sjob(server_fn fn)
{
	TH_RUN_EXPECT_OK(NULL, t_server_case, (void *)(uintptr_t)fn);
}

static const char *connect_to(senv *e, const char *path, bool deflate, corio_ws **ws)
{
	corio_ws_opts o;
	char url[128];
	int rc;

	corio_ws_opts_init(&o);
	o.deflate = deflate;
	snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", e->port, path);
	if ((rc = corio_ws_connect_opts(e->c, url, &o, ws)) != 0)
		return ix_fail("corio_ws_connect %s: %s", url, strerror(-rc));
	return ix_expect(&e->p, "open ") == 0 ? NULL : ix_fail("Python saw no connection");
}

/* Echoes through Python (permessage-deflate offered or not: Python's open line must say
 * want), then closes with 4002 "corio bye", which Python must see. */
static const char *echo_case(senv *e, bool deflate, const char *want)
{
	corio_ws *ws = NULL;
	const char *why = connect_to(e, "/echo", deflate, &ws);
	int rc;

	if (!why && strcmp(e->p.last, want) != 0)
		why = ix_fail("Python opened with '%s', want '%s'", e->p.last, want);
	for (size_t i = 0; !why && i < NSIZES; i++) {
		if (!(why = ix_echo_one(ws, sizes[i], true)))
			why = ix_echo_one(ws, sizes[i], false);
	}
	if (!why && (rc = corio_ws_close(ws, 4002, "corio bye")) != 0)
		why = ix_fail("corio_ws_close(4002): %s", strerror(-rc));
	if (!why && !ix_expect_line(&e->p, "close ", "close /echo 4002 corio bye"))
		why = ix_fail("Python saw '%s'", e->p.last);
	corio_ws_free(ws);
	return why;
}

static const char *s_echo(senv *e)
{
	return echo_case(e, false, "open /echo -");
}

static const char *s_echo_deflate(senv *e)
{
	return echo_case(e, true, "open /echo permessage-deflate");
}

START_TEST(py_server_echo_close_4002)
{
	run_sjob(s_echo);
}
END_TEST

START_TEST(py_server_deflate_echo)
{
	run_sjob(s_echo_deflate);
}
END_TEST

/* Python closes with 4003 "py closes": -EPIPE with that code and reason. */
static const char *s_close(senv *e)
{
	char buf[16];
	corio_ws *ws = NULL;
	int op = 0, rc;
	ssize_t n;
	const char *why = connect_to(e, "/close", false, &ws);

	if (why)
		return why;
	n = corio_ws_recv(ws, &op, buf, sizeof buf);
	if (n != -EPIPE)
		why = ix_fail("recv after Python's close: %zd, not -EPIPE", n);
	else if (corio_ws_close_code(ws) != 4003 || strcmp(corio_ws_close_reason(ws), "py closes"))
		why = ix_fail("close code %d '%s', Python sent 4003 'py closes'",
			      corio_ws_close_code(ws), corio_ws_close_reason(ws));
	else if ((rc = corio_ws_close(ws, 1000, NULL)) != 0)
		why = ix_fail("corio_ws_close after the peer's close: %s", strerror(-rc));
	else if (ix_expect(&e->p, "close /close ") != 0)
		why = ix_fail("Python did not finish its close: '%s'", e->p.last);
	corio_ws_free(ws);
	return why;
}

START_TEST(py_server_close_4003)
{
	run_sjob(s_close);
}
END_TEST

int main(void)
{
	char why[1024];
	Suite *s = suite_create("ws_interop_python");
	TCase *tc;

	if (!ix_python_ready(why, sizeof why)) {
		fprintf(stderr, "skipped: %s\n", why);
		return TH_SKIP;
	}
	tc = TH_TCASE(s, "python", TH_TIMEOUT, py_client_echo_close_4000, py_client_deflate_echo,
		      py_client_wss_echo, py_client_sees_close_1001, py_server_echo_close_4002,
		      py_server_deflate_echo, py_server_close_4003);
	tcase_add_checked_fixture(tc, ix_certs_setup, ix_certs_teardown);
	return th_main(s);
}
