/* bench/b_http_server.c: corio's HTTP/1.1 server beside the servers a user would run
 * instead, in the same run, under the same load, plain (`http_server`) and over TLS
 * (`https_server`): `wrk -t1 -c64 -d<secs>` (plain HTTP: corio-load -t1 -c64 when wrk is
 * not installed), on two paths:
 *   /hello     "hello world\n" from memory (nginx: `return 200` in a location)
 *   /4k.html   a 4 KiB static file (corio_http_static_serve; nginx's static module), and
 *              the same with "Accept-Encoding: gzip": gzip on the fly at level 1 (corio's
 *              static gzip option; nginx's `gzip on`, whose default level is 1), corio and
 *              nginx only
 * and, for https_server only, new connections: wrk -H 'Connection: close' on /hello, so
 * that every request opens a connection and makes a TLS handshake (handshakes per second).
 * wrk keeps the session of each of its 64 connection slots and resumes it on the next
 * connection (nginx's $ssl_session_reused says "r" for all but the first 64; h2o resumes
 * too): these are TLS 1.3 PSK handshakes with a fresh X25519 exchange, no certificate
 * signature.
 *
 * The servers, each on 127.0.0.1 with one worker thread, column names in brackets:
 *   [corio]  `corio-bench __child http_server PORT ROOT [CERT KEY]` (one loop, one thread;
 *            with CERT and KEY it serves HTTPS through corio_http_server_opts.tls)
 *   [nginx]  one worker, access log off (http_common.c); every workload
 *   [h2o]    h2o 2.2.5, `num-threads: 1`, no access log (bench/h2o.h): /hello as a static
 *            12-byte hello.txt (text/plain; h2o's fastest answer, faster than its mruby
 *            handler; it adds last-modified and accept-ranges), the same document root for
 *            /4k.html; every workload
 *   [go] [hyper] [node]  the hello servers of bench/peers (`go-http PORT 1` with GOMAXPROCS
 *            1, `hyper-http PORT 1` on a current_thread runtime, `node http.js PORT 1`):
 *            plain hello world only, the one thing they serve
 * With 2 CPUs or more every server is pinned to one CPU of the upper half and the generator
 * to one of the lower half. The servers run side by side; each run drives them one after
 * the other, alternating which goes first. A server that is missing or does not start is
 * reported as skipped with the reason; one whose every run failed, as "every run failed".
 *
 * HTTPS: corio, nginx and h2o present the same certificate, an ECDSA P-256 leaf for
 * 127.0.0.1 made at run time (http_common.h's hc_certs_make), nginx with `ssl_protocols
 * TLSv1.3` and its defaults otherwise (session tickets on), h2o with `minimum-version:
 * TLSv1.3` and its defaults otherwise (tickets on; its private-key operations in its
 * neverbleed process, counted with it), corio's server with a corio_tls_config on the same
 * files (OpenSSL's defaults: tickets on). Each is checked first (TLS 1.3, the run's leaf),
 * or skipped. wrk (OpenSSL 3.0) offers no ALPN, so h2o stays HTTP/1.1; it verifies no
 * certificate. wrk -d3s (plain HTTP had -d5s with two servers; with six, 3 s keeps the
 * suite within its time), -d1s with --quick (https_server then skips the 4 KiB file);
 * --secs overrides.
 *
 * Two results per workload: requests (or handshakes) per second, and per CPU-second of the
 * server process (utime + stime from /proc/PID/stat before and after the run, with its
 * direct children: nginx's master and worker, h2o's neverbleed and crash handler).
 * Targets (reported, not asserted): >= 1.0x nginx's req/s and >= 1.1x nginx's requests per
 * CPU-second, plain and HTTPS; >= 1.0x h2o's in both; >= 1.0x nginx's and h2o's handshakes
 * per second. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <corio/corio.h>
#include <corio/http_server.h>
#include <corio/tls.h>

#include "bench/bench.h"
#include "bench/h2o.h"
#include "bench/http_common.h"
#include "tests/support/net.h"

/* ---- the corio server (child process) ------------------------------------------------- */

