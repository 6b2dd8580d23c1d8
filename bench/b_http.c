/* bench/b_http.c: HTTP/1.1 load generators against one nginx: corio-load beside wrk and
 * `h2load --h1` (nghttp2-client), the same -t/-c/-d, interleaved in the same run.
 *
 * nginx (Debian's /usr/sbin/nginx, a config generated in a temporary directory, 127.0.0.1,
 * a free port, one small static file, access log off, unlimited keep-alive) is started and
 * stopped by pid and registered with the runner's child registry. With 2 CPUs or more the
 * generators are pinned to the lower half of the CPUs and nginx to the upper half
 * (sched_setaffinity in the child before exec), one generator thread and one nginx worker
 * per CPU of its half. Each generator runs as its own process; its CPU time (user +
 * system) comes from wait4's rusage.
 *
 * Two results per configuration: requests per second, and requests per CPU-second of the
 * generator. Targets (reported, not asserted): corio-load >= 1.0x wrk's req/s (nginx is
 * the limit then) and >= 1.1x wrk's requests per CPU-second. A peer that is not installed
 * is reported as skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/http_common.h"

#define NGEN 3

typedef struct gen {
	const char *name;
	char path[PATH_MAX];
	const char *skipped;
} gen;

typedef struct setup {
	hc_nginx ng;
	hc_cpus cpus;
	int gen_threads, workers;
} setup;

/* Requests completed and seconds measured, from each generator's own output. */
static bool parse_out(int g, const char *out, double *requests, double *secs)
{
	const char *p;

	switch (g) {
	case 0: /* corio-load --json */
		*requests = hc_num_after(out, "\"requests\":");
		*secs = hc_num_after(out, "\"duration_s\":");
		return *requests > 0 && *secs > 0 && hc_num_after(out, "\"total\":") == 0;
	case 1: /* wrk: "  123 requests in 2.00s, 1.2MB read" */
		return hc_parse_wrk(out, requests, secs);
	default: /* h2load: "finished in 2.00s, ..." and "requests: N total, ..., M succeeded" */
		*secs = hc_num_after(out, "finished in ");
		p = strstr(out, "started, ");
		if (!p)
			return false;
		p = strstr(p, "done, ");
		*requests = p ? strtod(p + 6, NULL) : -1; /* succeeded */
		return *requests > 0 && *secs > 0 && hc_num_after(out, "succeeded, ") == 0;
	}
}

/* ---- the benchmark ------------------------------------------------------------------- */

static void plan_cpus(setup *s)
{
	hc_plan_cpus(&s->cpus);
	s->gen_threads = s->cpus.gen_n;
	s->workers = s->cpus.srv_n;
	s->ng.workers = s->workers;
	s->ng.pinned = s->cpus.pinned;
	s->ng.cpus = s->cpus.srv;
}

static void find_gens(gen *g)
{
	char self[PATH_MAX];

	g[0].name = "corio-load";
	g[1].name = "wrk";
	g[2].name = "h2load";
	snprintf(self, sizeof self, "%s", bench_self_exe() ? bench_self_exe() : "");
	snprintf(g[0].path, sizeof g[0].path, "%s/corio-load", dirname(self));
	if (access(g[0].path, X_OK) != 0)
		g[0].skipped = "corio-load not built";
	if (!bench_which("wrk", g[1].path, sizeof g[1].path))
		g[1].skipped = "wrk not installed";
	if (!bench_which("h2load", g[2].path, sizeof g[2].path))
		g[2].skipped = "h2load not installed (nghttp2-client)";
}

