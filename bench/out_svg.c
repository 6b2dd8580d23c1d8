/* bench/out_svg.c: bench-results/report.svg, hand-written SVG with no dependencies.
 *
 * One panel per result, two panels a row, grouped under a heading per benchmark. A panel has
 * one horizontal bar per contender (corio blue, corio variants light blue, peers grey),
 * normalised to the best contender: the best bar is the longest, whichever direction the
 * unit is better in (higher is better: value / best; lower is better: best / value), so a
 * longer bar is always better. Each bar is labelled with its median and unit, its spread,
 * and for a peer the ratio worded from corio's side ("corio 30.2x better"); a thin whisker
 * spans the runs' min..max on the same scale. Skipped peers say why. The panel's subtitle
 * states the unit and "higher/lower is better"; the benchmark's note (a target and whether
 * it was met) closes the panel.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

#define W 1240
#define MARGIN 20
#define GAP 20
#define PW ((W - 2 * MARGIN - GAP) / 2)
#define LABEL_W 136 /* contender names, right-aligned */
#define VALUE_W 262 /* the value label after the longest bar */
#define BAR_H 16
#define ROW_H 24
#define OVER 1.12 /* how far past the best bar a whisker is drawn */
#define FONT "DejaVu Sans, Helvetica, Arial, sans-serif"

/* Width of s in pixels at size px, roughly (DejaVu Sans metrics; a little generous). */
static double text_w(const char *s, double px)
{
	double w = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c & 0xc0) == 0x80)
			continue;
		if (strchr("il.,:;|!'()[] ", c))
			w += 0.34;
		else if (strchr("mwMW%", c))
			w += 0.92;
		else if (c >= 'A' && c <= 'Z')
			w += 0.72;
		else
			w += 0.62;
	}
	return w * px;
}

/* s cut to fit max_px at size px, with an ellipsis. */
static void fit(char *out, size_t len, const char *s, double px, double max_px)
{
	size_t n = strlen(s);

	snprintf(out, len, "%s", s);
	while (n > 0 && text_w(out, px) > max_px) {
		n--;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		snprintf(out, len, "%.*s…", (int)n, s);
	}
}

static void text(FILE *f, double x, double y, const char *cls, const char *anchor,
		 const char *s)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"%s\"%s%s%s>", x, y, cls,
		anchor ? " text-anchor=\"" : "", anchor ? anchor : "", anchor ? "\"" : "");
	bench_xml_string(f, s);
	fputs("</text>\n", f);
}

