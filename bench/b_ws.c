/* bench/b_ws.c: WebSocket echo, messages per second at 64 B and 4 KiB on 64 connections:
 * corio's server (corio_ws_accept in a handler, echoing with corio_ws_recv_msg +
 * corio_ws_send) beside the WebSocket servers a user would pick instead, all driven by the
 * same client in the same run:
 *   [corio]  `corio-bench __child ws_server PORT`: one loop, one thread
 *   [node]   bench/peers/node/ws_echo.js, Node's `ws` package (npm; scripts/deps.sh installs
 *            it into build/npm, handed over as NODE_PATH; $CORIO_NPM_DIR overrides)
 *   [go]     go-ws (bench/peers/go/ws, golang.org/x/net/websocket from Debian's
 *            golang-golang-x-net-dev; gorilla/websocket is not in Debian), GOMAXPROCS 1
 *   [tokio-tungstenite]  skipped: Debian 12 does not package it (no
 *            librust-tokio-tungstenite-dev, nothing in /usr/share/cargo/registry), and the
 *            Rust peers build offline from Debian's crates only
 * The client is `corio-bench __child ws_load URL CONNS SECS SIZE`: corio's own WebSocket
 * client (corio_ws_connect), one loop, one task per connection, each sending a binary
 * message of SIZE bytes and waiting for its echo before the next (ping-pong); after all
 * CONNS are connected, a warm-up of a fifth of SECS, then SECS of counting (a message
 * counts when it was sent and echoed inside the window). With 2 CPUs or more the server is
 * pinned to one CPU of the upper half and the client to one of the lower half.
 *
 * Two results per size: messages per second, and per CPU-second of the server process
 * (utime + stime from /proc before and after). Each measurement lasts 1 s (0.25 s with
 * --quick; --secs overrides), the servers alternate in order from run to run. Targets
 * (noted, not asserted): corio >= 1.0x every peer's msg/s. A peer that is missing or does
 * not start is reported as skipped with the reason; never faked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corio/corio.h>
#include <corio/http.h>
#include <corio/http_server.h>
#include <corio/ws.h>

#include "bench/bench.h"
#include "bench/http_common.h"
#include "tests/support/net.h"

#define CONNS 64
#define MAXMSG 4096

/* ---- the corio server (child process) ------------------------------------------------- */

static void echo_handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	corio_ws *ws;

	(void)ud;
	if (corio_ws_accept(req, resp, &ws) != 0)
		return;
	for (;;) {
		const void *data;
		int op;
		ssize_t n = corio_ws_recv_msg(ws, &op, &data);

		if (n < 0 || corio_ws_send(ws, op, data, (size_t)n) < 0)
			break;
	}
	corio_ws_free(ws);
}

static void *serve(void *arg)
{
	corio_http_server_opts so;

	corio_http_server_opts_init(&so);
	return hc_serve(corio_http_server_new(&so, echo_handler, NULL), "ws_server", atoi(arg));
}

/* ---- the client (child process) ------------------------------------------------------- */

typedef struct load {
	const char *url;
	int conns, size;
	uint64_t dur;
	corio_http_client *c;
	int ready;             /* connections made (or failed) */
	corio_event go;        /* set when all are: the clock starts */
	uint64_t warm_end, end;
	uint64_t msgs;         /* echoes inside the window */
	int failed;
	char why[160];
} load;

static void load_fail(load *l, const char *what, long rc)
{
	if (!l->failed++)
		snprintf(l->why, sizeof l->why, "%s: %s", what, strerror((int)-rc));
}

/* The last connection in starts the clock. */
static void arrive(load *l)
{
	if (++l->ready == l->conns) {
		l->warm_end = corio_now() + l->dur / 5;
		l->end = l->warm_end + l->dur;
		corio_event_set(&l->go);
	}
}

