/* bench/b_access_log.c: what the server's access log costs on the hello benchmark. Two
 * corio servers run side by side, identical but for corio_http_server_opts.access_log:
 *   [log on]   Combined Log Format to a file in a temporary directory
 *   [log off]  no access log
 * each `corio-bench __child access_log PORT [LOGFILE]` (one loop, one thread, "hello
 * world\n" from memory on /hello as in http_server), driven one after the other by
 * `wrk -t1 -c64 -d<secs>` (corio-load when wrk is missing), alternating which goes first,
 * in the same run. With 2 CPUs or more both servers are pinned to one CPU of the upper
 * half and the generator to one of the lower half (bench/http_common.h).
 * Reported: req/s of each, and the ratio on/off. Target (reported, not asserted): the log
 * costs less than 5% of the req/s (ratio >= 0.95). The log file's size after the runs is
 * logged, so a log that wrote nothing is seen. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <corio/corio.h>
#include <corio/http_server.h>

#include "bench/bench.h"
#include "bench/http_common.h"
#include "tests/support/net.h"

/* ---- the server (child process) --------------------------------------------------------- */

typedef struct child_args {
	int port;
	corio_http_access_log *log;
} child_args;

static void hello(corio_http_in *req, corio_http_out *resp, void *ud)
{
	if (strcmp(corio_http_in_path(req), HC_HELLO_PATH) == 0) {
		corio_http_out_header(resp, "Content-Type", "text/plain");
		corio_http_out_send(resp, HC_HELLO_BODY, sizeof HC_HELLO_BODY - 1);
	} else {
		corio_http_out_error(resp, 404);
	}
}

static void *serve(void *arg)
{
	child_args *a = arg;
	corio_http_server_opts so;

	corio_http_server_opts_init(&so);
	so.access_log = a->log;
	return hc_serve(corio_http_server_new(&so, hello, NULL), "access_log", a->port);
}

/* __child access_log PORT [LOGFILE] */
static int child(int argc, char **argv)
{
	child_args a = { 0 };
	void *res = NULL;

	if (argc != 1 && argc != 2)
		return 2;
	a.port = atoi(argv[0]);
	if (argc == 2 && !(a.log = corio_http_access_log_new(argv[1], CORIO_HTTP_LOG_COMBINED))) {
		perror(argv[1]);
		return 1;
	}
	if (corio_run(serve, &a, &res) != 0 || res) {
		fprintf(stderr, "access_log: %s\n", res ? (const char *)res : "corio_run failed");
		return 1;
	}
	corio_http_access_log_free(a.log);
	return 0;
}

/* ---- the benchmark ---------------------------------------------------------------------- */

enum { ON, OFF, NSRV };

typedef struct setup {
	char gen[PATH_MAX];
	bool wrk;
	hc_cpus cpus;
	cpu_set_t gen1, srv1;
	char dir[64], logfile[128], dur[24];
	int port[NSRV];
	pid_t pid[NSRV];
} setup;

/* wrk, else corio-load beside this program. */
static bool find_gen(setup *s)
{
	char self[PATH_MAX];

	if ((s->wrk = bench_which("wrk", s->gen, sizeof s->gen) != NULL))
		return true;
	snprintf(self, sizeof self, "%s", bench_self_exe() ? bench_self_exe() : "");
	snprintf(s->gen, sizeof s->gen, "%s/corio-load", dirname(self));
	return access(s->gen, X_OK) == 0;
}

static bool start(setup *s, int k)
{
	char portarg[16];

	s->port[k] = th_free_port();
	snprintf(portarg, sizeof portarg, "%d", s->port[k]);
	s->pid[k] = hc_spawn(s->cpus.pinned ? &s->srv1 : NULL,
			     (char *const[]){ (char *)bench_self_exe(), "__child", "access_log",
					      portarg, k == ON ? s->logfile : NULL, NULL });
	return s->pid[k] >= 0 && th_wait_port(s->port[k], &s->pid[k], 5, bench_child_reaped);
}

