/* bench/main.c: the corio-bench command line: `list`, `run [NAME...] [--json] [--quick]`,
 * the machine description printed before a run, and the hidden `__child` entry that the
 * benchmarks measuring a fresh process exec. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <corio/corio.h>

#include "bench.h"

#define X_REF(n) &bench_##n,
static const bench_def *const registry[] = { CORIO_BENCHMARKS(X_REF) };
#undef X_REF
#define NBENCH (sizeof registry / sizeof registry[0])

static void usage(FILE *f)
{
	fputs("usage: corio-bench list\n"
	      "       corio-bench run [NAME...] [--json] [--quick] [--runs N] [--sleepers N]\n"
	      "\n"
	      "  run         runs the named benchmarks (none: all), each beside its peers\n"
	      "  --json      one JSON object per result on stdout (human lines go to stderr)\n"
	      "  --quick     3 runs instead of 5, fewer iterations, 10 000 sleepers\n"
	      "  --runs N    repetitions per benchmark (at least 3); the median is reported\n"
	      "  --sleepers N  number of sleeping coroutines for `sleepers` (default 100 000)\n",
	      f);
}

static const bench_def *find(const char *name)
{
	for (size_t i = 0; i < NBENCH; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

static int cmd_list(void)
{
	for (size_t i = 0; i < NBENCH; i++)
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
	char flags[160];
	char *out = arg;

	if (corio_caps(&caps) != 0 || corio_caps_flags_str(&caps, flags, sizeof flags) < 0) {
		snprintf(out, 256, "unknown");
		return NULL;
	}
	snprintf(out, 256, "%s (sq %u, cq %u%s)", flags[0] ? flags : "none", caps.sq_entries,
		 caps.cq_entries, caps.ring_fd_registered ? ", ring fd registered" : "");
	return NULL;
}

/* Other work on the machine skews every number: say so. */
static void print_load(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double load1 = 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (!f)
		return;
	if (fscanf(f, "%lf", &load1) == 1 && load1 > 0.5 * (double)cores)
		bench_log("warning: load average %.2f on %ld cores: other processes are running, "
			  "expect noisy numbers\n", load1, cores);
	fclose(f);
}

static int print_machine(void)
{
	char cpu[256], ring[256] = "";
	struct utsname u;
	int rc = corio_run(ring_info, ring, NULL);

	cpu_model(cpu, sizeof cpu);
	if (uname(&u) != 0)
		snprintf(u.release, sizeof u.release, "unknown");
	bench_log("machine: %s, %ld cores, Linux %s\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
		  u.release);
	if (rc != 0) {
		bench_log("corio-bench: corio_run failed: %s (no io_uring?)\n", strerror(-rc));
		return 1;
	}
	bench_log("ring:    %s\n", ring);
	print_load();
#ifndef __OPTIMIZE__
	bench_log("warning: corio-bench was built without optimization; numbers are not "
		  "representative (use -DCMAKE_BUILD_TYPE=Release)\n");
#endif
	return 0;
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

static int cmd_run(int argc, char **argv)
{
	const bench_def *sel[NBENCH];
	size_t nsel = 0;
	bench_opts o = { 0 };
	unsigned long runs = 0;
	int failed = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const bench_def *b;

		if (strcmp(a, "--json") == 0) {
			o.json = true;
		} else if (strcmp(a, "--quick") == 0) {
			o.quick = true;
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
	if (nsel == 0)
		for (size_t i = 0; i < NBENCH; i++)
			sel[nsel++] = registry[i];
	o.runs = runs ? (int)runs : o.quick ? 3 : 5;
	if (print_machine() != 0)
		return 1;
	for (size_t i = 0; i < nsel; i++) {
		bench_log("-- %s: %d runs\n", sel[i]->name, o.runs);
		if (sel[i]->run(&o) != 0) {
			bench_log("corio-bench: %s failed\n", sel[i]->name);
			failed = 1;
		}
	}
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
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return cmd_list();
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "__child") == 0)
		return cmd_child(argc - 2, argv + 2);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "corio-bench: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
