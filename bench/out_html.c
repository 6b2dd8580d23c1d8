/* bench/out_html.c: bench-results/index.html, one self-contained page (no script, no network):
 * the run and the machine, the results table (the same rows as the printed table, with every
 * sample in a tooltip) and the chart inlined. */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

#define esc bench_xml_string

static void value_td(FILE *f, const bench_peer *p, const char *unit, int rowspan,
		     const char *label)
{
	char v[32];
	double sp;

	if (rowspan > 1)
		fprintf(f, "<td class=\"num\" rowspan=\"%d\"", rowspan);
	else
		fputs("<td class=\"num\"", f);
	if (p->skipped) {
		fputs("><span class=\"skip\">skipped: ", f);
		esc(f, p->skipped);
		fputs("</span></td>", f);
		return;
	}
	if (p->n == 0) {
		fputs("><span class=\"skip\">failed</span></td>", f);
		return;
	}
	fputs(" title=\"runs:", f);
	for (int k = 0; k < p->n; k++) {
		char s[32];

		bench_fmt_value(s, sizeof s, p->samples[k]);
		fprintf(f, " %s", s);
	}
	fputs("\">", f);
	if (label) {
		fputs("<span class=\"unit\">", f);
		esc(f, label);
		fputs(":</span> ", f);
	}
	bench_fmt_value(v, sizeof v, bench_median(p));
	fprintf(f, "%s <span class=\"unit\">", v);
	esc(f, unit);
	fputs("</span>", f);
	sp = bench_spread_pct(p);
	if (sp >= 0)
		fprintf(f, " <span class=\"spread\">±%.*f%%</span>", sp < 10 ? 1 : 0, sp);
	fputs("</td>", f);
}

