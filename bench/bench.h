/* bench/bench.h: the benchmark registry and what every benchmark shares: options, the
 * clock, result reporting (a progress line on stderr, one JSON object per result with
 * --json; every result is kept for the table, results.json, report.svg and index.html the
 * runner writes at the end) and running a peer or a fresh copy of this program as a child
 * process (registered, so that Ctrl-C stops it).
 *
 * Adding a benchmark: write bench/b_NAME.c defining `const bench_def bench_NAME`, then add
 * one line X(NAME) to CORIO_BENCHMARKS below. A variant that shares all but its setup with
 * a benchmark is defined in the same file (b_http_server.c defines http_server and
 * https_server, b_http_client.c http_client and https_client). Every .c file of bench/ is linked into
 * corio-bench. A benchmark that measures for a time takes the duration from opts->secs; one
 * that starts a process uses bench_run_child, bench_capture or bench_fork.
 */
#ifndef CORIO_BENCH_H
#define CORIO_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "tests/support/proc.h"

/* The registry, in the order `run` with no names runs them. */
#define CORIO_BENCHMARKS(X) \
	X(switch)           \
	X(spawn)            \
	X(chan)             \
	X(blocking)         \
	X(post)             \
	X(nop)              \
	X(sleepers)         \
	X(echo)             \
	X(udp)              \
	X(file)             \
	X(http)             \
	X(http_server)      \
	X(access_log)       \
	X(http_client)      \
	X(https_server)     \
	X(https_client)     \
	X(ws)               \
	X(router)           \
	X(process)          \
	X(soak)

