/* bench/bench.h: the benchmark registry and what every benchmark shares: options, the
 * clock, result reporting (human line or one JSON object per result) and running a peer or
 * a fresh copy of this program as a child process.
 *
 * Adding a benchmark: write bench/b_NAME.c defining `const bench_def bench_NAME`, then add
 * one line X(NAME) to CORIO_BENCHMARKS below. Every .c file of bench/ is linked into
 * corio-bench.
 */
#ifndef CORIO_BENCH_H
#define CORIO_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* The registry, in the order `run` with no names runs them. */
#define CORIO_BENCHMARKS(X) \
	X(switch)           \
	X(spawn)            \
	X(chan)             \
	X(nop)              \
	X(sleepers)         \
	X(echo)

typedef struct bench_opts {
	bool json;               /* one JSON object per result on stdout, nothing else there */
	bool quick;              /* fewer runs and iterations */
	int runs;                /* repetitions per benchmark: 5, 3 with --quick, never below 3 */
	unsigned long sleepers;  /* sleepers: N (0: 100 000, 10 000 with --quick) */
} bench_opts;

typedef struct bench_def {
	const char *name;
	const char *desc;        /* one line, for `corio-bench list` */
	/* Runs the benchmark and reports its results; 0, or 1 when it could not run. */
	int (*run)(const bench_opts *o);
	/* Optional: what `corio-bench __child NAME ARGS...` runs in a fresh process. Returns
	 * the exit status. */
	int (*child)(int argc, char **argv);
} bench_def;

/* Weak: a benchmark listed here whose b_NAME.c is not in the tree (yet) is left out of
 * `list` and `run` instead of breaking the link. */
#define X_DECLARE(n) extern const bench_def bench_##n __attribute__((weak));
CORIO_BENCHMARKS(X_DECLARE)
#undef X_DECLARE

/* ---- results -------------------------------------------------------------------------- */

#define BENCH_MAX_RUNS 64
#define BENCH_MAX_PEERS 4

typedef struct bench_peer {
	const char *name;          /* "corio" first, then the peers */
	double samples[BENCH_MAX_RUNS];
	int n;
	const char *skipped;       /* reason the peer did not run (never faked) */
} bench_peer;

typedef struct bench_result {
	const char *bench;
	char config[160];
	const char *unit;          /* "ns/switch", "s", "MiB", ... */
	bool higher_is_better;
	char note[96];             /* appended to the human line, e.g. the target and whether
				    * it was met */
	bench_peer peers[BENCH_MAX_PEERS];
	int npeers;
} bench_result;

void bench_result_init(bench_result *r, const char *bench, const char *unit,
		       bool higher_is_better, const char *config_fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Adds a peer column and returns its index. */
int bench_result_peer(bench_result *r, const char *name);
void bench_result_add(bench_result *r, int peer, double value);
void bench_result_skip(bench_result *r, int peer, const char *reason);
double bench_median(const bench_peer *p);
/* Median of peer 0 (corio) against the median of peer i: > 1 when corio is ahead, whichever
 * direction is better; 0 when either is missing. */
double bench_result_ratio(const bench_result *r, int peer);
/* Prints the human line (stdout, or stderr with --json) and the JSON object (--json). */
void bench_result_report(const bench_result *r, const bench_opts *o);

/* Progress and diagnostics: always stderr. */
void bench_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- helpers -------------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Runs argv[0] (a path) with argv, stdout captured into out (NUL-terminated, truncated to
 * outlen - 1), stderr inherited. *maxrss_kib gets the child's peak RSS (wait4). Returns
 * the exit status (0..255), 128 + signal if killed, or -errno when it could not start. */
int bench_run_child(char *const argv[], char *out, size_t outlen, long *maxrss_kib);

/* The path of this program (/proc/self/exe), for children. */
const char *bench_self_exe(void);

/* Child processes the runner must stop on SIGINT/SIGTERM (servers, peers, fio...).
 * bench_run_child registers its child itself. A benchmark that starts a process of its own
 * (a server running until it is killed) forks with bench_fork, which registers the child
 * with no window for a signal in between, and calls bench_child_reaped(pid) right after its
 * waitpid. On SIGINT/SIGTERM the runner sends SIGTERM to every registered child that has
 * not been reaped, SIGKILL to those still there after 1 s, and exits 128 + signal. */
pid_t bench_fork(void);
void bench_child_register(pid_t pid);
void bench_child_reaped(pid_t pid);

/* Directory of the Python peers (bench/peers): $CORIO_BENCH_PEERS, or the one beside the
 * sources this program was built from. NULL when it does not exist. */
const char *bench_peers_dir(void);

/* Debian's interpreter, the only one used: NULL when /usr/bin/python3 is missing. */
const char *bench_python(void);

#endif