static void *conn_task(void *arg)
{
	load *l = arg;
	unsigned char msg[MAXMSG];
	corio_ws_opts o;
	corio_ws *ws = NULL;
	int rc;

	memset(msg, 'x', sizeof msg);
	corio_ws_opts_init(&o);
	o.close_timeout_ns = CORIO_MS(500);
	rc = corio_ws_connect_opts(l->c, l->url, &o, &ws);
	if (rc != 0)
		load_fail(l, "connect", rc);
	arrive(l);
	corio_event_wait(&l->go);
	while (ws && !l->failed) {
		uint64_t t0 = corio_now(), t1;
		const void *got;
		int op;
		ssize_t n;

		if (t0 >= l->end)
			break;
		if ((rc = corio_ws_send(ws, CORIO_WS_BINARY, msg, (size_t)l->size)) < 0) {
			load_fail(l, "send", rc);
			break;
		}
		n = corio_ws_recv_msg(ws, &op, &got);
		if (n != l->size || op != CORIO_WS_BINARY) {
			load_fail(l, "echo", n < 0 ? n : -EPROTO);
			break;
		}
		t1 = corio_now();
		if (t0 >= l->warm_end && t1 < l->end)
			l->msgs++;
	}
	if (ws)
		corio_ws_close(ws, CORIO_WS_NORMAL, NULL);
	corio_ws_free(ws);
	return NULL;
}

static void *load_main(void *arg)
{
	load *l = arg;
	corio_http_client_opts co = { .limit = (size_t)l->conns + 8 };
	corio_task *t[CONNS];
	int n = 0;

	corio_event_init(&l->go);
	if (!(l->c = corio_http_client_new(&co)))
		return (void *)"out of memory";
	for (; n < l->conns; n++)
		if (!(t[n] = corio_spawn(conn_task, l)))
			break;
	if (n < l->conns) { /* never started: the clock must not wait for them */
		load_fail(l, "spawn", -ENOMEM);
		l->ready += l->conns - n - 1;
		arrive(l);
	}
	for (int i = 0; i < n; i++)
		corio_join(t[i], NULL);
	corio_http_client_free(l->c);
	return NULL;
}

/* __child ws_server PORT | ws_load URL CONNS SECS SIZE */
static int child(int argc, char **argv)
{
	void *res = NULL;

	if (argc == 2 && strcmp(argv[0], "ws_server") == 0) {
		if (corio_run(serve, argv[1], &res) != 0 || res) {
			fprintf(stderr, "ws_server: %s\n", res ? (const char *)res : "corio_run failed");
			return 1;
		}
		return 0;
	}
	if (argc == 5 && strcmp(argv[0], "ws_load") == 0) {
		load l = { .url = argv[1], .conns = atoi(argv[2]), .size = atoi(argv[4]),
			   .dur = (uint64_t)(atof(argv[3]) * 1e9) };

		if (l.conns < 1 || l.conns > CONNS || l.size < 1 || l.size > MAXMSG || l.dur == 0)
			return 2;
		if (corio_run(load_main, &l, &res) != 0 || res || l.failed) {
			fprintf(stderr, "ws_load: %s\n", res ? (const char *)res : l.failed ? l.why
									     : "corio_run failed");
			return 1;
		}
		printf("messages %llu seconds %.6f\n", (unsigned long long)l.msgs, (double)l.dur / 1e9);
		return 0;
	}
	return 2;
}

/* ---- the benchmark -------------------------------------------------------------------- */

enum { CORIO, NODE, GO, TUNGSTENITE, NSRV };

typedef struct srv {
	const char *name;
	int port;
	pid_t pid;
	const char *skipped;
	char why[PATH_MAX + 96];
} srv;

typedef struct setup {
	srv sv[NSRV];
	hc_cpus cpus;
	cpu_set_t gen1, srv1;
	double secs;
} setup;

/* NODE_PATH for ws_echo.js: $CORIO_NPM_DIR/node_modules, else build/npm/node_modules of the
 * source tree the peers' folder is in. NULL when ws is not there (why says so). */