typedef struct app {
	int port;
	corio_http_static *files;
	corio_tls_config *tls; /* NULL: plain HTTP */
} app;

static void handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	app *a = ud;

	if (strcmp(corio_http_in_path(req), HC_HELLO_PATH) == 0) {
		corio_http_out_header(resp, "Content-Type", "text/plain");
		corio_http_out_send(resp, HC_HELLO_BODY, sizeof HC_HELLO_BODY - 1);
	} else {
		corio_http_static_serve(a->files, req, resp, NULL);
	}
}

static void *serve(void *arg)
{
	app *a = arg;
	corio_http_server_opts so;

	corio_http_server_opts_init(&so);
	so.tls = a->tls;
	return hc_serve(corio_http_server_new(&so, handler, a), "http_server", a->port);
}

/* A server config on the certificate chain and key files, or NULL (said why on stderr). */
static corio_tls_config *tls_config(const char *cert, const char *key)
{
	corio_tls_config *c = corio_tls_config_new(true);
	int rc = c ? corio_tls_config_cert(c, cert, key) : -ENOMEM;

	if (rc < 0) {
		fprintf(stderr, "http_server: %s: %s\n", cert, corio_net_strerror(rc));
		corio_tls_config_free(c);
		return NULL;
	}
	return c;
}

/* __child http_server PORT ROOT [CERT KEY]: serves (HTTPS with CERT and KEY) until killed. */
static int child(int argc, char **argv)
{
	app a = { 0 };
	corio_http_static_opts so;
	void *res = NULL;

	if (argc != 2 && argc != 4)
		return 2;
	a.port = atoi(argv[0]);
	if (argc == 4 && !(a.tls = tls_config(argv[2], argv[3])))
		return 1;
	corio_http_static_opts_init(&so);
	so.gzip = true;     /* only for clients that ask: the gzip workload */
	so.gzip_level = 1;  /* nginx's default */
	a.files = corio_http_static_new_opts(argv[1], &so);
	if (!a.files) {
		perror(argv[1]);
		return 1;
	}
	if (corio_run(serve, &a, &res) != 0 || res) {
		fprintf(stderr, "http_server: %s\n", res ? (const char *)res : "corio_run failed");
		return 1;
	}
	corio_http_static_free(a.files);
	corio_tls_config_free(a.tls);
	return 0;
}

/* ---- the benchmark -------------------------------------------------------------------- */

enum { CORIO, NGINX, H2O, GO, HYPER, NODE, NSRV };

/* The servers in column order, and what each one takes part in: the Go, hyper and Node
 * programs answer /hello only (the peers' contract) and serve plain HTTP only. */
typedef struct srv {
	const char *name;
	bool hello_only;
	int port;
	pid_t pid;
	const char *skipped;
	char why[160];           /* skipped points here when a check failed */
} srv;

static const srv servers[NSRV] = {
	[CORIO] = { .name = "corio" }, [NGINX] = { .name = "nginx" }, [H2O] = { .name = "h2o" },
	[GO] = { .name = "go", .hello_only = true },
	[HYPER] = { .name = "hyper", .hello_only = true },
	[NODE] = { .name = "node", .hello_only = true },
};

/* What one measurement asks for: a path, and whether every request opens a connection. */
typedef struct workload {
	const char *path, *label;
	bool close;
	bool full_only; /* left out with --quick */
	bool gzip;      /* sends Accept-Encoding: gzip */
} workload;

static const workload plain_loads[] = {
	{ HC_HELLO_PATH, "hello world", false, false, false },
	{ HC_FILE_PATH, "4 KiB static file", false, false, false },
	{ HC_FILE_PATH, "4 KiB static file, gzip on the fly (level 1)", false, true, true },
};

static const workload tls_loads[] = {
	{ HC_HELLO_PATH, "hello world, TLS 1.3", false, false, false },
	{ HC_FILE_PATH, "4 KiB static file, TLS 1.3", false, true, false },
	{ HC_HELLO_PATH, "TLS 1.3 handshake per request (Connection: close; wrk resumes sessions)",
	  true, false, false },
};

