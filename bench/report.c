/* bench/report.c: collecting samples, the median and spread, and printing a result: one
 * human line (stdout, or stderr under --json) and, with --json, one JSON object on stdout. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

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
}

int bench_result_peer(bench_result *r, const char *name)
{
	if (r->npeers == BENCH_MAX_PEERS)
		abort(); /* a benchmark bug, not a run-time condition */
	r->peers[r->npeers].name = name;
	return r->npeers++;
}

void bench_result_add(bench_result *r, int peer, double value)
{
	bench_peer *p = &r->peers[peer];

	if (p->n < BENCH_MAX_RUNS)
		p->samples[p->n++] = value;
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

static void minmax(const bench_peer *p, double *lo, double *hi)
{
	*lo = *hi = p->samples[0];
	for (int i = 1; i < p->n; i++) {
		if (p->samples[i] < *lo)
			*lo = p->samples[i];
		if (p->samples[i] > *hi)
			*hi = p->samples[i];
	}
}

static bool usable(const bench_peer *p)
{
	return !p->skipped && p->n > 0;
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

static void fmt_value(char *buf, size_t len, double v)
{
	if (v >= 10000)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.4g", v);
}

static void print_human(FILE *f, const bench_result *r)
{
	size_t ulen = strcspn(r->unit, "/"); /* "ns/switch" is shown as "ns" */
	char v[32];

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
		fprintf(f, "  %s %s %.*s", p->name, v, (int)ulen, r->unit);
	}
	/* Worded so that the direction is never in doubt: "corio 35x better than X". */
	for (int i = 1; i < r->npeers; i++) {
		double x;

		if (!usable(&r->peers[0]) || !usable(&r->peers[i]))
			continue;
		x = ratio(r, &r->peers[i]);
		fprintf(f, "  corio %.3gx %s than %s", x >= 1 ? x : 1 / x,
			x >= 1 ? "better" : "worse", r->peers[i].name);
	}
	fprintf(f, " (%s is better)", r->higher_is_better ? "higher" : "lower");
	if (r->note[0])
		fprintf(f, "  %s", r->note);
	fputc('\n', f);
	fflush(f);
}

static void json_string(FILE *f, const char *s)
{
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
	json_string(f, r->bench);
	fputs(", \"config\": ", f);
	json_string(f, r->config);
	fputs(", \"unit\": ", f);
	json_string(f, r->unit);
	fprintf(f, ", \"higher_is_better\": %s, \"results\": {",
		r->higher_is_better ? "true" : "false");
	for (int i = 0; i < r->npeers; i++) {
		const bench_peer *p = &r->peers[i];

		fprintf(f, "%s", i ? ", " : "");
		json_string(f, p->name);
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
		minmax(p, &lo, &hi);
		fprintf(f, "%s", first ? "" : ", ");
		json_string(f, p->name);
		fprintf(f, ": {\"min\": %.6g, \"max\": %.6g, \"n\": %d}", lo, hi, p->n);
		first = false;
	}
	fputs("}, \"ratio\": {", f);
	first = true;
	for (int i = 1; i < r->npeers; i++) {
		if (!usable(&r->peers[0]) || !usable(&r->peers[i]))
			continue;
		fprintf(f, "%s", first ? "" : ", ");
		json_string(f, r->peers[i].name);
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
			json_string(f, r->peers[i].name);
			fputs(": ", f);
			json_string(f, r->peers[i].skipped);
			first = false;
		}
		fputc('}', f);
	}
	fputs("}\n", f);
	fflush(f);
}

void bench_result_report(const bench_result *r, const bench_opts *o)
{
	print_human(o->json ? stderr : stdout, r);
	if (o->json)
		print_json(stdout, r, o);
}