static const char *node_path(const char *node_dir, char *why, size_t len)
{
	static char mods[PATH_MAX];
	const char *env = getenv("CORIO_NPM_DIR");
	char pkg[PATH_MAX + 32];

	if (env && *env)
		snprintf(mods, sizeof mods, "%s/node_modules", env);
	else
		snprintf(mods, sizeof mods, "%s/../../../build/npm/node_modules", node_dir);
	snprintf(pkg, sizeof pkg, "%s/ws/package.json", mods);
	if (access(pkg, R_OK) == 0)
		return mods;
	snprintf(why, len, "Node's ws not installed in %s (scripts/deps.sh)", mods);
	return NULL;
}

/* Starts argv pinned to the server CPU and waits for its port; skipped with why otherwise. */
static void start(setup *s, int k, char *const argv[])
{
	srv *p = &s->sv[k];

	p->pid = hc_spawn(s->cpus.pinned ? &s->srv1 : NULL, argv);
	if (p->pid < 0) {
		p->pid = 0;
		p->skipped = "fork failed";
	} else if (!th_wait_port(p->port, &p->pid, 10, bench_child_reaped)) {
		p->skipped = p->pid ? "did not start" : "exited at start";
	}
}

static void start_all(setup *s)
{
	char ports[NSRV][16], script[PATH_MAX + 16], bin[PATH_MAX];
	const char *dir = bench_peers_dir("node"), *mods;

	for (int k = 0; k < NSRV; k++) {
		s->sv[k].port = th_free_port();
		snprintf(ports[k], sizeof ports[k], "%d", s->sv[k].port);
	}
	start(s, CORIO, (char *[]){ (char *)bench_self_exe(), "__child", "ws", "ws_server",
				    ports[CORIO], NULL });
	snprintf(script, sizeof script, "%s/ws_echo.js", dir ? dir : "");
	if (access("/usr/bin/node", X_OK) != 0)
		s->sv[NODE].skipped = "node not installed";
	else if (!dir || access(script, R_OK) != 0)
		s->sv[NODE].skipped = "bench/peers/node/ws_echo.js not found";
	else if (!(mods = node_path(dir, s->sv[NODE].why, sizeof s->sv[NODE].why)))
		s->sv[NODE].skipped = s->sv[NODE].why;
	else if (setenv("NODE_PATH", mods, 1) == 0)
		start(s, NODE, (char *[]){ "/usr/bin/node", script, ports[NODE], "1", NULL });
	if (!bench_peer_bin("go-ws", bin, sizeof bin))
		s->sv[GO].skipped = "go-ws not built (needs go and golang-golang-x-net-dev)";
	else
		start(s, GO, (char *[]){ bin, ports[GO], "1", NULL });
	s->sv[TUNGSTENITE].skipped = "tokio-tungstenite is not packaged in Debian 12 "
				     "(no librust-tokio-tungstenite-dev)";
	for (int k = 0; k < NSRV; k++)
		if (s->sv[k].skipped)
			bench_log("ws: %s: %s\n", s->sv[k].name, s->sv[k].skipped);
}

/* One client run against server k: messages per second and the server's CPU seconds. */
static bool drive(setup *s, int k, int size, double *mps, double *cpu, double *gen_cpu)
{
	char url[64], conns[16], secs[32], sz[16], out[512];
	double gcpu = 0, c0, c1, msgs, dur;
	int st;

	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", s->sv[k].port);
	snprintf(conns, sizeof conns, "%d", CONNS);
	snprintf(secs, sizeof secs, "%.3f", s->secs);
	snprintf(sz, sizeof sz, "%d", size);
	c0 = hc_proc_cpu(s->sv[k].pid);
	st = hc_run_gen(s->cpus.pinned ? &s->gen1 : NULL,
			(char *[]){ (char *)bench_self_exe(), "__child", "ws", "ws_load", url, conns,
				    secs, sz, NULL },
			out, sizeof out, &gcpu);
	c1 = hc_proc_cpu(s->sv[k].pid);
	msgs = hc_num_after(out, "messages ");
	dur = hc_num_after(out, "seconds ");
	if (st != 0 || msgs <= 0 || dur <= 0) {
		bench_log("ws: %s failed (size %d, status %d): %s\n", s->sv[k].name, size, st, out);
		return false;
	}
	*mps = msgs / dur;
	*cpu = c0 >= 0 && c1 > c0 ? msgs / (c1 - c0) : 0;
	*gen_cpu = gcpu;
	return true;
}