/* Everything one benchmark run sets up: the generator, the CPUs, both servers. */
typedef struct setup {
	const char *bench;      /* "http_server" or "https_server" */
	bool tls;
	char gen_path[PATH_MAX];
	bool use_wrk;
	hc_cpus cpus;
	cpu_set_t gen1, srv1;
	hc_nginx ng;
	hc_h2o h2o;
	th_certs certs;
	srv sv[NSRV];
	char dur[24];
} setup;

/* "target: >= 1.1x nginx (met), >= 1.0x h2o (missed)": the note of a result. */
static void note_targets(bench_result *r, double target, int nginx, int h2o)
{
	const struct {
		int peer;
		double target;
		const char *name;
	} t[] = { { nginx, target, "nginx" }, { h2o, 1.0, "h2o" } };
	size_t n = (size_t)snprintf(r->note, sizeof r->note, "target:");

	for (size_t i = 0; i < sizeof t / sizeof t[0] && n < sizeof r->note; i++) {
		double ratio = t[i].peer >= 0 ? bench_result_ratio(r, t[i].peer) : 0;

		n += (size_t)snprintf(r->note + n, sizeof r->note - n, "%s >= %.1fx %s%s",
				      i ? "," : "", t[i].target, t[i].name,
				      ratio <= 0 ? "" : ratio >= t[i].target ? " (met)" : " (missed)");
	}
}

/* The generator: wrk, else (plain HTTP only) corio-load beside this program. */
static bool find_gen(setup *s)
{
	char self[PATH_MAX];

	s->use_wrk = bench_which("wrk", s->gen_path, sizeof s->gen_path) != NULL;
	if (s->use_wrk || s->tls)
		return s->use_wrk;
	snprintf(self, sizeof self, "%s", bench_self_exe() ? bench_self_exe() : "");
	snprintf(s->gen_path, sizeof s->gen_path, "%s/corio-load", dirname(self));
	return access(s->gen_path, X_OK) == 0;
}

/* nginx, which also makes the document root both servers use: false when there is no
 * document root (nothing to measure corio with either); nginx itself may be skipped. */
static bool start_nginx(setup *s)
{
	char root[PATH_MAX + 8];
	const char *why;

	s->ng.workers = 1;
	s->ng.pinned = s->cpus.pinned;
	s->ng.cpus = s->srv1;
	why = hc_nginx_start(&s->ng, s->tls ? &s->certs : NULL);
	if (!why) {
		s->sv[NGINX].port = s->ng.port;
		s->sv[NGINX].pid = s->ng.pid;
		return true;
	}
	bench_log("%s: nginx: %s\n", s->bench, why);
	s->sv[NGINX].skipped = why;
	snprintf(root, sizeof root, "%s/root%s", s->ng.dir, HC_FILE_PATH);
	if (s->ng.dir[0] && (access(root, R_OK) == 0 || hc_make_root(s->ng.dir) == 0))
		return true;
	bench_log("%s: cannot make the document root\n", s->bench);
	return false;
}

/* corio's server: `__child http_server PORT ROOT [CERT KEY]`. */
static bool start_corio(setup *s)
{
	char root[PATH_MAX + 8], portarg[16];
	srv *c = &s->sv[CORIO];

	c->port = th_free_port();
	snprintf(portarg, sizeof portarg, "%d", c->port);
	snprintf(root, sizeof root, "%s/root", s->ng.dir);
	c->pid = hc_spawn(s->cpus.pinned ? &s->srv1 : NULL,
			  (char *const[]){ (char *)bench_self_exe(), "__child", "http_server", portarg,
					   root, s->tls ? s->certs.path[CERT_GOOD] : NULL,
					   s->certs.path[CERT_GOOD_KEY], NULL });
	if (c->pid >= 0 && th_wait_port(c->port, &c->pid, 5, bench_child_reaped))
		return true;
	bench_log("%s: corio's server did not start\n", s->bench);
	return false;
}

/* Whether server k takes part in workload w of this benchmark: h2o and nginx everywhere,
 * the Go, hyper and Node programs in plain HTTP hello world only. */
