/* bench/b_http_server.c: corio's HTTP/1.1 server beside nginx, in the same run, under the
 * same load: `wrk -t1 -c64 -d<secs>` (corio-load -t1 -c64 when wrk is not installed), on
 * two paths:
 *   /hello     "hello world\n" from memory (nginx: `return 200` in a location)
 *   /4k.html   a 4 KiB static file (corio_http_static_serve; nginx's static module)
 *
 * corio's server runs as `corio-bench __child http_server PORT ROOT` (one loop, one
 * thread), nginx with one worker and the access log off, both on 127.0.0.1 and the same
 * document root (http_common.c). With 2 CPUs or more the server is pinned to one CPU of the
 * upper half and the generator to one of the lower half. The two servers run side by side;
 * each run drives them one after the other, alternating which goes first.
 *
 * Two results per path: requests per second, and requests per CPU-second of the server
 * process (utime + stime from /proc/PID/stat before and after the run; nginx's master and
 * worker together). Targets (reported, not asserted): >= 1.0x nginx's req/s and >= 1.1x
 * nginx's requests per CPU-second. */
#define _GNU_SOURCE
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

#include "bench/bench.h"
#include "bench/http_common.h"
#include "tests/support/net.h"

/* ---- the corio server (child process) ------------------------------------------------- */

typedef struct app {
	int port;
	corio_http_static *files;
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
	corio_http_server *srv = corio_http_server_new(NULL, handler, a);
	int rc;

	if (!srv)
		return (void *)"out of memory";
	rc = corio_http_server_listen(srv, "127.0.0.1", a->port);
	if (rc < 0) {
		fprintf(stderr, "http_server: listen: %s\n", corio_net_strerror(rc));
		corio_http_server_free(srv);
		return (void *)"listen failed";
	}
	rc = corio_http_server_serve(srv); /* until SIGTERM */
	corio_http_server_free(srv);
	return rc < 0 ? (void *)"serve failed" : NULL;
}

/* __child http_server PORT ROOT: serves until killed. */
static int child(int argc, char **argv)
{
	app a;
	void *res = NULL;

	if (argc < 2)
		return 2;
	a.port = atoi(argv[0]);
	a.files = corio_http_static_new(argv[1]);
	if (!a.files) {
		perror(argv[1]);
		return 1;
	}
	if (corio_run(serve, &a, &res) != 0 || res) {
		fprintf(stderr, "http_server: %s\n", res ? (const char *)res : "corio_run failed");
		return 1;
	}
	corio_http_static_free(a.files);
	return 0;
}

/* ---- the benchmark -------------------------------------------------------------------- */

enum { CORIO, NGINX, NSRV };

typedef struct srv {
	const char *name;
	int port;
	pid_t pid;
	const char *skipped;
} srv;

static const struct {
	const char *path, *label;
} paths[] = {
	{ HC_HELLO_PATH, "hello world" },
	{ HC_FILE_PATH, "4 KiB static file" },
};

static void note_targets(bench_result *r, double target, int peer)
{
	double ratio = bench_result_ratio(r, peer);

	if (ratio > 0)
		snprintf(r->note, sizeof r->note, "target: >= %.1fx nginx (%s)", target,
			 ratio >= target ? "met" : "missed");
	else
		snprintf(r->note, sizeof r->note, "target: >= %.1fx nginx", target);
}

