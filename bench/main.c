/* bench/main.c: the corio-bench command line: `list`, `run [NAME...]` with its options, the
 * machine and the peers' versions recorded before a run, the table and the files written
 * after it (bench/out_*.c), and the hidden `__child` entry that the benchmarks measuring a
 * fresh process exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <corio/corio.h>

#include "bench/bench.h"

#define X_REF(n) &bench_##n,
static const bench_def *const registry[] = { CORIO_BENCHMARKS(X_REF) };
#undef X_REF
#define NBENCH (sizeof registry / sizeof registry[0])

#define DEFAULT_OUT "bench-results"
/* One timed measurement (echo, file, ...): what keeps `make bench` under 10 minutes and
 * `--quick` under 2 on 2 cores. */
#define FULL_SECS 0.5
#define QUICK_SECS 0.25

bench_env bench_environment;

static void usage(FILE *f)
{
	fputs("usage: corio-bench list\n"
	      "       corio-bench peers\n"
	      "       corio-bench run [NAME...] [--json] [--quick] [--runs N] [--secs S]\n"
	      "                       [--sleepers N] [--out DIR | --no-files]\n"
	      "       corio-bench --help\n"
	      "\n"
	      "  list          the benchmarks, in the order `run` runs them\n"
	      "  peers         where each peer program was found (or that it was not): the\n"
	      "                compiled ones in <build>/peers or <prefix>/libexec/corio, the\n"
	      "                scripts' folders, the servers and tools from $PATH\n"
	      "  run           runs the named benchmarks (none: all), each beside its peers\n"
	      "                (swapcontext, liburing, asyncio, an epoll server, fio, ...; a peer\n"
	      "                that is not installed is reported as skipped, never faked)\n"
	      "\n"
	      "  --quick       3 runs instead of 5, fewer iterations and shorter measurements\n"
	      "  --runs N      repetitions per benchmark (3..64); the median is reported, the\n"
	      "                spread (half the min..max range, in % of the median) shown\n"
	      "  --sleepers N  sleeping coroutines for `sleepers` (default 100 000, 10 000 quick)\n"
	      "  --secs S      seconds of each timed measurement in the benchmarks that measure\n"
	      "                for a time (echo, file, ...): default 0.5, 0.25 with --quick\n"
	      "                (longer is steadier: --secs 2 for a careful run); http_server\n"
	      "                runs wrk -d3s, https_server too (-d1s with --quick) unless\n"
	      "                --secs is given; soak: the whole run (default 60 s when named,\n"
	      "                20 s in the whole suite, 10 s with --quick)\n"
	      "  --json        stdout gets one JSON object per result and nothing else\n"
	      "                ({\"bench\", \"config\", \"unit\", \"higher_is_better\", \"results\",\n"
	      "                \"runs\", \"spread\", \"ratio\"[, \"skipped\"]}); the table goes to\n"
	      "                stderr; the files are still written\n"
	      "  --out DIR     where the files go (default ./" DEFAULT_OUT "/, created if needed):\n"
	      "                results.json (every sample, medians, spread, machine, peers'\n"
	      "                versions), report.svg (a bar chart per result) and index.html\n"
	      "                (table, machine and chart in one self-contained page)\n"
	      "  --no-files    writes no files (same as --out -)\n"
	      "\n"
	      "Progress (which benchmark, run k of n, elapsed time) goes to stderr. Without\n"
	      "--json, stdout gets the table: each result with corio's median, each peer's, and\n"
	      "the ratio worded as \"corio Nx better/worse\" whichever direction is better.\n"
	      "Ctrl-C (SIGINT) or SIGTERM stops every process the run started (servers, peers)\n"
	      "and exits with 128 + the signal (130 for Ctrl-C); no files are written then.\n"
	      "\n"
	      "Exit status: 0 all ran, 1 a benchmark failed or a file could not be written, 2 bad\n"
	      "usage.\n",
	      f);
}

static const bench_def *find(const char *name)
{
	for (size_t i = 0; i < NBENCH; i++)
		if (registry[i] && strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

/* `corio-bench peers`: where each peer comes from, as the benchmarks will look for it. */
static int cmd_peers(void)
{
	static const char *const compiled[] = { "peer-echo_epoll", "peer-udp_epoll", "peer-curl_multi",
						"go-micro",	   "go-echo",	     "go-http",
						"go-httpc",	   "go-ws",	     "go-process",
						"tokio-micro",	   "tokio-echo",     "hyper-http",
						"hyper-httpc" };
	static const char *const scripts[] = { "python", "node" };
	static const char *const tools[] = { "nginx", "h2o", "wrk", "h2load", "fio", "node" };
	char buf[4096];
	const char *p;

	for (size_t i = 0; i < sizeof compiled / sizeof compiled[0]; i++) {
		p = bench_peer_bin(compiled[i], buf, sizeof buf);
		printf("%-16s %s\n", compiled[i], p ? p : "not found");
	}
	for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
		p = bench_peers_dir(scripts[i]);
		printf("%-16s %s\n", scripts[i], p ? p : "not found");
	}
	for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
		p = bench_which(tools[i], buf, sizeof buf);
		printf("%-16s %s\n", tools[i], p ? p : "not found");
	}
	p = bench_python();
	printf("%-16s %s\n", "python3", p ? p : "not found");
	return 0;
}