static bool applies(const setup *s, int k, const workload *w)
{
	if (w->gzip)
		return k == CORIO || k == NGINX; /* the others are not set up to compress */
	return !servers[k].hello_only || (!s->tls && strcmp(w->path, HC_HELLO_PATH) == 0);
}

/* h2o on the document root nginx's directory holds; skipped with why when it fails. */
static void start_h2o(setup *s)
{
	char root[PATH_MAX + 8];
	srv *h = &s->sv[H2O];

	snprintf(root, sizeof root, "%s/root", s->ng.dir);
	h->skipped = hc_h2o_start(&s->h2o, root, s->tls ? &s->certs : NULL,
				  s->cpus.pinned ? &s->srv1 : NULL);
	h->port = s->h2o.port;
	h->pid = s->h2o.pid;
	if (h->skipped)
		bench_log("%s: h2o: %s\n", s->bench, h->skipped);
}

/* The program of peer p (index k) into prog (and its script, for Node), or why it is
 * missing (in p->why). */
static const char *peer_prog(srv *p, int k, char *prog, size_t len, char *script,
			     size_t slen)
{
	static const char *const bins[NSRV] = { [GO] = "go-http", [HYPER] = "hyper-http" };
	const char *dir;

	script[0] = 0;
	if (bins[k]) {
		snprintf(p->why, sizeof p->why, "%s not built", bins[k]);
		return bench_peer_bin(bins[k], prog, len) ? NULL : p->why;
	}
	snprintf(prog, len, "/usr/bin/node");
	if (access(prog, X_OK) != 0)
		return "node not installed";
	dir = bench_peers_dir("node");
	snprintf(script, slen, "%s/http.js", dir ? dir : "");
	return dir && access(script, R_OK) == 0 ? NULL : "bench/peers/node/http.js not found";
}

/* The Go, hyper and Node hello servers (plain HTTP only) as `PROGRAM [SCRIPT] PORT 1`
 * (the peers' contract; one worker, as corio's server and nginx have), each skipped with
 * why when it is missing or does not start. */
static void start_peers(setup *s)
{
	for (int k = GO; k <= NODE; k++) {
		char prog[PATH_MAX], script[PATH_MAX], portarg[16], *argv[5];
		srv *p = &s->sv[k];
		int i = 0;

		if (s->tls) {
			p->skipped = "plain HTTP only"; /* left out of every TLS workload */
			continue;
		}
		p->skipped = peer_prog(p, k, prog, sizeof prog, script, sizeof script);
		if (p->skipped) {
			bench_log("%s: %s: %s\n", s->bench, p->name, p->skipped);
			continue;
		}
		p->port = th_free_port();
		snprintf(portarg, sizeof portarg, "%d", p->port);
		argv[i++] = prog;
		if (script[0])
			argv[i++] = script;
		argv[i++] = portarg;
		argv[i++] = "1";
		argv[i] = NULL;
		p->pid = hc_spawn(s->cpus.pinned ? &s->srv1 : NULL, argv);
		if (p->pid < 0) {
			p->pid = 0;
			p->skipped = "fork failed";
		} else if (!th_wait_port(p->port, &p->pid, 10, bench_child_reaped)) {
			p->skipped = p->pid ? "did not start" : "exited at start";
		}
		if (p->skipped)
			bench_log("%s: %s: %s\n", s->bench, p->name, p->skipped);
	}
}

