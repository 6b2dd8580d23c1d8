/* bench/load/main.c: corio-load's command line: options (wrk's, plus --rate, --pipeline,
 * --json), the URL resolved once, the request built once, the threads started with
 * corio_run_threads (connections split across them), their statistics merged and the
 * report printed. Bad arguments: a message on stderr and exit status 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include <corio/corio.h>

#include "bench/load/load.h"

static void usage(FILE *f)
{
	fputs("Usage: corio-load -c CONNS -d DURATION [options] URL\n"
	      "  -c, --connections N   connections to keep open (default 10)\n"
	      "  -d, --duration T      test duration, e.g. 10s, 500ms, 2m (default 10s)\n"
	      "  -t, --threads N       threads, one corio loop each (default 2)\n"
	      "  -H, --header 'N: v'   add a request header (repeatable)\n"
	      "  -m, --method M        request method (default GET)\n"
	      "      --body FILE       send FILE as the request body\n"
	      "      --timeout T       a request unanswered for T fails (default 2s)\n"
	      "  -R, --rate R          open loop: R requests/s in total, latency measured from\n"
	      "                        each request's intended start (coordinated omission)\n"
	      "      --pipeline N      N requests in flight per connection (default 1)\n"
	      "      --json            one JSON object with every number on stdout\n"
	      "      --latency         accepted for wrk compatibility (always printed)\n"
	      "  -h, --help\n"
	      "tuning:\n"
	      "      --send async|wait queue each send with the receive that follows (default)\n"
	      "                        or park on it first\n"
	      "      --recv plain|ring one receive per read (default), or a multishot receive\n"
	      "                        into the loop's provided-buffer ring\n"
	      "      --rbuf BYTES      receive buffer per connection (default 16384)\n"
	      "      --spin-us N       poll the ring (no syscall) up to N us after a response\n"
	      "                        before sleeping: more req/s when the CPU is shared or\n"
	      "                        wake-ups are slow, at the cost of CPU (default 0)\n",
	      f);
}

static int bad(const char *fmt, const char *arg)
{
	fputs("corio-load: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'corio-load --help'.\n", stderr);
	return 2;
}

/* "10s", "500ms", "2m", "1h", "250us", bare numbers are seconds. */
static int parse_time(const char *s, uint64_t *ns)
{
	char *end;
	double v;
	double mul = 1e9;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0)
		return -1;
	if (!*end || !strcmp(end, "s"))
		mul = 1e9;
	else if (!strcmp(end, "ms"))
		mul = 1e6;
	else if (!strcmp(end, "us"))
		mul = 1e3;
	else if (!strcmp(end, "m"))
		mul = 60e9;
	else if (!strcmp(end, "h"))
		mul = 3600e9;
	else
		return -1;
	if (v * mul > 1e18)
		return -1;
	*ns = (uint64_t)(v * mul);
	return 0;
}

/* Unsigned count with an optional k/M suffix. */
static int parse_count(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0)
		return -1;
	if (*end == 'k' || *end == 'K')
		v *= 1e3, end++;
	else if (*end == 'M')
		v *= 1e6, end++;
	if (*end || v > (double)max || v != (double)(unsigned long)v)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

static int read_body(load_opts *o, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, len = 0;
	char *b = malloc(cap);

	if (!f || !b) {
		if (f)
			fclose(f);
		free(b);
		return -1;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				fclose(f);
				return -1;
			}
			b = nb;
			cap *= 2;
		}
		n = fread(b + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		free(b);
		fclose(f);
		return -1;
	}
	fclose(f);
	o->body = b;
	o->body_len = len;
	return 0;
}

static int parse_url(load_opts *o)
{
	corio_url u;
	size_t hl;
	int rc = corio_url_parse(o->url, &u);

	if (rc != 0)
		return bad("bad URL '%s'", o->url);
	if (strcmp(u.scheme, "http") != 0) {
		corio_url_free(&u);
		return bad("only http:// URLs are supported: '%s'", o->url);
	}
	if (!u.host[0] || u.port == 0) {
		corio_url_free(&u);
		return bad("no host or port in '%s'", o->url);
	}
	o->host = strdup(u.host);
	if (asprintf(&o->port, "%u", (unsigned)u.port) < 0)
		o->port = NULL;
	if (asprintf(&o->target, "%s%s%s", u.path[0] ? u.path : "/", u.query ? "?" : "",
		     u.query ? u.query : "") < 0)
		o->target = NULL;
	hl = strlen(u.host) + 16;
	o->host_header = malloc(hl);
	if (o->host_header) {
		const char *lb = u.ipv6 ? "[" : "", *rb = u.ipv6 ? "]" : "";

		if (u.has_port)
			snprintf(o->host_header, hl, "%s%s%s:%u", lb, u.host, rb, (unsigned)u.port);
		else
			snprintf(o->host_header, hl, "%s%s%s", lb, u.host, rb);
	}
	corio_url_free(&u);
	if (!o->host || !o->port || !o->target || !o->host_header) {
		fputs("corio-load: out of memory\n", stderr);
		return 1;
	}
	return 0;
}