static void result_rows(FILE *f, const bench_result *r, bool first_of_bench, int bench_rows)
{
	int rows = r->npeers > 1 ? r->npeers - 1 : 1;
	char unit[64];

	bench_short_unit(unit, sizeof unit, r->unit);
	for (int i = 1; i < r->npeers || (i == 1 && r->npeers <= 1); i++) {
		fputs(i == 1 ? "<tr class=\"first\">" : "<tr>", f);
		if (i == 1) {
			if (first_of_bench) {
				fprintf(f, "<th rowspan=\"%d\" class=\"bench\">", bench_rows);
				esc(f, r->bench);
				fputs("</th>", f);
			}
			fprintf(f, "<td rowspan=\"%d\" class=\"cfg\">", rows);
			esc(f, r->config);
			fprintf(f, "</td><td rowspan=\"%d\">", rows);
			esc(f, r->unit);
			fprintf(f, "</td><td rowspan=\"%d\" class=\"dir\">%s</td>", rows,
				r->higher_is_better ? "▲ higher" : "▼ lower");
			if (r->npeers > 0)
				value_td(f, &r->peers[0], unit, rows,
					 strcmp(r->peers[0].name, "corio") ? r->peers[0].name : NULL);
			else
				fprintf(f, "<td rowspan=\"%d\"></td>", rows);
		}
		if (i < r->npeers) {
			char words[64];
			double x = bench_result_ratio(r, i);

			fputs("<td>", f);
			esc(f, r->peers[i].name);
			fputs("</td>", f);
			value_td(f, &r->peers[i], unit, 1, NULL);
			bench_ratio_words(words, sizeof words, r, i);
			fprintf(f, "<td class=\"num %s\">", x <= 0 ? "" : x >= 1 ? "good" : "bad");
			esc(f, words);
			fputs("</td>", f);
		} else {
			fputs("<td class=\"skip\">no peer</td><td></td><td></td>", f);
		}
		if (i == 1) {
			const char *cls = strstr(r->note, "MISSED") ? "bad"
					  : strstr(r->note, "met")  ? "good"
								    : "";

			fprintf(f, "<td rowspan=\"%d\" class=\"note %s\">", rows, cls);
			esc(f, r->note);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
}

int bench_write_html(FILE *f, const bench_status *st, int nst, const char *svg)
{
	const bench_env *e = &bench_environment;
	int nres;
	const bench_result *res = bench_results(&nres);

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>corio-bench results</title>\n<style>\n"
	      "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;color:#0f172a;"
	      "margin:24px;max-width:1400px}\n"
	      "h1{margin:0 0 4px}h2{margin:28px 0 8px}\n"
	      ".meta{color:#475569;margin:0 0 12px}\n"
	      "table{border-collapse:collapse;font-size:13px}\n"
	      "th,td{padding:4px 10px;border-bottom:1px solid #e2e8f0;text-align:left;"
	      "vertical-align:top}\n"
	      "thead th{white-space:nowrap}td.cfg{min-width:17em}\n"
	      "thead th{background:#f1f5f9;border-bottom:2px solid #cbd5e1;position:sticky;top:0}\n"
	      "tr.first td,tr.first th{border-top:1px solid #94a3b8}\n"
	      "th.bench{font-size:14px;background:#f8fafc}\n"
	      ".num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
	      ".unit,.spread{color:#64748b}.spread{font-size:11px}\n"
	      ".dir{white-space:nowrap;font-weight:bold}\n"
	      ".good{color:#15803d}.bad{color:#b91c1c}\n"
	      ".skip{color:#94a3b8;font-style:italic}\n"
	      ".note{font-size:12px;color:#475569}.note.good{color:#15803d}.note.bad{color:#b91c1c}\n"
	      "table.env th{background:none;font-weight:bold;white-space:nowrap}\n"
	      ".chart{overflow-x:auto;border:1px solid #e2e8f0;border-radius:6px}\n"
	      ".chart svg{display:block}\n"
	      "</style>\n</head>\n<body>\n<h1>corio-bench results</h1>\n",
	      f);
	fprintf(f, "<p class=\"meta\">%s to %s (%.0f s) · <code>", e->started, e->finished,
		e->duration_s);
	esc(f, e->cmdline);
	fprintf(f, "</code> · %d runs per benchmark%s, %g s per timed measurement, medians "
		   "shown; ± is half the min..max range "
		   "of the runs in %% of the median (hover a value for every run)."
		   " Raw numbers: <a href=\"results.json\">results.json</a>; chart alone: "
		   "<a href=\"report.svg\">report.svg</a>.</p>\n",
		e->runs, e->quick ? " (--quick)" : "", e->secs);

	fputs("<h2>Machine</h2>\n<table class=\"env\">\n<tr><th>CPU</th><td>", f);
	esc(f, e->cpu);
	fprintf(f, ", %ld cores</td></tr>\n<tr><th>Kernel</th><td>Linux ", e->cores);
	esc(f, e->kernel);
	fputc(' ', f);
	esc(f, e->arch);
	fputs("</td></tr>\n<tr><th>io_uring</th><td>", f);
	esc(f, e->ring_flags);
	fprintf(f, " (sq %u, cq %u%s%s)</td></tr>\n", e->sq_entries, e->cq_entries,
		e->ring_fd_registered ? ", ring fd registered" : "",
		e->post_msg_ring ? ", MSG_RING" : "");
	fprintf(f, "<tr><th>Load at start</th><td>%.2f%s</td></tr>\n", e->loadavg,
		e->loadavg > 0.5 * (double)e->cores
			? " <span class=\"bad\">(other work was running: noisy numbers)</span>"
			: "");
	fputs("<tr><th>Build</th><td>", f);
	fputs(e->optimized ? "optimized" : "<span class=\"bad\">UNOPTIMIZED: numbers not representative</span>", f);
	if (e->compiler[0]) {
		fputs(", ", f);
		esc(f, e->compiler);
	}
	if (e->source[0]) {
		fputs(", source ", f);
		esc(f, e->source);
	}
	fputs("</td></tr>\n<tr><th>Peers</th><td>", f);
	for (int i = 0; i < e->nversions; i++) {
		fputs(i ? ", " : "", f);
		esc(f, e->versions[i].name);
		fputc(' ', f);
		if (e->versions[i].version[0])
			esc(f, e->versions[i].version);
		else
			fputs("<span class=\"skip\">not installed</span>", f);
	}
	fputs("</td></tr>\n</table>\n", f);

	fputs("<h2>Results</h2>\n<p class=\"meta\">\"corio vs peer\": corio's median against the "
	      "peer's, worded from corio's side in the direction the \"better\" column names "
	      "(\"3x better\": corio is ahead).</p>\n"
	      "<table class=\"results\">\n<thead><tr><th>benchmark</th><th>configuration</th>"
	      "<th>unit</th><th>better</th><th>corio</th><th>peer</th><th>peer value</th>"
	      "<th>corio vs peer</th><th>note</th></tr></thead>\n<tbody>\n",
	      f);
	for (int b = 0; b < nst; b++) {
		int rows = 0;

		for (int k = 0; k < st[b].nresults; k++) {
			const bench_result *r = &res[st[b].first_result + k];

			rows += r->npeers > 1 ? r->npeers - 1 : 1;
		}
		for (int k = 0; k < st[b].nresults; k++)
			result_rows(f, &res[st[b].first_result + k], k == 0, rows);
		if (st[b].failed || st[b].nresults == 0) {
			fputs("<tr class=\"first\"><th class=\"bench\">", f);
			esc(f, st[b].name);
			fprintf(f, "</th><td colspan=\"8\" class=\"bad\">%s</td></tr>\n",
				st[b].failed ? (st[b].nresults ? "failed part-way: the results above are "
								  "incomplete (see the log)"
							       : "FAILED: no results (see the log)")
					     : "no results");
		}
	}
	fputs("</tbody>\n</table>\n<h2>Chart</h2>\n<div class=\"chart\">\n", f);
	if (svg)
		fputs(svg, f);
	fputs("</div>\n</body>\n</html>\n", f);
	return ferror(f) ? -1 : 0;
}