static int cmd_list(void)
{
	for (size_t i = 0; i < NBENCH; i++)
		if (registry[i])
			printf("%-10s %s\n", registry[i]->name, registry[i]->desc);
	return 0;
}

/* ---- the machine --------------------------------------------------------------------- */

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');

		if (!colon || strncmp(line, "model name", 10) != 0)
			continue;
		colon += 1 + strspn(colon + 1, " \t");
		colon[strcspn(colon, "\n")] = 0;
		snprintf(buf, len, "%s", colon);
		break;
	}
	fclose(f);
}

static void *ring_info(void *arg)
{
	corio_capabilities caps;
	bench_env *e = arg;

	if (corio_caps(&caps) != 0 ||
	    corio_caps_flags_str(&caps, e->ring_flags, sizeof e->ring_flags) < 0)
		return NULL;
	if (!e->ring_flags[0])
		snprintf(e->ring_flags, sizeof e->ring_flags, "none");
	e->sq_entries = caps.sq_entries;
	e->cq_entries = caps.cq_entries;
	e->ring_fd_registered = caps.ring_fd_registered;
	e->post_msg_ring = caps.post_msg_ring;
	e->ring_ok = true;
	return NULL;
}

static void iso_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* First line of `argv` (stdout and stderr), trimmed; "" when it does not run. */
static void version_of(const char *name, char *const argv[], const char *strip)
{
	bench_env *e = &bench_environment;
	char out[512], *v = out;
	int rc;

	if (e->nversions == BENCH_MAX_VERSIONS)
		return;
	snprintf(e->versions[e->nversions].name, sizeof e->versions[0].name, "%s", name);
	e->versions[e->nversions].version[0] = 0;
	e->nversions++;
	if (!argv[0])
		return;
	rc = bench_capture(argv, out, sizeof out, 5);
	if (rc < 0 || rc >= 126) /* could not start, or killed */
		return;
	v[strcspn(v, "\n")] = 0;
	v += strspn(v, " \t");
	if (strip && strncmp(v, strip, strlen(strip)) == 0)
		v += strlen(strip);
	if (*v)
		snprintf(e->versions[e->nversions - 1].version, sizeof e->versions[0].version, "%s",
			 v);
}

