/* bench/out_json.c: bench-results/results.json: the whole run in one document: when, the
 * command, the machine and ring, the peers' versions, each benchmark's status, and every
 * result with all its raw samples, the median, the spread and the ratios.
 *
 *   { "format": "corio-bench/1", "started", "finished", "duration_s", "command", "quick",
 *     "runs", "environment": {...}, "versions": {"fio": "3.33" | null, ...},
 *     "benchmarks": [{"name", "desc", "status": "ok"|"failed", "elapsed_s", "results": N}],
 *     "results": [{"bench", "config", "unit", "higher_is_better", "note",
 *                  "results": {peer: median | null},
 *                  "ratio": {peer: corio-vs-peer, > 1 when corio is ahead},
 *                  "peers": [{"name", "median", "min", "max", "spread_pct", "n",
 *                             "samples": [...], "skipped": reason | null}]}] }
 */
#include <math.h>
#include <stdio.h>

#include "bench/bench.h"

static void num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.9g", v);
	else
		fputs("null", f);
}

static void kv_str(FILE *f, const char *k, const char *v, bool comma)
{
	fprintf(f, "%s\"%s\": ", comma ? ", " : "", k);
	bench_json_string(f, v);
}

static void write_result(FILE *f, const bench_result *r)
{
	bool first = true;

	fputs("    {", f);
	kv_str(f, "bench", r->bench, false);
	kv_str(f, "config", r->config, true);
	kv_str(f, "unit", r->unit, true);
	fprintf(f, ", \"higher_is_better\": %s", r->higher_is_better ? "true" : "false");
	kv_str(f, "note", r->note, true);
	fputs(",\n     \"results\": {", f);
	for (int i = 0; i < r->npeers; i++) {
		fputs(i ? ", " : "", f);
		bench_json_string(f, r->peers[i].name);
		fputs(": ", f);
		if (bench_peer_usable(&r->peers[i]))
			num(f, bench_median(&r->peers[i]));
		else
			fputs("null", f);
	}
	fputs("},\n     \"ratio\": {", f);
	for (int i = 1; i < r->npeers; i++) {
		double x = bench_result_ratio(r, i);

		if (x <= 0)
			continue;
		fputs(first ? "" : ", ", f);
		bench_json_string(f, r->peers[i].name);
		fprintf(f, ": %.4g", x);
		first = false;
	}
	fputs("},\n     \"peers\": [", f);
	for (int i = 0; i < r->npeers; i++) {
		const bench_peer *p = &r->peers[i];
		double lo, hi, sp = bench_spread_pct(p);

		fputs(i ? ",\n       " : "\n       ", f);
		fputs("{", f);
		kv_str(f, "name", p->name, false);
		fputs(", \"median\": ", f);
		if (p->n)
			num(f, bench_median(p));
		else
			fputs("null", f);
		bench_minmax(p, &lo, &hi);
		fputs(", \"min\": ", f);
		if (p->n)
			num(f, lo);
		else
			fputs("null", f);
		fputs(", \"max\": ", f);
		if (p->n)
			num(f, hi);
		else
			fputs("null", f);
		fputs(", \"spread_pct\": ", f);
		if (sp >= 0)
			fprintf(f, "%.3g", sp);
		else
			fputs("null", f);
		fprintf(f, ", \"n\": %d, \"samples\": [", p->n);
		for (int k = 0; k < p->n; k++) {
			fputs(k ? ", " : "", f);
			num(f, p->samples[k]);
		}
		fputs("]", f);
		kv_str(f, "skipped", p->skipped, true);
		fputs("}", f);
	}
	fputs("]}", f);
}

int bench_write_json(FILE *f, const bench_status *st, int nst)
{
	const bench_env *e = &bench_environment;
	int nres;
	const bench_result *res = bench_results(&nres);

	fputs("{\n  \"format\": \"corio-bench/1\",\n", f);
	fputs("  ", f);
	kv_str(f, "started", e->started, false);
	kv_str(f, "finished", e->finished, true);
	fprintf(f, ", \"duration_s\": %.1f,\n  ", e->duration_s);
	kv_str(f, "command", e->cmdline, false);
	fprintf(f, ", \"quick\": %s, \"runs\": %d, \"secs\": ", e->quick ? "true" : "false",
		e->runs);
	if (e->secs > 0)
		fprintf(f, "%g,\n", e->secs);
	else
		fputs("null,\n", f);
	fputs("  \"environment\": {", f);
	kv_str(f, "cpu", e->cpu, false);
	fprintf(f, ", \"cores\": %ld", e->cores);
	kv_str(f, "kernel", e->kernel, true);
	kv_str(f, "arch", e->arch, true);
	kv_str(f, "hostname", e->hostname, true);
	fprintf(f, ",\n    \"loadavg_at_start\": %.2f, \"optimized_build\": %s", e->loadavg,
		e->optimized ? "true" : "false");
	kv_str(f, "compiler", e->compiler, true);
	kv_str(f, "source", e->source[0] ? e->source : NULL, true);
	fputs(",\n    \"ring\": {", f);
	kv_str(f, "flags", e->ring_flags, false);
	fprintf(f, ", \"sq_entries\": %u, \"cq_entries\": %u, \"ring_fd_registered\": %s, "
		   "\"post_msg_ring\": %s}},\n",
		e->sq_entries, e->cq_entries, e->ring_fd_registered ? "true" : "false",
		e->post_msg_ring ? "true" : "false");
	fputs("  \"versions\": {", f);
	for (int i = 0; i < e->nversions; i++) {
		fputs(i ? ", " : "", f);
		bench_json_string(f, e->versions[i].name);
		fputs(": ", f);
		bench_json_string(f, e->versions[i].version[0] ? e->versions[i].version : NULL);
	}
	fputs("},\n  \"benchmarks\": [", f);
	for (int i = 0; i < nst; i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		fputs("{", f);
		kv_str(f, "name", st[i].name, false);
		kv_str(f, "desc", st[i].desc, true);
		kv_str(f, "status", st[i].failed ? "failed" : "ok", true);
		fprintf(f, ", \"elapsed_s\": %.2f, \"results\": %d}", st[i].elapsed_s,
			st[i].nresults);
	}
	fputs("],\n  \"results\": [\n", f);
	for (int i = 0; i < nres; i++) {
		write_result(f, &res[i]);
		fputs(i + 1 < nres ? ",\n" : "\n", f);
	}
	fputs("  ]\n}\n", f);
	return ferror(f) ? -1 : 0;
}