static int resolve(load_opts *o)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(o->host, o->port, &hints, &res);

	if (rc != 0) {
		fprintf(stderr, "corio-load: cannot resolve %s: %s\n", o->host, gai_strerror(rc));
		return 1;
	}
	memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
	o->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

enum {
	OPT_BODY = 256, OPT_TIMEOUT, OPT_PIPELINE, OPT_JSON, OPT_LATENCY, OPT_RECV, OPT_RBUF, OPT_SPIN,
	OPT_SEND
};

static int parse_args(int argc, char **argv, load_opts *o)
{
	static const struct option lo[] = {
		{ "connections", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "header", required_argument, NULL, 'H' },
		{ "method", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'R' },
		{ "body", required_argument, NULL, OPT_BODY },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "pipeline", required_argument, NULL, OPT_PIPELINE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "latency", no_argument, NULL, OPT_LATENCY },
		{ "recv", required_argument, NULL, OPT_RECV },   /* plain | ring */
		{ "rbuf", required_argument, NULL, OPT_RBUF },   /* receive buffer bytes */
		{ "spin-us", required_argument, NULL, OPT_SPIN },
		{ "send", required_argument, NULL, OPT_SEND },   /* wait | async */
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	bool threads_set = false;
	int ch;

	*o = (load_opts){ .conns = 10, .threads = 2, .pipeline = 1, .method = "GET",
			  .duration_ns = CORIO_SEC(10), .timeout_ns = CORIO_SEC(2),
			  .rbuf = 16384, .send_mode = 1, .recv_mode = 0 };
	o->headers = calloc((size_t)argc, sizeof *o->headers);
	if (!o->headers)
		return 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:d:t:H:m:R:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (parse_count(optarg, 1000000, &v) || v == 0)
				return bad("bad connection count '%s'", optarg);
			o->conns = (unsigned)v;
			break;
		case 'd':
			if (parse_time(optarg, &o->duration_ns) || o->duration_ns == 0)
				return bad("bad duration '%s'", optarg);
			break;
		case 't':
			if (parse_count(optarg, 1024, &v) || v == 0)
				return bad("bad thread count '%s'", optarg);
			o->threads = (unsigned)v;
			threads_set = true;
			break;
		case 'H':
			if (!strchr(optarg, ':') || strpbrk(optarg, "\r\n"))
				return bad("bad header '%s' (want 'Name: value')", optarg);
			o->headers[o->nheaders++] = optarg;
			break;
		case 'm':
			if (!*optarg || strpbrk(optarg, " \t\r\n"))
				return bad("bad method '%s'", optarg);
			o->method = optarg;
			break;
		case 'R': {
			char *end;

			errno = 0;
			o->rate = strtod(optarg, &end);
			if (end == optarg || *end || errno || !(o->rate > 0) || o->rate > 1e9)
				return bad("bad rate '%s'", optarg);
			break;
		}
		case OPT_BODY:
			if (read_body(o, optarg) != 0)
				return bad("cannot read body file '%s'", optarg);
			break;
		case OPT_TIMEOUT:
			if (parse_time(optarg, &o->timeout_ns) || o->timeout_ns < CORIO_MS(1))
				return bad("bad timeout '%s'", optarg);
			break;
		case OPT_PIPELINE:
			if (parse_count(optarg, 1024, &v) || v == 0)
				return bad("bad pipeline depth '%s' (1..1024)", optarg);
			o->pipeline = (unsigned)v;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_LATENCY:
			break;
		case OPT_RECV:
			if (!strcmp(optarg, "plain"))
				o->recv_mode = 0;
			else if (!strcmp(optarg, "ring"))
				o->recv_mode = 1;
			else
				return bad("bad --recv '%s' (plain or ring)", optarg);
			break;
		case OPT_SEND:
			if (!strcmp(optarg, "wait"))
				o->send_mode = 0;
			else if (!strcmp(optarg, "async"))
				o->send_mode = 1;
			else
				return bad("bad --send '%s' (wait or async)", optarg);
			break;
		case OPT_RBUF:
			if (parse_count(optarg, 1 << 24, &v) || v < 512)
				return bad("bad --rbuf '%s'", optarg);
			o->rbuf = v;
			break;
		case OPT_SPIN:
			if (parse_count(optarg, 1000000, &v))
				return bad("bad --spin-us '%s' (0..1000000)", optarg);
			o->spin_ns = (uint64_t)v * 1000;
			break;
		case 'h':
			usage(stdout);
			return -1; /* done: exit status 0 */
		case ':':
			return bad("option '%s' needs a value", argv[optind - 1]);
		default:
			return bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return bad("%s", optind >= argc ? "no URL given" : "more than one URL given");
	o->url = argv[optind];
	if (!threads_set && o->threads > o->conns)
		o->threads = o->conns; /* the default of 2 threads, for one connection */
	if (o->threads > o->conns)
		return bad("%s", "the number of connections must be >= the number of threads");
	o->head = strcasecmp(o->method, "HEAD") == 0;
	return parse_url(o);
}