/* The peers' versions, where it is cheap to ask (one short process each). */
static void peer_versions(void)
{
	char p[512];
	const char *py = bench_python();
	char *wrk = NULL;

	version_of("python3", (char *[]){ (char *)py, "--version", NULL }, "Python ");
	version_of("aiohttp",
		   (char *[]){ (char *)py, "-c",
			       "from importlib.metadata import version; print(version('aiohttp'))",
			       NULL },
		   NULL);
	version_of("aiofiles",
		   (char *[]){ (char *)py, "-c",
			       "from importlib.metadata import version; print(version('aiofiles'))",
			       NULL },
		   NULL);
	version_of("fio", (char *[]){ (char *)bench_which("fio", p, sizeof p), "--version", NULL },
		   "fio-");
	version_of("nginx", (char *[]){ (char *)bench_which("nginx", p, sizeof p), "-v", NULL },
		   "nginx version: nginx/");
	version_of("wrk", (char *[]){ (char *)bench_which("wrk", p, sizeof p), "-v", NULL },
		   "wrk ");
	/* "wrk 4.1.0 [epoll] Copyright (C) 2012 Will Glozer": the version and the backend. */
	wrk = bench_environment.versions[bench_environment.nversions - 1].version;
	if (strstr(wrk, " Copyright"))
		*strstr(wrk, " Copyright") = 0;
	version_of("h2load", (char *[]){ (char *)bench_which("h2load", p, sizeof p), "--version",
					 NULL },
		   "h2load nghttp2/");
	version_of("libcurl",
		   (char *[]){ (char *)bench_which("curl-config", p, sizeof p), "--version", NULL },
		   "libcurl ");
	version_of("liburing",
		   (char *[]){ (char *)bench_which("dpkg-query", p, sizeof p), "-W", "-f",
			       "${Version}\n", "liburing-dev", NULL },
		   NULL);
	version_of("uvloop",
		   (char *[]){ (char *)py, "-c",
			       "from importlib.metadata import version; print(version('uvloop'))",
			       NULL },
		   NULL);
	version_of("h2o", (char *[]){ (char *)bench_which("h2o", p, sizeof p), "--version", NULL },
		   "h2o version ");
	version_of("go", (char *[]){ (char *)bench_which("go", p, sizeof p), "version", NULL },
		   "go version go");
	version_of("node", (char *[]){ (char *)bench_which("node", p, sizeof p), "--version", NULL },
		   "v");
	/* The crates the Rust peers were built from (Debian's registry, bench/peers/rust). */
	version_of("tokio",
		   (char *[]){ (char *)bench_which("dpkg-query", p, sizeof p), "-W", "-f",
			       "${Version}\n", "librust-tokio-dev", NULL },
		   NULL);
	version_of("hyper",
		   (char *[]){ (char *)bench_which("dpkg-query", p, sizeof p), "-W", "-f",
			       "${Version}\n", "librust-hyper-dev", NULL },
		   NULL);
	/* The OpenSSL of corio's TLS (the HTTPS benchmarks): Debian's libssl3, which nginx, wrk,
	 * libcurl and Python's ssl load too. */
	if (bench_environment.nversions < BENCH_MAX_VERSIONS) {
		int i = bench_environment.nversions++;
		const char *v = OpenSSL_version(OPENSSL_VERSION);

		snprintf(bench_environment.versions[i].name, sizeof bench_environment.versions[i].name,
			 "openssl");
		snprintf(bench_environment.versions[i].version,
			 sizeof bench_environment.versions[i].version, "%s",
			 strncmp(v, "OpenSSL ", 8) == 0 ? v + 8 : v);
	}
}

/* `git describe` of the tree this program was built from, when it is a git checkout. */
static void source_version(void)
{
	char dir[512], git[512], *slash;

	snprintf(dir, sizeof dir, "%s", __FILE__);
	slash = strrchr(dir, '/');
	if (!slash || !bench_which("git", git, sizeof git))
		return;
	*slash = 0;
	{
		char out[256];
		int rc = bench_capture((char *[]){ git, "-C", dir, "describe", "--always", "--dirty",
						   "--tags", NULL },
				       out, sizeof out, 5);

		if (rc == 0) {
			out[strcspn(out, "\n")] = 0;
			snprintf(bench_environment.source, sizeof bench_environment.source, "%.*s",
				 (int)sizeof bench_environment.source - 1, out);
		}
	}
}

static int gather_env(int argc, char **argv, const bench_opts *o)
{
	bench_env *e = &bench_environment;
	struct utsname u;
	FILE *f;
	size_t used = 0;
	int rc;

	iso_now(e->started, sizeof e->started);
	cpu_model(e->cpu, sizeof e->cpu);
	e->cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (uname(&u) == 0) {
		snprintf(e->kernel, sizeof e->kernel, "%.*s", (int)sizeof e->kernel - 1, u.release);
		snprintf(e->arch, sizeof e->arch, "%.*s", (int)sizeof e->arch - 1, u.machine);
		snprintf(e->hostname, sizeof e->hostname, "%.*s", (int)sizeof e->hostname - 1,
			 u.nodename);
	}
	if ((f = fopen("/proc/loadavg", "r"))) {
		if (fscanf(f, "%lf", &e->loadavg) != 1)
			e->loadavg = 0;
		fclose(f);
	}
#ifdef __OPTIMIZE__
	e->optimized = true;
#endif
#ifdef __VERSION__
	snprintf(e->compiler, sizeof e->compiler, "%s %s",
#ifdef __clang__
		 "clang",
#else
		 "gcc",
#endif
		 __VERSION__);
#endif
	for (int i = 0; i < argc && used + 1 < sizeof e->cmdline; i++)
		used += (size_t)snprintf(e->cmdline + used, sizeof e->cmdline - used, "%s%s",
					 i ? " " : "", i ? argv[i] : "corio-bench");
	e->quick = o->quick;
	e->runs = o->runs;
	e->secs = o->secs;
	rc = corio_run(ring_info, e, NULL);
	if (rc != 0 || !e->ring_ok) {
		bench_log("corio-bench: corio_run failed: %s (no io_uring?)\n",
			  strerror(rc ? -rc : ESRCH));
		return 1;
	}
	peer_versions();
	source_version();
	return 0;
}