/* One generator run against server k: requests and seconds, false when it failed. */
static bool drive(setup *s, const workload *w, int k, double *req, double *secs,
		  double *cpu)
{
	char url[96], out[16384], *argv[20];
	double gcpu = 0, c0, c1;
	int st, i = 0;

	snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", s->tls ? "https" : "http",
		 s->sv[k].port, w->path);
	argv[i++] = s->gen_path;
	argv[i++] = "-t";
	argv[i++] = "1";
	argv[i++] = "-c";
	argv[i++] = "64";
	argv[i++] = "-d";
	argv[i++] = s->dur;
	if (w->close) {
		argv[i++] = "-H";
		argv[i++] = "Connection: close";
	}
	if (w->gzip) {
		argv[i++] = "-H";
		argv[i++] = "Accept-Encoding: gzip";
	}
	if (!s->use_wrk)
		argv[i++] = "--json";
	argv[i++] = url;
	argv[i] = NULL;
	*req = *secs = 0;
	c0 = hc_proc_cpu(s->sv[k].pid);
	st = hc_run_gen(s->cpus.pinned ? &s->gen1 : NULL, argv, out, sizeof out, &gcpu);
	c1 = hc_proc_cpu(s->sv[k].pid);
	if (st == 0 && s->use_wrk) {
		hc_parse_wrk(out, req, secs);
	} else if (st == 0) {
		*req = hc_num_after(out, "\"requests\":");
		*secs = hc_num_after(out, "\"duration_s\":");
		if (hc_num_after(out, "\"total\":") != 0)
			*req = -1;
	}
	if (st != 0 || *req <= 0 || *secs <= 0) {
		bench_log("%s: %s failed (status %d):\n%s\n", s->bench, s->sv[k].name, st, out);
		return false;
	}
	*cpu = c0 >= 0 && c1 > c0 ? c1 - c0 : 0;
	return true;
}

static void measure(setup *s, const workload *w, const bench_opts *o, int *rc)
{
	const char *unit = w->close ? "handshakes/s" : "req/s";
	const char *gen = s->use_wrk ? "wrk" : "corio-load";
	bench_result rps, eff;
	int pr[NSRV], pe[NSRV], in[NSRV], n = 0;

	bench_result_init(&rps, s->bench, unit, true, "%s, %s -t1 -c64 -d%s%s", w->label, gen,
			  s->dur, s->cpus.pinned ? ", server and generator pinned" : "");
	bench_result_init(&eff, s->bench, w->close ? "handshakes/CPU-s" : "req/CPU-s", true,
			  "%s, %s -t1 -c64 -d%s, server CPU%s", w->label, gen, s->dur,
			  s->cpus.pinned ? ", pinned" : "");
	for (int k = 0; k < NSRV; k++) {
		pr[k] = pe[k] = -1;
		if (!applies(s, k, w))
			continue;
		in[n++] = k;
		pr[k] = bench_result_peer_skipped(&rps, s->sv[k].name, s->sv[k].skipped);
		pe[k] = bench_result_peer_skipped(&eff, s->sv[k].name, s->sv[k].skipped);
	}
	for (int r = 0; r < o->runs; r++) {
		for (int j = 0; j < n; j++) {
			int k = in[(r % 2) ? n - 1 - j : j]; /* alternate which server goes first */
			double req, secs, cpu;

			if (s->sv[k].skipped || !drive(s, w, k, &req, &secs, &cpu))
				continue;
			bench_result_add(&rps, pr[k], req / secs);
			if (cpu > 0)
				bench_result_add(&eff, pe[k], req / cpu);
		}
	}
	for (int j = 0; j < n; j++)
		bench_result_pair_failed(&rps, pr[in[j]], &eff, pe[in[j]]);
	if (rps.peers[pr[CORIO]].n == 0 && !s->sv[CORIO].skipped)
		*rc = 1;
	note_targets(&rps, 1.0, pr[NGINX], pr[H2O]);
	if (!w->close)
		note_targets(&eff, 1.1, pe[NGINX], pe[H2O]);
	bench_result_report(&rps, o);
	bench_result_report(&eff, o);
}

/* Each server's TLS as a client sees it: TLS 1.3 with the run's leaf, or the server is
 * skipped (logged either way). False when corio's server failed the check. */
static bool check_tls(setup *s)
{
	for (int k = 0; k < NSRV; k++) {
		char desc[sizeof s->sv[k].why - 32];

		if (s->sv[k].skipped)
			continue;
		if (hc_tls_probe(s->sv[k].port, &s->certs, desc, sizeof desc)) {
			bench_log("%s: %s: %s\n", s->bench, s->sv[k].name, desc);
			continue;
		}
		snprintf(s->sv[k].why, sizeof s->sv[k].why, "TLS check failed: %s", desc);
		s->sv[k].skipped = s->sv[k].why;
		bench_log("%s: %s: %s\n", s->bench, s->sv[k].name, s->sv[k].why);
	}
	return !s->sv[CORIO].skipped;
}