static void raise_nofile(unsigned conns)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)conns + 64) {
		rl.rlim_cur = (rlim_t)conns + 64;
		if (rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int merge(const load_opts *o, load_thread *ts, load_thread *sum)
{
	size_t nrps = 0;

	for (unsigned i = 0; i < o->threads; i++)
		nrps += ts[i].nrps;
	sum->rps = calloc(nrps ? nrps : 1, sizeof *sum->rps);
	if (!sum->rps)
		return -1;
	sum->start = ts[0].start;
	for (unsigned i = 0; i < o->threads; i++) {
		load_thread *t = &ts[i];

		sum->requests += t->requests;
		sum->bytes += t->bytes;
		sum->connects += t->connects;
		sum->late += t->late;
		for (int e = 0; e < ERR_N; e++)
			sum->errors[e] += t->errors[e];
		hist_merge(&sum->lat, &t->lat);
		hist_merge(&sum->lag, &t->lag);
		for (size_t k = 0; k < t->nrps; k++)
			sum->rps[sum->nrps++] = t->rps[k];
		if (t->end > sum->end)
			sum->end = t->end;
	}
	return 0;
}

static void opts_free(load_opts *o)
{
	free(o->headers);
	free(o->body);
	free(o->host);
	free(o->port);
	free(o->target);
	free(o->host_header);
	free(o->req);
	free(o->reqs);
}

static void thread_free(load_thread *t)
{
	hist_free(&t->lat);
	hist_free(&t->lag);
	free(t->rps);
}

static int cleanup(load_opts *o, load_thread *ts, load_thread *sum, int rc)
{
	if (ts)
		for (unsigned i = 0; i < o->threads; i++)
			thread_free(&ts[i]);
	free(ts);
	thread_free(sum);
	opts_free(o);
	return rc;
}

static int oom(load_opts *o, load_thread *ts, load_thread *sum)
{
	fputs("corio-load: out of memory\n", stderr);
	return cleanup(o, ts, sum, 1);
}

int main(int argc, char **argv)
{
	load_opts o;
	load_run run = { 0 };
	load_thread *ts, sum = { 0 };
	double secs;
	int rc;

	if ((rc = parse_args(argc, argv, &o)) != 0)
		return cleanup(&o, NULL, &sum, rc < 0 ? 0 : rc);
	if (resolve(&o) != 0 || load_build_request(&o) != 0)
		return cleanup(&o, NULL, &sum, 1);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(o.conns);
	ts = calloc(o.threads, sizeof *ts);
	if (!ts || hist_init(&sum.lat) || hist_init(&sum.lag))
		return oom(&o, ts, &sum);
	for (unsigned i = 0; i < o.threads; i++) {
		ts[i].index = i;
		unsigned next = (unsigned)((uint64_t)(i + 1) * o.conns / o.threads);

		ts[i].first_conn = (unsigned)((uint64_t)i * o.conns / o.threads);
		ts[i].nconns = next - ts[i].first_conn;
		if (hist_init(&ts[i].lat) || hist_init(&ts[i].lag))
			return oom(&o, ts, &sum);
	}
	if (!o.json) {
		printf("Running %.3gs test @ %s\n", (double)o.duration_ns / 1e9, o.url);
		if (o.rate > 0)
			printf("  %u threads and %u connections, %.0f requests/s (open loop)\n",
			       o.threads, o.conns, o.rate);
		else
			printf("  %u threads and %u connections\n", o.threads, o.conns);
		fflush(stdout);
	}
	run.o = &o;
	run.t = ts;
	run.start = corio_now();
	rc = corio_run_threads(o.threads, load_thread_main, &run);
	if (rc != 0 || run.setup_err) {
		fprintf(stderr, "corio-load: %s\n", strerror(-(rc ? rc : run.setup_err)));
		return cleanup(&o, ts, &sum, 1);
	}
	if (merge(&o, ts, &sum) != 0)
		return oom(&o, ts, &sum);
	secs = (double)(sum.end - sum.start) / 1e9;
	if (o.json)
		load_report_json(&o, &sum, secs);
	else
		load_report_text(&o, &sum, secs);
	return cleanup(&o, ts, &sum, 0);
}