static void print_machine(void)
{
	bench_env *e = &bench_environment;
	char peers[1024] = "";
	size_t used = 0;

	bench_log("machine: %s, %ld cores, Linux %s %s\n", e->cpu, e->cores, e->kernel, e->arch);
	bench_log("ring:    %s (sq %u, cq %u%s)\n", e->ring_flags, e->sq_entries, e->cq_entries,
		  e->ring_fd_registered ? ", ring fd registered" : "");
	for (int i = 0; i < e->nversions && used + 1 < sizeof peers; i++)
		used += (size_t)snprintf(peers + used, sizeof peers - used, "%s%s %s",
					 used ? ", " : "", e->versions[i].name,
					 e->versions[i].version[0] ? e->versions[i].version
								   : "(not installed)");
	bench_log("peers:   %s\n", peers);
	/* Other work on the machine skews every number: say so. */
	if (e->loadavg > 0.5 * (double)e->cores)
		bench_log("warning: load average %.2f on %ld cores: other processes are running, "
			  "expect noisy numbers\n", e->loadavg, e->cores);
	if (!e->optimized)
		bench_log("warning: corio-bench was built without optimization; numbers are not "
			  "representative (use -DCMAKE_BUILD_TYPE=Release)\n");
}

/* ---- the files ------------------------------------------------------------------------- */

