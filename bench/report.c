/* bench/report.c: collecting samples, the median and spread, and reporting a result: one
 * human line on stderr (progress) and, with --json, one JSON object on stdout; every result
 * is also kept (deep-copied) for the table and the files written at the end. The progress
 * lines (which benchmark, run k of n, elapsed time) come from here too. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

/* ---- progress ------------------------------------------------------------------------ */

static struct {
	uint64_t t0;            /* first bench_progress_begin */
	char name[32];
	int index, total, runs;
	/* A batch: the results initialized since the last report, filled together. */
	bool batch_open;
	int batch_max;          /* most samples a peer of the batch has */
	uint64_t last_print;
	char batch_config[160]; /* "" when the batch mixes configurations */
} prog;

double bench_elapsed(void)
{
	return prog.t0 ? (double)(bench_now() - prog.t0) / 1e9 : 0;
}

void bench_progress_begin(const char *name, int index, int total, int runs)
{
	if (!prog.t0)
		prog.t0 = bench_now();
	snprintf(prog.name, sizeof prog.name, "%s", name);
	prog.index = index;
	prog.total = total;
	prog.runs = runs;
	prog.batch_open = false;
	bench_log("[%d/%d %s] %d runs each, median reported  (%.1f s elapsed)\n", index, total,
		  name, runs, bench_elapsed());
}

static void progress_init(const bench_result *r)
{
	if (!prog.batch_open) {
		prog.batch_open = true;
		prog.batch_max = 0;
		prog.last_print = bench_now();
		snprintf(prog.batch_config, sizeof prog.batch_config, "%s", r->config);
	} else if (strcmp(prog.batch_config, r->config) != 0) {
		prog.batch_config[0] = 0;
	}
}

/* Prints "run k/n" when a run's first sample arrives, unless the samples arrive all at once
 * (a benchmark that collects first and adds at the end: it logs its own runs). */
static void progress_add(const bench_peer *p)
{
	uint64_t now = bench_now();

	if (!prog.t0 || p->n <= prog.batch_max)
		return;
	prog.batch_max = p->n;
	if (now - prog.last_print < 20000000ull)
		return;
	prog.last_print = now;
	bench_log("[%d/%d %s] run %d/%d%s%s%s  (%.1f s elapsed)\n", prog.index, prog.total,
		  prog.name, p->n, prog.runs, prog.batch_config[0] ? " (" : "",
		  prog.batch_config, prog.batch_config[0] ? ")" : "", bench_elapsed());
}

/* ---- results -------------------------------------------------------------------------- */

void bench_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

void bench_result_init(bench_result *r, const char *bench, const char *unit,
		       bool higher_is_better, const char *config_fmt, ...)
{
	va_list ap;

	memset(r, 0, sizeof *r);
	r->bench = bench;
	r->unit = unit;
	r->higher_is_better = higher_is_better;
	va_start(ap, config_fmt);
	vsnprintf(r->config, sizeof r->config, config_fmt, ap);
	va_end(ap);
	progress_init(r);
}

int bench_result_peer(bench_result *r, const char *name)
{
	if (r->npeers == BENCH_MAX_PEERS)
		abort(); /* a benchmark bug, not a run-time condition */
	r->peers[r->npeers].name = name;
	return r->npeers++;
}

int bench_result_peer_skipped(bench_result *r, const char *name, const char *skipped)
{
	int k = bench_result_peer(r, name);

	if (skipped)
		bench_result_skip(r, k, skipped);
	return k;
}

void bench_result_pair_failed(bench_result *a, int pa, bench_result *b, int pb)
{
	if (!a->peers[pa].skipped && a->peers[pa].n == 0) {
		bench_result_skip(a, pa, "every run failed");
		bench_result_skip(b, pb, "every run failed");
	}
}

void bench_result_add(bench_result *r, int peer, double value)
{
	bench_peer *p = &r->peers[peer];

	if (p->n < BENCH_MAX_RUNS)
		p->samples[p->n++] = value;
	progress_add(p);
}