static void argv_for(int g, const gen *gs, const setup *s, int conns, const char *dur_s,
		     const char *url, char *targs, char *cargs, char **argv)
{
	int i = 0;

	snprintf(targs, 16, "%d", s->gen_threads);
	snprintf(cargs, 16, "%d", conns);
	argv[i++] = (char *)gs[g].path;
	if (g == 2) {
		argv[i++] = "--h1";
		argv[i++] = "-t";
		argv[i++] = targs;
		argv[i++] = "-c";
		argv[i++] = cargs;
		argv[i++] = "-D";
		argv[i++] = (char *)dur_s; /* seconds */
	} else {
		static char d[24];

		snprintf(d, sizeof d, "%ss", dur_s);
		argv[i++] = "-t";
		argv[i++] = targs;
		argv[i++] = "-c";
		argv[i++] = cargs;
		argv[i++] = "-d";
		argv[i++] = d;
		if (g == 0)
			argv[i++] = "--json";
	}
	argv[i++] = (char *)url;
	argv[i] = NULL;
}

static void measure_config(setup *s, gen *gs, int conns, const bench_opts *o)
{
	const char *dur = o->quick ? "1" : "3";
	char url[64], out[16384], targs[16], cargs[16], *argv[16];
	bench_result rps, eff;
	int pr[NGEN], pe[NGEN];

	snprintf(url, sizeof url, "http://127.0.0.1:%d/index.html", s->ng.port);
	bench_result_init(&rps, "http", "req/s", true, "conns=%d threads=%d nginx-workers=%d%s",
			  conns, s->gen_threads, s->workers, s->cpus.pinned ? " pinned" : "");
	bench_result_init(&eff, "http", "req/CPU-s", true,
			  "conns=%d threads=%d nginx-workers=%d%s generator CPU", conns,
			  s->gen_threads, s->workers, s->cpus.pinned ? " pinned" : "");
	snprintf(rps.note, sizeof rps.note, "target: corio-load >= 1.0x wrk");
	snprintf(eff.note, sizeof eff.note, "target: corio-load >= 1.1x wrk");
	for (int g = 0; g < NGEN; g++) {
		pr[g] = bench_result_peer_skipped(&rps, gs[g].name, gs[g].skipped);
		pe[g] = bench_result_peer_skipped(&eff, gs[g].name, gs[g].skipped);
	}
	for (int run = 0; run < o->runs; run++) {
		for (int g = 0; g < NGEN; g++) {
			double cpu = 0, req = 0, secs = 0;
			int st;

			if (gs[g].skipped)
				continue;
			argv_for(g, gs, s, conns, dur, url, targs, cargs, argv);
			st = hc_run_gen(s->cpus.pinned ? &s->cpus.gen : NULL, argv, out, sizeof out, &cpu);
			if (st != 0 || !parse_out(g, out, &req, &secs)) {
				bench_log("http: %s run %d failed (status %d):\n%s\n", gs[g].name,
					  run + 1, st, out);
				continue;
			}
			bench_result_add(&rps, pr[g], req / secs);
			if (cpu > 0)
				bench_result_add(&eff, pe[g], req / cpu);
		}
	}
	for (int g = 0; g < NGEN; g++)
		bench_result_pair_failed(&rps, pr[g], &eff, pe[g]);
	bench_result_report(&rps, o);
	bench_result_report(&eff, o);
}

static int run(const bench_opts *o)
{
	static const int conns[] = { 64, 256 };
	setup s = { 0 };
	gen gs[NGEN] = { 0 };
	const char *why;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	find_gens(gs);
	if (gs[0].skipped) {
		bench_log("http: %s\n", gs[0].skipped);
		return 1;
	}
	plan_cpus(&s);
	why = hc_nginx_start(&s.ng, NULL);
	if (why) {
		bench_log("http: %s\n", why);
		hc_nginx_stop(&s.ng);
		return 1;
	}
	/* --quick: the first configuration only (the suite must finish in 2 minutes). */
	for (size_t i = 0; i < (o->quick ? 1 : sizeof conns / sizeof conns[0]); i++)
		measure_config(&s, gs, conns[i] < s.gen_threads ? s.gen_threads : conns[i], o);
	hc_nginx_stop(&s.ng);
	return 0;
}

const bench_def bench_http = {
	.name = "http",
	.desc = "HTTP/1.1 load generators on nginx: corio-load vs wrk and h2load --h1 (req/s, "
		"req per generator CPU-s)",
	.run = run,
};
