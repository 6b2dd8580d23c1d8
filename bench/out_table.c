/* bench/out_table.c: the table printed after a run: a header with the machine, then one line
 * per result and peer: benchmark, configuration, unit, which direction is better, corio's
 * median and spread, the peer's, and the ratio worded so that the direction is never in
 * doubt ("30.2x better" means corio is ahead). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

enum { C_BENCH, C_CONFIG, C_UNIT, C_BETTER, C_CORIO, C_PEER, C_PEERVAL, C_RATIO, C_NOTE, NCOL };

static const char *const heads[NCOL] = { "benchmark",	  "configuration", "unit",
					 "better",	  "corio",	   "peer",
					 "peer value",	  "corio vs peer", "note" };

typedef struct row {
	char s[NCOL][200];
} row;

/* "7.69 ±13%" */
static void value_cell(char *buf, size_t len, const bench_peer *p)
{
	char v[32];
	double sp;

	if (p->skipped) {
		snprintf(buf, len, "skipped (%s)", p->skipped);
		return;
	}
	if (p->n == 0) {
		snprintf(buf, len, "failed");
		return;
	}
	bench_fmt_value(v, sizeof v, bench_median(p));
	sp = bench_spread_pct(p);
	if (sp < 0)
		snprintf(buf, len, "%s", v);
	else
		snprintf(buf, len, "%s ±%.*f%%", v, sp < 10 ? 1 : 0, sp);
}

/* The rows of one result: the first carries the benchmark, corio and the note. */
static int result_rows(const bench_result *r, row *out, int max)
{
	int n = 0;

	for (int i = 1; i < r->npeers || (i == 1 && n == 0); i++) {
		row *w;

		if (n == max)
			break;
		w = &out[n];
		memset(w, 0, sizeof *w);
		if (n == 0) {
			snprintf(w->s[C_BENCH], sizeof w->s[0], "%s", r->bench);
			snprintf(w->s[C_CONFIG], sizeof w->s[0], "%s", r->config);
			snprintf(w->s[C_UNIT], sizeof w->s[0], "%s", r->unit);
			snprintf(w->s[C_BETTER], sizeof w->s[0], "%s",
				 r->higher_is_better ? "higher" : "lower");
			if (r->npeers > 0) {
				char v[160];

				/* The column is corio's; another name (corio-load) is shown. */
				value_cell(v, sizeof v, &r->peers[0]);
				if (strcmp(r->peers[0].name, "corio") == 0)
					snprintf(w->s[C_CORIO], sizeof w->s[0], "%s", v);
				else
					snprintf(w->s[C_CORIO], sizeof w->s[0], "%s: %s",
						 r->peers[0].name, v);
			}
			snprintf(w->s[C_NOTE], sizeof w->s[0], "%s", r->note);
		}
		if (i < r->npeers) {
			const bench_peer *p = &r->peers[i];

			snprintf(w->s[C_PEER], sizeof w->s[0], "%s", p->name);
			value_cell(w->s[C_PEERVAL], sizeof w->s[0], p);
			bench_ratio_words(w->s[C_RATIO], sizeof w->s[0], r, i);
		} else {
			snprintf(w->s[C_PEER], sizeof w->s[0], "-");
		}
		n++;
	}
	return n;
}

/* Display width of a UTF-8 string (the ± is two bytes, one column). */
static int width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void pad(FILE *f, const char *s, int w, bool last)
{
	fputs(s, f);
	if (!last)
		for (int k = width(s); k < w + 2; k++)
			fputc(' ', f);
}

void bench_write_table(FILE *f, const bench_status *st, int nst)
{
	const bench_env *e = &bench_environment;
	int nres, nrows = 0, w[NCOL];
	const bench_result *res = bench_results(&nres);
	int maxrows = nst + nres * BENCH_MAX_PEERS;
	row *rows = calloc((size_t)maxrows, sizeof *rows);

	if (!rows)
		return;
	for (int c = 0; c < NCOL; c++)
		w[c] = width(heads[c]);
	/* Failed benchmarks get a row of their own, in run order. */
	for (int b = 0; b < nst; b++) {
		for (int k = st[b].first_result; k < st[b].first_result + st[b].nresults; k++)
			nrows += result_rows(&res[k], rows + nrows, maxrows - nrows);
		if ((st[b].failed || st[b].nresults == 0) && nrows < maxrows) {
			memset(&rows[nrows], 0, sizeof rows[0]);
			snprintf(rows[nrows].s[C_BENCH], sizeof rows[0].s[0], "%s", st[b].name);
			snprintf(rows[nrows].s[C_CONFIG], sizeof rows[0].s[0], "%s",
				 st[b].failed ? "FAILED (see the log above)" : "no results");
			nrows++;
		}
	}
	for (int i = 0; i < nrows; i++)
		for (int c = 0; c < NCOL; c++)
			if (width(rows[i].s[c]) > w[c])
				w[c] = width(rows[i].s[c]);

	fputc('\n', f);
	fprintf(f, "corio-bench results, %s: %d runs per benchmark%s, %g s per timed "
		   "measurement, median shown; ±: half the min..max range of the runs, in %% of "
		   "the median\n",
		e->started, e->runs, e->quick ? " (--quick)" : "", e->secs);
	fprintf(f, "machine: %s, %ld cores, Linux %s %s%s\n", e->cpu, e->cores, e->kernel,
		e->arch, e->optimized ? "" : "  (UNOPTIMIZED BUILD: numbers not representative)");
	fprintf(f, "ring:    %s (sq %u, cq %u%s%s)\n", e->ring_flags, e->sq_entries,
		e->cq_entries, e->ring_fd_registered ? ", ring fd registered" : "",
		e->post_msg_ring ? ", MSG_RING" : "");
	fputs("peers:  ", f);
	for (int i = 0; i < e->nversions; i++)
		fprintf(f, "%s %s %s", i ? "," : "", e->versions[i].name,
			e->versions[i].version[0] ? e->versions[i].version : "(not installed)");
	fputc('\n', f);
	if (e->loadavg > 0.5 * (double)e->cores)
		fprintf(f, "load:    %.2f at the start on %ld cores: other work was running, the "
			   "numbers are noisy\n", e->loadavg, e->cores);
	fputs("ratio:   corio's median against the peer's, \"Nx better\" when corio is ahead in "
	      "the direction the \"better\" column names\n\n", f);

	for (int c = 0; c < NCOL; c++)
		pad(f, heads[c], w[c], c == NCOL - 1);
	fputc('\n', f);
	for (int c = 0; c < NCOL; c++) {
		for (int k = 0; k < w[c] && c < NCOL - 1; k++)
			fputc('-', f);
		if (c == NCOL - 1)
			for (int k = 0; k < width(heads[c]); k++)
				fputc('-', f);
		else
			fputs("  ", f);
	}
	fputc('\n', f);
	for (int i = 0; i < nrows; i++) {
		int last = NCOL - 1;

		while (last > 0 && !rows[i].s[last][0])
			last--;
		for (int c = 0; c <= last; c++)
			pad(f, rows[i].s[c], w[c], c == last);
		fputc('\n', f);
	}
	fputc('\n', f);
	free(rows);
}