void bench_result_skip(bench_result *r, int peer, const char *reason)
{
	r->peers[peer].skipped = reason;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(const bench_peer *p)
{
	double s[BENCH_MAX_RUNS];

	if (p->n == 0)
		return 0;
	memcpy(s, p->samples, (size_t)p->n * sizeof s[0]);
	qsort(s, (size_t)p->n, sizeof s[0], cmp_double);
	return p->n % 2 ? s[p->n / 2] : (s[p->n / 2 - 1] + s[p->n / 2]) / 2;
}

void bench_minmax(const bench_peer *p, double *lo, double *hi)
{
	if (p->n == 0) {
		*lo = *hi = 0;
		return;
	}
	*lo = *hi = p->samples[0];
	for (int i = 1; i < p->n; i++) {
		if (p->samples[i] < *lo)
			*lo = p->samples[i];
		if (p->samples[i] > *hi)
			*hi = p->samples[i];
	}
}

bool bench_peer_usable(const bench_peer *p)
{
	return !p->skipped && p->n > 0;
}

#define usable bench_peer_usable

double bench_spread_pct(const bench_peer *p)
{
	double lo, hi, m = bench_median(p);

	if (p->n < 2 || m == 0)
		return -1;
	bench_minmax(p, &lo, &hi);
	return (hi - lo) / 2 / (m < 0 ? -m : m) * 100;
}

/* ratio > 1 means corio (peer 0) is ahead, whichever direction is better. */
static double ratio(const bench_result *r, const bench_peer *p)
{
	double c = bench_median(&r->peers[0]), v = bench_median(p);

	if (!usable(&r->peers[0]) || !usable(p) || c <= 0 || v <= 0)
		return 0;
	return r->higher_is_better ? c / v : v / c;
}

double bench_result_ratio(const bench_result *r, int peer)
{
	return ratio(r, &r->peers[peer]);
}

/* 4 significant digits up to 99 999, then k/M/G with 3: "9.27M", "585k", "49154". */
void bench_fmt_value(char *buf, size_t len, double v)
{
	static const char suffix[] = "kMGTP";
	double a = v < 0 ? -v : v;

	if (a >= 1e5) {
		int k = 0;

		a /= 1e3;
		v /= 1e3;
		while (a >= 999.5 && k + 1 < (int)sizeof suffix - 1) { /* 999 999 is 1.00M */
			a /= 1e3;
			v /= 1e3;
			k++;
		}
		snprintf(buf, len, "%.3g%c", v, suffix[k]);
	} else if (a >= 10000)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.4g", v);
}

#define fmt_value bench_fmt_value

void bench_short_unit(char *buf, size_t len, const char *unit)
{
	static const char *const times[] = { "ns", "us", "µs", "ms", "s" };
	const char *slash = strchr(unit, '/');
	bool time_per_thing = false;

	/* "ns/switch", "ns/task", "ns/op": a time per thing counted, which the configuration
	 * names: shown as "ns". Rates ("msg/s", "MiB/s", "req/CPU-s") keep their unit. */
	for (size_t i = 0; slash && i < sizeof times / sizeof times[0]; i++)
		time_per_thing |= strlen(times[i]) == (size_t)(slash - unit) &&
				  strncmp(unit, times[i], strlen(times[i])) == 0;
	if (time_per_thing)
		snprintf(buf, len, "%.*s", (int)(slash - unit), unit);
	else
		snprintf(buf, len, "%s", unit);
}

void bench_ratio_words(char *buf, size_t len, const bench_result *r, int peer)
{
	double x = bench_result_ratio(r, peer);

	if (peer == 0 || x <= 0) {
		snprintf(buf, len, "%s", "");
		return;
	}
	x = x >= 1 ? x : 1 / x;
	snprintf(buf, len, "%.*fx %s", x < 10 ? 2 : x < 100 ? 1 : 0, x,
		 bench_result_ratio(r, peer) >= 1 ? "better" : "worse");
}

static void print_human(FILE *f, const bench_result *r)
{
	char v[32], unit[64];
	int ulen;

	bench_short_unit(unit, sizeof unit, r->unit);
	ulen = (int)strlen(unit);

	fprintf(f, "%-9s %-34s", r->bench, r->config);
	for (int i = 0; i < r->npeers; i++) {
		const bench_peer *p = &r->peers[i];

		if (p->skipped) {
			fprintf(f, "  %s skipped (%s)", p->name, p->skipped);
			continue;
		}
		if (p->n == 0)
			continue;
		fmt_value(v, sizeof v, bench_median(p));
		fprintf(f, "  %s %s %.*s", p->name, v, ulen, unit);
	}
	/* Worded so that the direction is never in doubt: "corio 35x better than X". */
	for (int i = 1; i < r->npeers; i++) {
		if (!usable(&r->peers[0]) || !usable(&r->peers[i]))
			continue;
		bench_ratio_words(v, sizeof v, r, i);
		fprintf(f, "  %s %s than %s", r->peers[0].name, v, r->peers[i].name);
	}
	fprintf(f, " (%s is better)", r->higher_is_better ? "higher" : "lower");
	if (r->note[0])
		fprintf(f, "  %s", r->note);
	fputc('\n', f);
	fflush(f);
}

void bench_json_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void print_json(FILE *f, const bench_result *r, const bench_opts *o)
{
	bool any_skipped = false, first;

	fputs("{\"bench\": ", f);
	bench_json_string(f, r->bench);
	fputs(", \"config\": ", f);
	bench_json_string(f, r->config);
	fputs(", \"unit\": ", f);
	bench_json_string(f, r->unit);
	fprintf(f, ", \"higher_is_better\": %s, \"results\": {",
		r->higher_is_better ? "true" : "false");
	for (int i = 0; i < r->npeers; i++) {
		const bench_peer *p = &r->peers[i];

		fprintf(f, "%s", i ? ", " : "");
		bench_json_string(f, p->name);
		if (usable(p))
			fprintf(f, ": %.6g", bench_median(p));
		else
			fputs(": null", f);
		any_skipped |= p->skipped != NULL;
	}
	fprintf(f, "}, \"runs\": %d, \"spread\": {", o->runs);
	first = true;
	for (int i = 0; i < r->npeers; i++) {
		const bench_peer *p = &r->peers[i];
		double lo, hi;

		if (!usable(p))
			continue;
		bench_minmax(p, &lo, &hi);
		fprintf(f, "%s", first ? "" : ", ");
		bench_json_string(f, p->name);
		fprintf(f, ": {\"min\": %.6g, \"max\": %.6g, \"n\": %d}", lo, hi, p->n);
		first = false;
	}
	fputs("}, \"ratio\": {", f);
	first = true;
	for (int i = 1; i < r->npeers; i++) {
		if (!usable(&r->peers[0]) || !usable(&r->peers[i]))
			continue;
		fprintf(f, "%s", first ? "" : ", ");
		bench_json_string(f, r->peers[i].name);
		fprintf(f, ": %.4g", ratio(r, &r->peers[i]));
		first = false;
	}
	fputc('}', f);
	if (any_skipped) {
		fputs(", \"skipped\": {", f);
		first = true;
		for (int i = 0; i < r->npeers; i++) {
			if (!r->peers[i].skipped)
				continue;
			fprintf(f, "%s", first ? "" : ", ");
			bench_json_string(f, r->peers[i].name);
			fputs(": ", f);
			bench_json_string(f, r->peers[i].skipped);
			first = false;
		}
		fputc('}', f);
	}
	fputs("}\n", f);
	fflush(f);
}

void bench_xml_string(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

/* ---- what the run collected ------------------------------------------------------------ */

static bench_result *all;
static int nall, capall;

static const char *keep(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	return d ? d : "";
}

static void record(const bench_result *r)
{
	bench_result *c;

	if (nall == capall) {
		int cap = capall ? 2 * capall : 32;
		bench_result *n = realloc(all, (size_t)cap * sizeof *n);

		if (!n) {
			bench_log("corio-bench: out of memory: result not kept for the report\n");
			return;
		}
		all = n;
		capall = cap;
	}
	c = &all[nall++];
	*c = *r;
	/* The benchmark's strings may live on its stack: copies. */
	c->bench = keep(r->bench);
	c->unit = keep(r->unit);
	for (int i = 0; i < r->npeers; i++) {
		c->peers[i].name = keep(r->peers[i].name);
		c->peers[i].skipped = keep(r->peers[i].skipped);
	}
}

const bench_result *bench_results(int *n)
{
	*n = nall;
	return all;
}

void bench_result_report(const bench_result *r, const bench_opts *o)
{
	/* Human lines are progress (stderr); stdout has the table at the end, or, with --json,
	 * nothing but the JSON objects. */
	print_human(stderr, r);
	if (o->json)
		print_json(stdout, r, o);
	record(r);
	prog.batch_open = false;
}