/* Every workload's results with both servers skipped for the same reason. */
static void report_skipped(setup *s, const workload *loads, size_t n, const char *why,
			   const bench_opts *o)
{
	for (size_t i = 0; i < n; i++) {
		bench_result r;

		if (loads[i].full_only && o->quick)
			continue;
		bench_result_init(&r, s->bench, loads[i].close ? "handshakes/s" : "req/s", true,
				  "%s", loads[i].label);
		for (int k = 0; k < NSRV; k++)
			if (applies(s, k, &loads[i]))
				bench_result_peer_skipped(&r, s->sv[k].name, why);
		bench_result_report(&r, o);
	}
}

static int run_servers(const bench_opts *o, bool tls)
{
	const workload *loads = tls ? tls_loads : plain_loads;
	size_t nloads = tls ? sizeof tls_loads / sizeof tls_loads[0]
			    : sizeof plain_loads / sizeof plain_loads[0];
	setup s = { .bench = tls ? "https_server" : "http_server", .tls = tls };
	/* wrk -d3s (plain HTTP had -d5s with two servers; with six, 3 s keeps the suite within
	 * its time and still makes ~100 000 requests a run); -d1s with --quick; --secs
	 * overrides. */
	int secs = o->secs_given ? (int)ceil(o->secs) : o->quick ? 1 : 3;
	const char *why;
	int rc = 0;

	memcpy(s.sv, servers, sizeof s.sv);
	if (!find_gen(&s)) {
		why = tls ? "wrk not installed (the HTTPS generator)"
			  : "neither wrk nor corio-load is available";
		bench_log("%s: %s\n", s.bench, why);
		if (!tls)
			return 1;
		report_skipped(&s, loads, nloads, why, o);
		return 0;
	}
	if (tls && (why = hc_certs_make(&s.certs))) {
		bench_log("%s: %s\n", s.bench, why);
		hc_certs_remove(&s.certs);
		return 1;
	}
	snprintf(s.dur, sizeof s.dur, "%ds", secs);
	hc_plan_cpus(&s.cpus);
	hc_first_cpu(&s.cpus.gen, &s.gen1);
	hc_first_cpu(&s.cpus.srv, &s.srv1);
	if (!start_nginx(&s) || !start_corio(&s)) {
		rc = 1;
	} else {
		start_h2o(&s);
		start_peers(&s);
		if (tls && !check_tls(&s))
			rc = 1; /* corio's server reported skipped, with why; nginx still measured */
		for (size_t i = 0; i < nloads; i++)
			if (!(loads[i].full_only && o->quick))
				measure(&s, &loads[i], o, &rc);
	}
	th_stop(&s.sv[CORIO].pid, SIGTERM, bench_child_reaped);
	for (int k = GO; k <= NODE; k++)
		th_stop(&s.sv[k].pid, SIGTERM, bench_child_reaped);
	hc_h2o_stop(&s.h2o);
	hc_nginx_stop(&s.ng);
	hc_certs_remove(&s.certs);
	return rc;
}

static int run_http(const bench_opts *o)
{
	return run_servers(o, false);
}

static int run_https(const bench_opts *o)
{
	return run_servers(o, true);
}

const bench_def bench_http_server = {
	.name = "http_server",
	.desc = "HTTP/1.1 server: corio vs nginx (1 worker) under wrk -t1 -c64, hello world and "
		"a 4 KiB file (req/s, req per server CPU-s)",
	.run = run_http,
	.child = child,
};

const bench_def bench_https_server = {
	.name = "https_server",
	.desc = "HTTPS server (TLS 1.3, ECDSA P-256): corio vs nginx under wrk -t1 -c64, hello, "
		"4 KiB file, new connections (req/s, handshakes/s, per server CPU-s)",
	.run = run_https,
	.child = child,
};