static void textf(FILE *f, double x, double y, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void textf(FILE *f, double x, double y, const char *cls, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	text(f, x, y, cls, NULL, buf);
}

static bool corio_like(const char *name)
{
	return strncmp(name, "corio", 5) == 0;
}

/* Normalised score of v: 1 for the best, smaller for the others. */
static double score(const bench_result *r, double best, double v)
{
	if (v <= 0 || best <= 0)
		return 0;
	return r->higher_is_better ? v / best : best / v;
}

static int panel_height(const bench_result *r)
{
	return 30 + 18 + r->npeers * ROW_H + (r->note[0] ? 20 : 0) + 12;
}

static void panel(FILE *f, const bench_result *r, double x, double y, int h)
{
	double best = 0, maxw = 1, scale, bx = x + 10 + LABEL_W + 8;
	double bw = PW - 10 - LABEL_W - 8 - VALUE_W;
	char buf[256], unit[64];
	double yy;

	/* The best median, and the longest whisker (a run better than the best median). */
	for (int i = 0; i < r->npeers; i++) {
		const bench_peer *p = &r->peers[i];
		double m = bench_median(p);

		if (!bench_peer_usable(p) || m <= 0)
			continue;
		if (best == 0 || (r->higher_is_better ? m > best : m < best))
			best = m;
	}
	for (int i = 0; i < r->npeers; i++) {
		const bench_peer *p = &r->peers[i];
		double lo, hi;

		if (!bench_peer_usable(p) || best == 0)
			continue;
		bench_minmax(p, &lo, &hi);
		maxw = fmax(maxw, score(r, best, r->higher_is_better ? hi : lo));
	}
	/* A whisker may reach past the best bar by OVER at most (then it is cut, open-ended):
	 * the best bar stays long, whatever one lucky run did. */
	maxw = fmin(maxw, OVER);
	scale = bw / maxw;
	bench_short_unit(unit, sizeof unit, r->unit);

	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" rx=\"6\" "
		   "class=\"cb-panel\"/>\n",
		x, y, PW, h);
	fit(buf, sizeof buf, r->config, 13, PW - 20);
	text(f, x + 10, y + 20, "cb-title", NULL, buf);
	/* The direction in bold, the rest plain. */
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"cb-sub\">", x + 10, y + 37);
	bench_xml_string(f, r->unit);
	fputs(", <tspan class=\"cb-dir\">", f);
	fputs(r->higher_is_better ? "▲ higher is better" : "▼ lower is better", f);
	fputs("</tspan> · longer bar = better</text>\n", f);

	yy = y + 48;
	for (int i = 0; i < r->npeers; i++, yy += ROW_H) {
		const bench_peer *p = &r->peers[i];
		double m = bench_median(p), s, lo, hi, sp, end;
		char v[32], words[64], label[192];
		const char *cls = i == 0 ? "cb-corio" : corio_like(p->name) ? "cb-variant" : "cb-peer";

		fit(buf, sizeof buf, p->name, 12, LABEL_W);
		text(f, bx - 8, yy + 12.5, i == 0 ? "cb-name cb-b" : "cb-name", "end", buf);
		if (p->skipped || p->n == 0) {
			snprintf(label, sizeof label, "%s%s", p->skipped ? "skipped: " : "failed",
				 p->skipped ? p->skipped : "");
			fit(buf, sizeof buf, label, 11, bw + VALUE_W - 10);
			text(f, bx, yy + 12.5, "cb-skip", NULL, buf);
			continue;
		}
		s = score(r, best, m);
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" rx=\"2\" "
			   "class=\"%s\"><title>",
			bx, yy + 2, fmax(s * scale, 1.5), BAR_H, cls);
		bench_xml_string(f, p->name);
		fprintf(f, ": median %.6g %s of %d runs", m, r->unit, p->n);
		fputs("</title></rect>\n", f);
		end = s * scale;
		bench_minmax(p, &lo, &hi);
		if (p->n > 1 && lo > 0) {
			double a = score(r, best, lo), b = score(r, best, hi);
			double cy = yy + 2 + BAR_H / 2.0;
			bool cut;

			if (a > b) {
				double t = a;

				a = b;
				b = t;
			}
			cut = b > maxw;
			a = fmin(a, maxw) * scale;
			b = fmin(b, maxw) * scale;
			fprintf(f, "<path d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1f", bx + a, cy, bx + b, bx + a,
				cy - 4, cy + 4);
			if (!cut)
				fprintf(f, "M%.1f %.1fV%.1f", bx + b, cy - 4, cy + 4);
			fputs("\" class=\"cb-whisker\"/>\n", f);
			end = fmax(end, b);
		}
		bench_fmt_value(v, sizeof v, m);
		sp = bench_spread_pct(p);
		/* The best value in bold. */
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"cb-val\"><tspan%s>", bx + end + 6,
			yy + 12.5, s >= 0.9999 ? " class=\"cb-b\"" : "");
		bench_xml_string(f, v);
		fputs("</tspan>&#160;", f);
		bench_xml_string(f, unit);
		if (sp >= 0)
			fprintf(f, "&#160;<tspan class=\"cb-spread\">±%.*f%%</tspan>", sp < 10 ? 1 : 0,
				sp);
		bench_ratio_words(words, sizeof words, r, i);
		if (words[0]) {
			fprintf(f, "&#160;<tspan class=\"cb-ratio %s\">·&#160;",
				bench_result_ratio(r, i) >= 1 ? "cb-good" : "cb-bad");
			bench_xml_string(f, r->peers[0].name); /* "corio", or "corio-load" */
			fputc(' ', f);
			bench_xml_string(f, words);
			fputs("</tspan>", f);
		}
		fputs("</text>\n", f);
	}
	if (r->note[0]) {
		const char *cls = strstr(r->note, "MISSED") ? "cb-note cb-bad"
				  : strstr(r->note, "met")  ? "cb-note cb-good"
							    : "cb-note";

		fit(buf, sizeof buf, r->note, 11, PW - 20);
		text(f, x + 10, yy + 14, cls, NULL, buf);
	}
}