typedef struct bench_opts {
	bool json;               /* one JSON object per result on stdout, nothing else there */
	bool quick;              /* fewer runs and iterations */
	int runs;                /* repetitions per benchmark: 5, 3 with --quick, never below 3 */
	unsigned long sleepers;  /* sleepers: N (0: 100 000, 10 000 with --quick) */
	/* Seconds one timed measurement lasts in the benchmarks that measure for a time (echo,
	 * file, ...): set by the runner (--secs S, default 0.5, 0.25 with --quick; what keeps
	 * the suite within its time budget). Honour it when > 0. */
	double secs;
	bool secs_given;         /* --secs was on the command line (not the runner's default) */
	bool named;              /* benchmarks were named on the command line (not the suite) */
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
#define BENCH_MAX_PEERS 8

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
/* bench_result_peer, then bench_result_skip with skipped when it is not NULL (a peer found
 * missing before the runs). */
int bench_result_peer_skipped(bench_result *r, const char *name, const char *skipped);
/* Two results measured together (req/s and req/CPU-s): when peer pa of a was not skipped and
 * has no sample, both are skipped with "every run failed". */
void bench_result_pair_failed(bench_result *a, int pa, bench_result *b, int pb);
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
 * not been reaped, SIGKILL to those still there after 1 s, and exits 128 + signal. The
 * child also gets PR_SET_PDEATHSIG(SIGTERM), which the kernel ties to the forking thread:
 * fork from a thread that outlives the child (the benchmark's own). */
pid_t bench_fork(void);
void bench_child_register(pid_t pid);
void bench_child_reaped(pid_t pid);

/* A temporary file or (empty by then) directory to remove if the run is interrupted
 * (SIGINT/SIGTERM), e.g. a test file or a server's config directory; forget it once it
 * has been removed normally. Up to 32 paths; on interruption they are removed newest first,
 * so register a directory before the files in it. */
void bench_cleanup_path(const char *path);
void bench_cleanup_forget(const char *path);

/* Directory of the peers written in lang ("python", "node", ...): $CORIO_BENCH_PEERS/lang,
 * else bench/peers/lang beside the sources this program was built from, else the installed
 * copy (<prefix>/libexec/corio/lang, found from <prefix>/bin/corio-bench). NULL when none
 * exists. */
const char *bench_peers_dir(const char *lang);

/* A compiled peer program (peer-echo_epoll, go-micro, tokio-micro, ...) into buf: the one
 * beside this program in the build tree (<build>/peers/NAME), else the installed one (<prefix>/libexec/corio/NAME, found from
 * <prefix>/bin/corio-bench). NULL when neither is an executable file. */
const char *bench_peer_bin(const char *name, char *buf, size_t len);

/* Debian's interpreter, the only one used: NULL when /usr/bin/python3 is missing. */
const char *bench_python(void);

/* tests/support/proc.h's th_child for argv with bench_fork and bench_child_reaped as its
 * hooks: what every child of corio-bench is started as (th_spawn, th_run). */
th_child bench_child(char *const argv[]);

/* Like bench_run_child with stderr captured too (into the same buffer) and the child killed
 * by SIGALRM after timeout_s seconds (0: no limit). For `nginx -v` and friends. */
int bench_capture(char *const argv[], char *out, size_t outlen, unsigned timeout_s);

/* The full path of program name found in $PATH, /usr/sbin or /sbin, into buf; NULL when it
 * is not installed. */
const char *bench_which(const char *name, char *buf, size_t len);

/* ---- the runner's own (main.c, report.c, proc.c, out_*.c) ------------------------------ */

/* Installs the SIGINT/SIGTERM/SIGHUP handlers that stop the registered children. */
void bench_signals_install(void);

#define BENCH_MAX_VERSIONS 20

/* The machine and the software a run measured, for the table, results.json and the page. */
typedef struct bench_env {
	char started[32];        /* ISO 8601 UTC, e.g. 2026-11-26T11:50:02Z */
	char finished[32];
	double duration_s;
	char cpu[256];
	long cores;
	char kernel[128];        /* uname -r */
	char arch[32];           /* uname -m */
	char hostname[72];
	bool ring_ok;
	char ring_flags[192];    /* corio_caps_flags_str */
	unsigned sq_entries, cq_entries;
	bool ring_fd_registered, post_msg_ring;
	double loadavg;          /* 1-minute load average at the start */
	bool optimized;
	char compiler[96];
	char source[96];         /* `git describe` of the source tree, when it is one */
	char cmdline[512];
	bool quick;
	int runs;
	double secs;             /* bench_opts.secs: 0 when the benchmarks chose */
	struct {
		char name[24];
		char version[104]; /* empty when the program is not installed */
	} versions[BENCH_MAX_VERSIONS];
	int nversions;
} bench_env;

/* What happened to each benchmark of the run. */
typedef struct bench_status {
	const char *name, *desc;
	bool failed;
	double elapsed_s;
	int first_result, nresults; /* its results in bench_results() */
} bench_status;

extern bench_env bench_environment;

/* Every result reported so far, deep copies in report order. */
const bench_result *bench_results(int *n);
/* Progress: called by the runner around each benchmark (the elapsed time and run k of n
 * are printed from there and from bench_result_add). */
void bench_progress_begin(const char *name, int index, int total, int runs);
double bench_elapsed(void); /* seconds since the first bench_progress_begin */

/* Formatting shared by the outputs. */
void bench_fmt_value(char *buf, size_t len, double v);
/* Half the min..max range in % of the median; -1 with fewer than 2 samples. */
double bench_spread_pct(const bench_peer *p);
void bench_minmax(const bench_peer *p, double *lo, double *hi);
bool bench_peer_usable(const bench_peer *p);
/* The unit as shown beside a value: "ns/switch" -> "ns", "msg/s" stays. */
void bench_short_unit(char *buf, size_t len, const char *unit);
/* "30.2x better" / "1.11x worse" / "" (no ratio) for peer i of r. */
void bench_ratio_words(char *buf, size_t len, const bench_result *r, int peer);
void bench_json_string(FILE *f, const char *s);
void bench_xml_string(FILE *f, const char *s);

/* The outputs. */
void bench_write_table(FILE *f, const bench_status *st, int nst);
int bench_write_json(FILE *f, const bench_status *st, int nst);
int bench_write_svg(FILE *f, const bench_status *st, int nst);
int bench_write_html(FILE *f, const bench_status *st, int nst, const char *svg);

#endif
