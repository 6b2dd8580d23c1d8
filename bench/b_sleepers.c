/* bench/b_sleepers.c: many idle coroutines: N tasks each sleeping 1 s, gathered.
 *
 * Each side runs in a fresh process so that its peak RSS (ru_maxrss from wait4) is its own:
 * corio in `corio-bench __child sleepers N` (this file's child entry), asyncio in
 * bench/peers/python/sleepers.py (the seed's fetch_data pattern under asyncio.gather) with Debian's
 * /usr/bin/python3. Both report the wall time of their run call (corio_run / asyncio.run).
 * Two results: wall seconds and peak RSS MiB, both lower-is-better.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "bench/bench.h"

#define DEFAULT_N 100000ul
#define QUICK_N 10000ul

/* ---- the child: corio's side ----------------------------------------------------------- */

struct sleepers {
	unsigned long n, done;
	corio_statistics peak, end;
	int err;
};

static void *sleeper(void *arg)
{
	(void)arg;
	return corio_sleep(CORIO_SEC(1)) == 0 ? "Data" : NULL;
}

static void *sleepers_main(void *arg)
{
	struct sleepers *s = arg;
	corio_task **tasks = malloc(s->n * sizeof *tasks);
	void **results = malloc(s->n * sizeof *results);
	unsigned long n = 0;

	if (!tasks || !results) {
		s->err = -ENOMEM;
		goto out;
	}
	while (n < s->n && (tasks[n] = corio_spawn(sleeper, NULL)))
		n++;
	corio_stats(&s->peak);
	if (n < s->n) {
		s->err = -ENOMEM;
		for (unsigned long i = 0; i < n; i++)
			corio_cancel(tasks[i]);
	}
	corio_gather(tasks, n, results); /* -ECANCELED only after the cancels above */
	for (unsigned long i = 0; i < n; i++)
		s->done += results[i] != NULL;
	corio_stats(&s->end);
out:
	free(tasks);
	free(results);
	return NULL;
}

static int child(int argc, char **argv)
{
	struct sleepers s = { 0 };
	uint64_t t0, t1;
	char *end;
	int rc;

	if (argc != 1 || (s.n = strtoul(argv[0], &end, 10)) == 0 || *end) {
		fprintf(stderr, "usage: corio-bench __child sleepers N\n");
		return 2;
	}
	t0 = bench_now();
	rc = corio_run(sleepers_main, &s, NULL);
	t1 = bench_now();
	if (rc != 0 || s.err != 0) {
		fprintf(stderr, "sleepers child: %s\n", strerror(-(rc ? rc : s.err)));
		return 1;
	}
	fprintf(stderr,
		"    corio child: %llu guarded + %llu packed stacks, %llu io_uring_enter, "
		"%llu SQ-full flushes, %llu CQ overflows, %llu switches\n",
		(unsigned long long)s.peak.stacks_guarded, (unsigned long long)s.peak.stacks_packed,
		(unsigned long long)s.end.submit_calls, (unsigned long long)s.end.sq_full_flushes,
		(unsigned long long)s.end.cq_overflows, (unsigned long long)s.end.switches);
	printf("wall_s=%.6f done=%lu\n", (double)(t1 - t0) / 1e9, s.done);
	return s.done == s.n ? 0 : 1;
}

/* ---- the parent ------------------------------------------------------------------------ */

/* Runs one side; 0 with *wall (s) and *rss (MiB), or -1. */
static int measure(char *const argv[], unsigned long n, double *wall, double *rss)
{
	char out[512];
	unsigned long done = 0;
	long kib = 0;
	const char *d;
	int rc = bench_run_child(argv, out, sizeof out, &kib);

	if (rc != 0 || sscanf(out, "wall_s=%lf", wall) != 1 || !(d = strstr(out, "done=")) ||
	    sscanf(d, "done=%lu", &done) != 1 || done != n) {
		bench_log("sleepers: %s exited with %d (%s), printed '%s'\n", argv[0], rc,
			  rc < 0 ? strerror(-rc) : "status", out);
		return -1;
	}
	*rss = (double)kib / 1024.0;
	return 0;
}

static int run(const bench_opts *o)
{
	unsigned long n = o->sleepers ? o->sleepers : o->quick ? QUICK_N : DEFAULT_N;
	const char *self = bench_self_exe(), *py = bench_python(), *dir = bench_peers_dir("python");
	const char *why = NULL;
	char count[32], script[4096];
	bench_result wall, rss;
	int wc, wp, rc_, rp;

	if (!self) {
		bench_log("sleepers: cannot read /proc/self/exe\n");
		return 1;
	}
	snprintf(count, sizeof count, "%lu", n);
	if (!py)
		why = "/usr/bin/python3 not installed";
	else if (!dir)
		why = "bench/peers/python not found (set CORIO_BENCH_PEERS)";
	else
		snprintf(script, sizeof script, "%s/sleepers.py", dir);

	bench_result_init(&wall, "sleepers", "s", false, "N=%lu sleep(1 s) + gather: wall", n);
	wc = bench_result_peer(&wall, "corio");
	wp = bench_result_peer(&wall, "asyncio");
	bench_result_init(&rss, "sleepers", "MiB", false, "N=%lu sleep(1 s) + gather: peak RSS",
			  n);
	rc_ = bench_result_peer(&rss, "corio");
	rp = bench_result_peer(&rss, "asyncio");

	for (int i = 0; i < o->runs; i++) {
		char *cargv[] = { (char *)self, "__child", "sleepers", count, NULL };
		char *pargv[] = { (char *)py, script, count, NULL };
		double cw, cr, pw = 0, pr = 0;

		if (i % 2 == 1 && !why && measure(pargv, n, &pw, &pr) != 0)
			why = "python peer failed";
		if (measure(cargv, n, &cw, &cr) != 0)
			return 1;
		if (i % 2 == 0 && !why && measure(pargv, n, &pw, &pr) != 0)
			why = "python peer failed";
		bench_result_add(&wall, wc, cw);
		bench_result_add(&rss, rc_, cr);
		if (!why) {
			bench_result_add(&wall, wp, pw);
			bench_result_add(&rss, rp, pr);
			bench_log("  run %d: corio %.3f s %.1f MiB; asyncio %.3f s %.1f MiB\n", i + 1,
				  cw, cr, pw, pr);
		} else {
			bench_log("  run %d: corio %.3f s %.1f MiB; asyncio skipped (%s)\n", i + 1,
				  cw, cr, why);
		}
	}
	if (why) {
		bench_result_skip(&wall, wp, why);
		bench_result_skip(&rss, rp, why);
	}
	if (n == DEFAULT_N) {
		snprintf(wall.note, sizeof wall.note, "[target: corio < 1.25 s: %s]",
			 bench_median(&wall.peers[wc]) < 1.25 ? "met" : "MISSED");
		snprintf(rss.note, sizeof rss.note, "[target: corio < 1024 MiB: %s]",
			 bench_median(&rss.peers[rc_]) < 1024 ? "met" : "MISSED");
	}
	bench_result_report(&wall, o);
	bench_result_report(&rss, o);
	return 0;
}

const bench_def bench_sleepers = {
	.name = "sleepers",
	.desc = "N coroutines each sleeping 1 s, gathered: wall time and peak RSS vs asyncio",
	.run = run,
	.child = child,
};
