/* bench/load/report.c: corio-load's output: wrk's layout (thread stats, latency
 * distribution, totals, Requests/sec, Transfer/sec) plus the errors by class and, with
 * --rate, the achieved rate and how late the generator itself ran; or one JSON object
 * with every number (--json). */
#include <stdio.h>
#include <string.h>

#include "bench/load/load.h"

static const double pcts[] = { 50, 75, 90, 99, 99.9, 99.99 };
#define NPCTS (sizeof pcts / sizeof pcts[0])

static void fmt_time(char *b, size_t n, double ns)
{
	if (ns < 1e6)
		snprintf(b, n, "%.2fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(b, n, "%.2fms", ns / 1e6);
	else
		snprintf(b, n, "%.2fs", ns / 1e9);
}

static void fmt_count(char *b, size_t n, double v)
{
	if (v >= 1e6)
		snprintf(b, n, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(b, n, "%.2fk", v / 1e3);
	else
		snprintf(b, n, "%.2f", v);
}

static void fmt_bytes(char *b, size_t n, double v)
{
	static const char *u[] = { "B", "KB", "MB", "GB", "TB" };
	int i = 0;

	while (v >= 1024 && i < 4)
		v /= 1024, i++;
	snprintf(b, n, "%.2f%s", v, u[i]);
}

typedef struct sample_stats {
	double mean, stdev, max, within;
} sample_stats;

static sample_stats samples(const double *v, size_t n)
{
	sample_stats s = { 0 };
	size_t in = 0;

	if (n == 0)
		return s;
	for (size_t i = 0; i < n; i++) {
		s.mean += v[i];
		if (v[i] > s.max)
			s.max = v[i];
	}
	s.mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		s.stdev += (v[i] - s.mean) * (v[i] - s.mean);
	s.stdev = n > 1 ? __builtin_sqrt(s.stdev / (double)(n - 1)) : 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] >= s.mean - s.stdev && v[i] <= s.mean + s.stdev)
			in++;
	s.within = 100.0 * (double)in / (double)n;
	return s;
}

static uint64_t total_errors(const load_thread *s)
{
	uint64_t e = 0;

	for (int i = 0; i < ERR_N; i++)
		e += s->errors[i];
	return e;
}

void load_report_text(const load_opts *o, const load_thread *s, double secs)
{
	sample_stats r = samples(s->rps, s->nrps);
	char a[32], b[32], c[32];

	printf("  Thread Stats   Avg      Stdev     Max   +/- Stdev\n");
	fmt_time(a, sizeof a, hist_mean(&s->lat));
	fmt_time(b, sizeof b, hist_stdev(&s->lat));
	fmt_time(c, sizeof c, (double)s->lat.max);
	printf("    Latency %9s %9s %9s %8.2f%%\n", a, b, c, hist_within_stdev(&s->lat));
	fmt_count(a, sizeof a, r.mean);
	fmt_count(b, sizeof b, r.stdev);
	fmt_count(c, sizeof c, r.max);
	printf("    Req/Sec %9s %9s %9s %8.2f%%\n", a, b, c, r.within);
	printf("  Latency Distribution\n");
	for (size_t i = 0; i < NPCTS; i++) {
		fmt_time(a, sizeof a, (double)hist_percentile(&s->lat, pcts[i]));
		printf("  %7g%% %9s\n", pcts[i], a);
	}
	fmt_bytes(a, sizeof a, (double)s->bytes);
	printf("  %llu requests in %.2fs, %s read\n", (unsigned long long)s->requests, secs, a);
	if (total_errors(s)) {
		printf("  Errors:");
		for (int i = 0; i < ERR_N; i++)
			printf(" %s %llu%s", load_err_names[i], (unsigned long long)s->errors[i],
			       i + 1 < ERR_N ? "," : "\n");
	}
	if (s->errors[ERR_STATUS])
		printf("  Non-2xx or 3xx responses: %llu\n",
		       (unsigned long long)s->errors[ERR_STATUS]);
	if (o->rate > 0) {
		printf("  Rate: %.0f requests/s asked, %.2f achieved; %llu requests sent late "
		       "(no free slot: the server was behind)\n",
		       o->rate, secs > 0 ? (double)s->requests / secs : 0,
		       (unsigned long long)s->late);
		fmt_time(a, sizeof a, (double)hist_percentile(&s->lag, 50));
		fmt_time(b, sizeof b, (double)hist_percentile(&s->lag, 99));
		fmt_time(c, sizeof c, (double)s->lag.max);
		printf("  Generator lag (send time - intended start): p50 %s, p99 %s, max %s\n", a,
		       b, c);
		if (secs > 0 && (double)s->requests / secs < o->rate * 0.98)
			printf("  WARNING: %.1f%% of the asked rate: %s\n",
			       100.0 * (double)s->requests / secs / o->rate,
			       hist_percentile(&s->lag, 99) > 1000000
				       ? "the generator itself fell behind (lag above)"
				       : "the server could not keep up (requests sent late)");
	}
	printf("Requests/sec: %10.2f\n", secs > 0 ? (double)s->requests / secs : 0);
	fmt_bytes(a, sizeof a, secs > 0 ? (double)s->bytes / secs : 0);
	printf("Transfer/sec: %10s\n", a);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* Microseconds, from a histogram of nanoseconds. */
static void json_hist(const char *name, const hist *h)
{
	printf("\"%s\":{\"count\":%llu,\"min\":%.3f,\"mean\":%.3f,\"stdev\":%.3f,\"max\":%.3f",
	       name, (unsigned long long)h->n, h->n ? (double)h->min / 1e3 : 0,
	       hist_mean(h) / 1e3, hist_stdev(h) / 1e3, (double)h->max / 1e3);
	for (size_t i = 0; i < NPCTS; i++)
		printf(",\"p%g\":%.3f", pcts[i], (double)hist_percentile(h, pcts[i]) / 1e3);
	printf("}");
}

void load_report_json(const load_opts *o, const load_thread *s, double secs)
{
	sample_stats r = samples(s->rps, s->nrps);

	printf("{\"url\":");
	json_str(o->url);
	printf(",\"method\":");
	json_str(o->method);
	printf(",\"threads\":%u,\"connections\":%u,\"pipeline\":%u,\"duration_s\":%.6f,"
	       "\"requests\":%llu,\"bytes\":%llu,\"requests_per_sec\":%.3f,"
	       "\"bytes_per_sec\":%.3f,\"connects\":%llu,",
	       o->threads, o->conns, o->pipeline, secs, (unsigned long long)s->requests,
	       (unsigned long long)s->bytes, secs > 0 ? (double)s->requests / secs : 0,
	       secs > 0 ? (double)s->bytes / secs : 0, (unsigned long long)s->connects);
	json_hist("latency_us", &s->lat);
	printf(",\"req_per_sec_thread\":{\"mean\":%.3f,\"stdev\":%.3f,\"max\":%.3f,"
	       "\"samples\":%zu}",
	       r.mean, r.stdev, r.max, s->nrps);
	printf(",\"errors\":{");
	for (int i = 0; i < ERR_N; i++)
		printf("\"%s\":%llu,", load_err_names[i], (unsigned long long)s->errors[i]);
	printf("\"total\":%llu}", (unsigned long long)total_errors(s));
	if (o->rate > 0) {
		printf(",\"rate\":{\"target\":%.3f,\"achieved\":%.3f,\"late\":%llu,", o->rate,
		       secs > 0 ? (double)s->requests / secs : 0, (unsigned long long)s->late);
		json_hist("lag_us", &s->lag);
		printf("}");
	} else {
		printf(",\"rate\":null");
	}
	printf("}\n");
}