int bench_write_svg(FILE *f, const bench_status *st, int nst)
{
	const bench_env *e = &bench_environment;
	int nres, height = 0;
	const bench_result *res = bench_results(&nres);
	double y;

	/* Height first: the header, then per benchmark a heading and rows of two panels. */
	height = 112;
	for (int b = 0; b < nst; b++) {
		height += 40;
		for (int k = 0; k < st[b].nresults; k += 2) {
			int h1 = panel_height(&res[st[b].first_result + k]);
			int h2 = k + 1 < st[b].nresults ? panel_height(&res[st[b].first_result + k + 1])
							: 0;

			height += (h1 > h2 ? h1 : h2) + 14;
		}
		if (st[b].nresults == 0)
			height += 10;
	}
	height += 10;

	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" font-family=\"%s\" role=\"img\" "
		   "aria-label=\"corio-bench results\">\n",
		W, height, W, height, FONT);
	fputs("<style>\n"
	      ".cb-bg{fill:#ffffff}\n"
	      ".cb-panel{fill:#f8fafc;stroke:#d7dde5;stroke-width:1}\n"
	      ".cb-h1{font-size:22px;font-weight:bold;fill:#0f172a}\n"
	      ".cb-h2{font-size:17px;font-weight:bold;fill:#0f172a}\n"
	      ".cb-desc{font-size:12px;fill:#475569}\n"
	      ".cb-meta{font-size:12px;fill:#334155}\n"
	      ".cb-title{font-size:13px;font-weight:bold;fill:#0f172a}\n"
	      ".cb-sub{font-size:11px;fill:#64748b}\n"
	      ".cb-dir{font-weight:bold;fill:#0f172a}\n"
	      ".cb-name{font-size:12px;fill:#1e293b}\n"
	      ".cb-b{font-weight:bold}\n"
	      ".cb-val{font-size:11.5px;fill:#0f172a}\n"
	      ".cb-spread{fill:#64748b;font-weight:normal}\n"
	      ".cb-ratio{font-weight:normal}\n"
	      ".cb-skip{font-size:11px;font-style:italic;fill:#94a3b8}\n"
	      ".cb-note{font-size:11px;fill:#475569}\n"
	      ".cb-good{fill:#15803d}\n"
	      ".cb-bad{fill:#b91c1c}\n"
	      ".cb-corio{fill:#2563eb}\n"
	      ".cb-variant{fill:#93c5fd}\n"
	      ".cb-peer{fill:#a3aab5}\n"
	      ".cb-whisker{stroke:#0f172a;stroke-width:1.2;fill:none;opacity:.55}\n"
	      ".cb-fail{font-size:13px;font-weight:bold;fill:#b91c1c}\n"
	      "</style>\n",
	      f);
	fprintf(f, "<rect class=\"cb-bg\" width=\"%d\" height=\"%d\"/>\n", W, height);
	text(f, MARGIN, 34, "cb-h1", NULL, "corio-bench");
	textf(f, MARGIN + 150, 34, "cb-meta",
	      "%s · %s, %ld cores, Linux %s %s · %d runs%s, %g s per timed measurement, medians",
	      e->started, e->cpu, e->cores, e->kernel, e->arch, e->runs,
	      e->quick ? " (--quick)" : "", e->secs);
	textf(f, MARGIN, 58, "cb-meta", "io_uring: %s (sq %u, cq %u)", e->ring_flags,
	      e->sq_entries, e->cq_entries);
	/* The legend: how to read a panel. */
	fprintf(f, "<rect x=\"%d\" y=\"72\" width=\"14\" height=\"12\" rx=\"2\" class=\"cb-corio\"/>\n",
		MARGIN);
	text(f, MARGIN + 20, 82, "cb-meta", NULL, "corio");
	fprintf(f, "<rect x=\"%d\" y=\"72\" width=\"14\" height=\"12\" rx=\"2\" class=\"cb-variant\"/>\n",
		MARGIN + 70);
	text(f, MARGIN + 90, 82, "cb-meta", NULL, "corio variant");
	fprintf(f, "<rect x=\"%d\" y=\"72\" width=\"14\" height=\"12\" rx=\"2\" class=\"cb-peer\"/>\n",
		MARGIN + 190);
	text(f, MARGIN + 210, 82, "cb-meta", NULL, "peer");
	fprintf(f, "<path d=\"M%d 78H%dM%d 74V82M%d 74V82\" class=\"cb-whisker\"/>\n", MARGIN + 258,
		MARGIN + 282, MARGIN + 258, MARGIN + 282);
	text(f, MARGIN + 290, 82, "cb-meta", NULL,
	     "min..max of the runs.   Each panel is normalised to its best contender: the longest "
	     "bar is the best,");
	text(f, MARGIN, 100, "cb-meta", NULL,
	     "whether higher or lower is better. Labels: median, unit, ± half the min..max range "
	     "in % of the median; for a peer, corio against it (\"corio 3x better\": corio ahead).");

	y = 112;
	for (int b = 0; b < nst; b++) {
		char head[512];

		y += 28;
		text(f, MARGIN, y, "cb-h2", NULL, st[b].name);
		fit(head, sizeof head, st[b].desc ? st[b].desc : "", 12,
		    W - 2 * MARGIN - text_w(st[b].name, 17) - 20 -
			    (st[b].failed || st[b].nresults == 0 ? 300 : 0));
		text(f, MARGIN + text_w(st[b].name, 17) + 12, y, "cb-desc", NULL, head);
		if (st[b].failed)
			text(f, W - MARGIN, y, "cb-fail", "end",
			     st[b].nresults ? "failed part-way: some results missing"
					    : "FAILED: no results (see the log)");
		else if (st[b].nresults == 0)
			text(f, W - MARGIN, y, "cb-fail", "end", "no results");
		y += 12;
		for (int k = 0; k < st[b].nresults; k += 2) {
			const bench_result *r1 = &res[st[b].first_result + k];
			const bench_result *r2 = k + 1 < st[b].nresults ? r1 + 1 : NULL;
			int h1 = panel_height(r1), h2 = r2 ? panel_height(r2) : 0;
			int h = h1 > h2 ? h1 : h2;

			panel(f, r1, MARGIN, y, h);
			if (r2)
				panel(f, r2, MARGIN + PW + GAP, y, h);
			y += h + 14;
		}
		if (st[b].nresults == 0)
			y += 10;
	}
	fputs("</svg>\n", f);
	return ferror(f) ? -1 : 0;
}