static int run(const bench_opts *o)
{
	char gen_path[PATH_MAX], self[PATH_MAX], root[PATH_MAX + 8], portarg[16];
	char url[96], dur[24], out[16384];
	bool use_wrk;
	hc_cpus cpus;
	cpu_set_t gen1, srv1;
	hc_nginx ng = { .workers = 1 };
	srv sv[NSRV] = { { .name = "corio" }, { .name = "nginx" } };
	const char *why;
	/* wrk -d5s as the HTTP issue specifies; -d1s with --quick; --secs overrides. */
	int secs = o->secs_given ? (int)ceil(o->secs) : (o->quick ? 1 : 5);
	int rc = 0;

	/* The generator: wrk, else corio-load beside this program. */
	use_wrk = bench_which("wrk", gen_path, sizeof gen_path) != NULL;
	if (!use_wrk) {
		snprintf(self, sizeof self, "%s", bench_self_exe() ? bench_self_exe() : "");
		snprintf(gen_path, sizeof gen_path, "%s/corio-load", dirname(self));
		if (access(gen_path, X_OK) != 0) {
			bench_log("http_server: neither wrk nor corio-load is available\n");
			return 1;
		}
	}
	hc_plan_cpus(&cpus);
	hc_first_cpu(&cpus.gen, &gen1);
	hc_first_cpu(&cpus.srv, &srv1);

	/* nginx, which also makes the document root both servers use. */
	ng.pinned = cpus.pinned;
	ng.cpus = srv1;
	why = hc_nginx_start(&ng);
	if (why) {
		bench_log("http_server: nginx: %s\n", why);
		sv[NGINX].skipped = why;
		snprintf(root, sizeof root, "%s/root%s", ng.dir, HC_FILE_PATH);
		if (!ng.dir[0] || (access(root, R_OK) != 0 && hc_make_root(ng.dir) != 0)) {
			/* No directory to serve from: nothing to measure corio with either. */
			bench_log("http_server: cannot make the document root\n");
			hc_nginx_stop(&ng);
			return 1;
		}
	} else {
		sv[NGINX].port = ng.port;
		sv[NGINX].pid = ng.pid;
	}

	/* corio's server. */
	sv[CORIO].port = th_free_port();
	snprintf(portarg, sizeof portarg, "%d", sv[CORIO].port);
	snprintf(root, sizeof root, "%s/root", ng.dir);
	sv[CORIO].pid = hc_spawn(cpus.pinned ? &srv1 : NULL,
				 (char *const[]){ (char *)bench_self_exe(), "__child",
						  "http_server", portarg, root, NULL });
	if (sv[CORIO].pid < 0 ||
	    !th_wait_port(sv[CORIO].port, &sv[CORIO].pid, 5, bench_child_reaped)) {
		bench_log("http_server: corio's server did not start\n");
		th_stop(&sv[CORIO].pid, SIGTERM, bench_child_reaped);
		hc_nginx_stop(&ng);
		return 1;
	}

	snprintf(dur, sizeof dur, "%ds", secs);
	for (size_t pi = 0; pi < sizeof paths / sizeof paths[0]; pi++) {
		bench_result rps, eff;
		int pr[NSRV], pe[NSRV];

		bench_result_init(&rps, "http_server", "req/s", true,
				  "%s, %s -t1 -c64 -d%s%s", paths[pi].label,
				  use_wrk ? "wrk" : "corio-load", dur,
				  cpus.pinned ? ", server and generator pinned" : "");
		bench_result_init(&eff, "http_server", "req/CPU-s", true,
				  "%s, %s -t1 -c64 -d%s, server CPU%s", paths[pi].label,
				  use_wrk ? "wrk" : "corio-load", dur, cpus.pinned ? ", pinned" : "");
		for (int k = 0; k < NSRV; k++) {
			pr[k] = bench_result_peer_skipped(&rps, sv[k].name, sv[k].skipped);
			pe[k] = bench_result_peer_skipped(&eff, sv[k].name, sv[k].skipped);
		}
		for (int r = 0; r < o->runs; r++) {
			for (int j = 0; j < NSRV; j++) {
				/* Alternate which server goes first. */
				int k = (r % 2) ? NSRV - 1 - j : j;
				double gcpu = 0, req = 0, s = 0, c0, c1;
				char *argv[16];
				int st, i = 0;

				if (sv[k].skipped)
					continue;
				snprintf(url, sizeof url, "http://127.0.0.1:%d%s", sv[k].port,
					 paths[pi].path);
				argv[i++] = gen_path;
				argv[i++] = "-t";
				argv[i++] = "1";
				argv[i++] = "-c";
				argv[i++] = "64";
				argv[i++] = "-d";
				argv[i++] = dur;
				if (!use_wrk)
					argv[i++] = "--json";
				argv[i++] = url;
				argv[i] = NULL;
				c0 = hc_proc_cpu(sv[k].pid);
				st = hc_run_gen(cpus.pinned ? &gen1 : NULL, argv, out, sizeof out,
						&gcpu);
				c1 = hc_proc_cpu(sv[k].pid);
				if (st == 0 && use_wrk && hc_parse_wrk(out, &req, &s)) {
				} else if (st == 0 && !use_wrk) {
					req = hc_num_after(out, "\"requests\":");
					s = hc_num_after(out, "\"duration_s\":");
					if (hc_num_after(out, "\"total\":") != 0)
						req = -1;
				}
				if (st != 0 || req <= 0 || s <= 0) {
					bench_log("http_server: %s run %d failed (status %d):\n%s\n",
						  sv[k].name, r + 1, st, out);
					continue;
				}
				bench_result_add(&rps, pr[k], req / s);
				if (c0 >= 0 && c1 > c0)
					bench_result_add(&eff, pe[k], req / (c1 - c0));
			}
		}
		for (int k = 0; k < NSRV; k++)
			bench_result_pair_failed(&rps, pr[k], &eff, pe[k]);
		if (rps.peers[pr[CORIO]].n == 0)
			rc = 1;
		note_targets(&rps, 1.0, pr[NGINX]);
		note_targets(&eff, 1.1, pe[NGINX]);
		bench_result_report(&rps, o);
		bench_result_report(&eff, o);
	}
	th_stop(&sv[CORIO].pid, SIGTERM, bench_child_reaped);
	hc_nginx_stop(&ng);
	return rc;
}

const bench_def bench_http_server = {
	.name = "http_server",
	.desc = "HTTP/1.1 server: corio vs nginx (1 worker) under wrk -t1 -c64, hello world and "
		"a 4 KiB file (req/s, req per server CPU-s)",
	.run = run,
	.child = child,
};