/* One generator run against server k: req/s, or -1 when it failed. */
static double drive(setup *s, int k)
{
	char url[96], out[16384];
	char *argv[] = { s->gen, "-t", "1", "-c", "64", "-d", s->dur,
			 s->wrk ? url : "--json", s->wrk ? NULL : url, NULL };
	double req = 0, secs = 0, gcpu = 0;
	int st;

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port[k], HC_HELLO_PATH);
	st = hc_run_gen(s->cpus.pinned ? &s->gen1 : NULL, argv, out, sizeof out, &gcpu);
	if (st == 0 && s->wrk) {
		hc_parse_wrk(out, &req, &secs);
	} else if (st == 0) {
		req = hc_num_after(out, "\"requests\":");
		secs = hc_num_after(out, "\"duration_s\":");
		if (hc_num_after(out, "\"total\":") != 0)
			req = -1;
	}
	if (st != 0 || req <= 0 || secs <= 0) {
		bench_log("access_log: log %s failed (status %d):\n%s\n", k == ON ? "on" : "off",
			  st, out);
		return -1;
	}
	return req / secs;
}

static void measure(setup *s, const bench_opts *o)
{
	bench_result r;
	int p[NSRV];
	double ratio;

	bench_result_init(&r, "access_log", "req/s", true,
			  "hello world, access log (combined, to a file) on vs off, %s -t1 -c64 -d%s%s",
			  s->wrk ? "wrk" : "corio-load", s->dur,
			  s->cpus.pinned ? ", server and generator pinned" : "");
	p[ON] = bench_result_peer(&r, "log on");
	p[OFF] = bench_result_peer(&r, "log off");
	for (int run = 0; run < o->runs; run++) {
		for (int j = 0; j < NSRV; j++) {
			int k = run % 2 ? NSRV - 1 - j : j; /* alternate which goes first */
			double v = drive(s, k);

			if (v > 0)
				bench_result_add(&r, p[k], v);
		}
	}
	for (int k = 0; k < NSRV; k++)
		if (r.peers[p[k]].n == 0)
			bench_result_skip(&r, p[k], "every run failed");
	ratio = bench_result_ratio(&r, p[OFF]); /* on / off */
	snprintf(r.note, sizeof r.note, "on/off %.3f, target: cost < 5%% (%s)", ratio,
		 ratio <= 0 ? "not measured" : ratio >= 0.95 ? "met" : "missed");
	bench_result_report(&r, o);
}

static int run(const bench_opts *o)
{
	setup s = { 0 };
	int secs = o->secs_given ? (int)ceil(o->secs) : o->quick ? 1 : 3;
	struct stat st;
	int rc = 0;

	if (!find_gen(&s)) {
		bench_log("access_log: neither wrk nor corio-load is available\n");
		return 1;
	}
	snprintf(s.dir, sizeof s.dir, "/tmp/corio-bench-alog-XXXXXX");
	if (!mkdtemp(s.dir)) {
		bench_log("access_log: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	bench_cleanup_path(s.dir);
	snprintf(s.logfile, sizeof s.logfile, "%s/access.log", s.dir);
	bench_cleanup_path(s.logfile);
	snprintf(s.dur, sizeof s.dur, "%ds", secs);
	hc_plan_cpus(&s.cpus);
	hc_first_cpu(&s.cpus.gen, &s.gen1);
	hc_first_cpu(&s.cpus.srv, &s.srv1);
	if (!start(&s, ON) || !start(&s, OFF)) {
		bench_log("access_log: a server did not start\n");
		rc = 1;
	} else {
		measure(&s, o);
	}
	for (int k = 0; k < NSRV; k++)
		th_stop(&s.pid[k], SIGTERM, bench_child_reaped);
	if (stat(s.logfile, &st) == 0)
		bench_log("access_log: the log file had %lld bytes\n", (long long)st.st_size);
	unlink(s.logfile);
	bench_cleanup_forget(s.logfile);
	rmdir(s.dir);
	bench_cleanup_forget(s.dir);
	return rc;
}

const bench_def bench_access_log = {
	.name = "access_log",
	.desc = "HTTP server: access log on vs off on the hello benchmark (wrk -t1 -c64; req/s, "
		"ratio; target < 5% cost)",
	.run = run,
	.child = child,
};