static void note_targets(bench_result *r, const int *pk)
{
	size_t n = (size_t)snprintf(r->note, sizeof r->note, "target: >= 1.0x");
	int listed = 0;

	for (int k = NODE; k < NSRV && n < sizeof r->note; k++) {
		double ratio = bench_result_ratio(r, pk[k]);

		if (ratio <= 0)
			continue;
		n += (size_t)snprintf(r->note + n, sizeof r->note - n, "%s %s (%s)",
				      listed++ ? "," : "", r->peers[pk[k]].name,
				      ratio >= 1.0 ? "met" : "missed");
	}
	if (!listed)
		r->note[0] = 0;
}

static void measure(setup *s, int size, const bench_opts *o, int *rc)
{
	bench_result mps, eff;
	int pm[NSRV], pe[NSRV];

	bench_result_init(&mps, "ws", "msg/s", true, "echo %d B binary, %d conns, ping-pong%s",
			  size, CONNS, s->cpus.pinned ? ", server and client pinned" : "");
	bench_result_init(&eff, "ws", "msg/CPU-s", true, "echo %d B binary, %d conns, server CPU",
			  size, CONNS);
	for (int k = 0; k < NSRV; k++) {
		pm[k] = bench_result_peer_skipped(&mps, s->sv[k].name, s->sv[k].skipped);
		pe[k] = bench_result_peer_skipped(&eff, s->sv[k].name, s->sv[k].skipped);
	}
	for (int r = 0; r < o->runs; r++) {
		for (int j = 0; j < NSRV; j++) {
			int k = (j + r) % NSRV; /* rotate which server goes first */
			double m, c, g;

			if (s->sv[k].skipped || !drive(s, k, size, &m, &c, &g))
				continue;
			/* the client's CPU seconds (warm-up, connects and closes included) say
			 * whether it, rather than the server, set the pace */
			bench_log("  ws %s %d B: %.0f msg/s (server %.0f msg/CPU-s, client %.2f CPU-s)\n",
				  s->sv[k].name, size, m, c, g);
			bench_result_add(&mps, pm[k], m);
			if (c > 0)
				bench_result_add(&eff, pe[k], c);
		}
	}
	for (int k = 0; k < NSRV; k++)
		bench_result_pair_failed(&mps, pm[k], &eff, pe[k]);
	if (mps.peers[pm[CORIO]].n == 0)
		*rc = 1;
	note_targets(&mps, pm);
	bench_result_report(&mps, o);
	bench_result_report(&eff, o);
}

static int run(const bench_opts *o)
{
	setup s = { .sv = { [CORIO] = { .name = "corio" }, [NODE] = { .name = "node" },
			    [GO] = { .name = "go" },
			    [TUNGSTENITE] = { .name = "tokio-tungstenite" } } };
	int rc = 0;

	s.secs = o->secs_given ? o->secs : o->quick ? 0.25 : 1.0;
	hc_plan_cpus(&s.cpus);
	hc_first_cpu(&s.cpus.gen, &s.gen1);
	hc_first_cpu(&s.cpus.srv, &s.srv1);
	start_all(&s);
	if (s.sv[CORIO].skipped) {
		bench_log("ws: corio's server: %s\n", s.sv[CORIO].skipped);
		rc = 1;
	} else {
		measure(&s, 64, o, &rc);
		measure(&s, 4096, o, &rc);
	}
	for (int k = 0; k < NSRV; k++)
		th_stop(&s.sv[k].pid, SIGTERM, bench_child_reaped);
	return rc;
}

const bench_def bench_ws = {
	.name = "ws",
	.desc = "WebSocket echo msg/s, 64 B and 4 KiB on 64 connections (corio's client drives "
		"all): corio vs Node ws, Go x/net/websocket, tokio-tungstenite",
	.run = run,
	.child = child,
};