static int mkdir_p(const char *path)
{
	char buf[4096];
	struct stat st;

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0777) != 0 && errno != EEXIST)
		return -errno;
	if (stat(buf, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Writes DIR/name through DIR/.name.tmp and a rename: a reader never sees half a file. */
static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char path[4200], tmp[4200];
	FILE *f;
	int ok;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
	if (!(f = fopen(tmp, "w"))) {
		bench_log("corio-bench: cannot write %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	ok = fwrite(data, 1, len, f) == len;
	ok &= fclose(f) == 0;
	if (!ok || rename(tmp, path) != 0) {
		bench_log("corio-bench: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

typedef int (*writer_fn)(FILE *f, const bench_status *st, int nst, const char *svg);

static int json_writer(FILE *f, const bench_status *st, int nst, const char *svg)
{
	(void)svg;
	return bench_write_json(f, st, nst);
}

static int svg_writer(FILE *f, const bench_status *st, int nst, const char *svg)
{
	(void)svg;
	return bench_write_svg(f, st, nst);
}

/* Renders into memory: the SVG is written to its file and inlined into the page. */
static char *render(writer_fn fn, const bench_status *st, int nst, const char *svg,
		    size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	int rc;

	if (!f)
		return NULL;
	rc = fn(f, st, nst, svg);
	if (fclose(f) != 0 || rc != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int write_files(const char *dir, const bench_status *st, int nst)
{
	size_t jlen = 0, slen = 0, hlen = 0;
	char *json = render(json_writer, st, nst, NULL, &jlen);
	char *svg = render(svg_writer, st, nst, NULL, &slen);
	char *html = svg ? render(bench_write_html, st, nst, svg, &hlen) : NULL;
	int rc = 0;

	if (!json || !svg || !html) {
		bench_log("corio-bench: out of memory writing the report\n");
		rc = -1;
	} else {
		rc |= write_file(dir, "results.json", json, jlen);
		rc |= write_file(dir, "report.svg", svg, slen);
		rc |= write_file(dir, "index.html", html, hlen);
	}
	if (rc == 0)
		bench_log("wrote %s/results.json, %s/report.svg and %s/index.html\n", dir, dir, dir);
	free(json);
	free(svg);
	free(html);
	return rc;
}

/* ---- run ------------------------------------------------------------------------------ */

static int parse_count(const char *flag, const char *s, unsigned long min, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = s ? strtoul(s, &end, 10) : 0;
	if (!s || errno || end == s || *end || s[0] == '-' || v < min) {
		fprintf(stderr, "corio-bench: %s needs a number >= %lu\n", flag, min);
		return -1;
	}
	*out = v;
	return 0;
}

static int cmd_run(int argc, char **argv, int full_argc, char **full_argv)
{
	const bench_def *sel[NBENCH];
	bench_status st[NBENCH];
	size_t nsel = 0;
	bench_opts o = { 0 };
	unsigned long runs = 0;
	const char *out = DEFAULT_OUT;
	int failed = 0, rc;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const bench_def *b;

		if (strcmp(a, "--json") == 0) {
			o.json = true;
		} else if (strcmp(a, "--quick") == 0) {
			o.quick = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--runs") == 0) {
			if (parse_count(a, ++i < argc ? argv[i] : NULL, 3, &runs) != 0)
				return 2;
			if (runs > BENCH_MAX_RUNS) {
				fprintf(stderr, "corio-bench: --runs is at most %d\n",
					BENCH_MAX_RUNS);
				return 2;
			}
		} else if (strcmp(a, "--sleepers") == 0) {
			if (parse_count(a, ++i < argc ? argv[i] : NULL, 1, &o.sleepers) != 0)
				return 2;
		} else if (strcmp(a, "--secs") == 0) {
			char *end = NULL;
			const char *v = ++i < argc ? argv[i] : NULL;

			o.secs = v ? strtod(v, &end) : 0;
			/* a day at most: soak's whole run; a measurement stays far below */
			if (!v || end == v || *end || !(o.secs >= 0.05 && o.secs <= 86400)) {
				fprintf(stderr, "corio-bench: --secs needs seconds in 0.05..86400\n");
				return 2;
			}
			o.secs_given = true;
		} else if (strcmp(a, "--out") == 0) {
			if (++i >= argc || !argv[i][0]) {
				fprintf(stderr, "corio-bench: --out needs a directory (or - for none)\n");
				return 2;
			}
			out = argv[i];
		} else if (strncmp(a, "--out=", 6) == 0 && a[6]) {
			out = a + 6;
		} else if (strcmp(a, "--no-files") == 0) {
			out = "-";
		} else if (a[0] == '-') {
			fprintf(stderr, "corio-bench: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		} else if (!(b = find(a))) {
			fprintf(stderr, "corio-bench: unknown benchmark '%s' (try: corio-bench list)\n",
				a);
			return 2;
		} else {
			bool dup = false;

			for (size_t j = 0; j < nsel; j++)
				dup |= sel[j] == b;
			if (!dup)
				sel[nsel++] = b;
		}
	}
	o.named = nsel > 0;
	if (nsel == 0)
		for (size_t i = 0; i < NBENCH; i++)
			if (registry[i])
				sel[nsel++] = registry[i];
	o.runs = runs ? (int)runs : o.quick ? 3 : 5;
	if (o.secs == 0)
		o.secs = o.quick ? QUICK_SECS : FULL_SECS;
	/* A directory that cannot be made fails now, not after ten minutes of measuring. */
	if (strcmp(out, "-") != 0 && (rc = mkdir_p(out)) != 0) {
		fprintf(stderr, "corio-bench: --out %s: %s\n", out, strerror(-rc));
		return 2;
	}
	bench_signals_install();
	if (gather_env(full_argc, full_argv, &o) != 0)
		return 1;
	print_machine();
	for (size_t i = 0; i < nsel; i++) {
		int n0, n1;
		double t0;

		bench_results(&n0);
		bench_progress_begin(sel[i]->name, (int)i + 1, (int)nsel, o.runs);
		t0 = bench_elapsed();
		rc = sel[i]->run(&o);
		bench_results(&n1);
		st[i] = (bench_status){ .name = sel[i]->name, .desc = sel[i]->desc,
					.failed = rc != 0, .elapsed_s = bench_elapsed() - t0,
					.first_result = n0, .nresults = n1 - n0 };
		if (rc != 0) {
			bench_log("corio-bench: %s failed\n", sel[i]->name);
			failed = 1;
		}
		bench_log("[%zu/%zu %s] %s in %.1f s  (%.1f s elapsed)\n", i + 1, nsel,
			  sel[i]->name, rc ? "failed" : "done", st[i].elapsed_s, bench_elapsed());
	}
	iso_now(bench_environment.finished, sizeof bench_environment.finished);
	bench_environment.duration_s = bench_elapsed();
	fflush(stdout);
	bench_write_table(o.json ? stderr : stdout, st, (int)nsel);
	fflush(o.json ? stderr : stdout);
	if (strcmp(out, "-") != 0 && write_files(out, st, (int)nsel) != 0)
		failed = 1;
	return failed;
}

static int cmd_child(int argc, char **argv)
{
	const bench_def *b = argc > 0 ? find(argv[0]) : NULL;

	if (!b || !b->child) {
		fprintf(stderr, "corio-bench: no child entry '%s'\n", argc > 0 ? argv[0] : "");
		return 2;
	}
	return b->child(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "list") == 0) {
		if (argc != 2) {
			fprintf(stderr, "corio-bench: list takes no arguments\n");
			return 2;
		}
		return cmd_list();
	}
	if (strcmp(argv[1], "peers") == 0) {
		if (argc != 2) {
			fprintf(stderr, "corio-bench: peers takes no arguments\n");
			return 2;
		}
		return cmd_peers();
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2, argc, argv);
	if (strcmp(argv[1], "__child") == 0)
		return cmd_child(argc - 2, argv + 2);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "corio-bench: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
