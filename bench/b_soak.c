/* bench/b_soak.c: `soak`: corio's HTTP server under N seconds of mixed abuse, watched from
 * outside: does its memory stay flat and do its descriptors come back?
 *
 * The server is the http_server benchmark's (`corio-bench __child http_server 0 ROOT`, one
 * loop) on 127.0.0.1, on a port it binds itself (0: the kernel's choice), read back from
 * /proc/PID/net/tcp through its listening socket's inode: no port is guessed, and no
 * connection is made before the baseline is taken. ROOT holds the 4 KiB file, a 1 MiB one
 * and nginx's welcome page; /hello answers from memory. The clients (abuse.h: keep-alive
 * load, a connection per request, 1 MiB downloads, idle keep-alive, slowloris, half-sent
 * requests, connections dropped at once, pipelined floods that never read, TLS bytes on
 * the plain port) run in this process on one corio loop.
 *
 * Every 10 s (every third of the run when it is shorter than 20 s) and at the end one line:
 * elapsed time, the server's VmRSS, descriptors and threads (/proc/PID/status, /proc/PID/fd),
 * requests completed and errors, and corio-bench's own VmRSS. Then a summary: the highest RSS
 * sampled in the last quarter of the run against the highest in the first quarter (at least
 * one sample each), the ratio with its 1.2x target (peaks of windows rather than two single
 * samples: RSS swings with the connection bursts, so two samples compare two moments of a
 * burst cycle, not the start and the end of the run), the first and final samples and the
 * peak (VmHWM), descriptors against the baseline before any client connected (and after the
 * clients closed), and whether a plain GET /hello still gets its 200 after the run: when it
 * does not, or the server died, the benchmark fails. Nothing here is asserted but that:
 * flat is the target, reported.
 *
 * Duration: --secs; without it 60 s when `soak` is named, 20 s in the whole suite (10 s
 * with --quick), so that `make bench` stays within its time. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <corio/corio.h>

#include "bench/abuse.h"
#include "bench/bench.h"
#include "bench/http_common.h"

#define BIG_PATH "/1m.bin"
#define BIG_SIZE (1u << 20)
#define EVERY_S 10.0
#define TARGET 1.2 /* the last quarter's RSS peak / the first quarter's */
#define MAX_SAMPLES BENCH_MAX_RUNS

/* The files of the document root (hc_make_root's and the 1 MiB one). */
static const char *const files[] = { "/index.html", HC_FILE_PATH, BIG_PATH };

typedef struct sample {
	double t;                 /* seconds since the clients started */
	long rss_kb, fds, threads, self_kb;
	uint64_t requests, errors;
} sample;

typedef struct soak {
	const bench_opts *o;
	FILE *out;                /* the human lines: stdout, stderr with --json */
	double secs, every;
	char dir[64], root[128];
	pid_t pid;
	long fd_base, fd_after, hwm_kb, rss_base;
	double settle_s;          /* how long the descriptors took to come back */
	bool died;
	int answered;             /* the final GET /hello: status or -errno */
	abuse ab;
	sample s[MAX_SAMPLES];
	int n;
} soak;

/* ---- the server's numbers from /proc ---------------------------------------------------- */

/* VmRSS, VmHWM (kB) and Threads of pid; false when it is gone (a zombie has no VmRSS). */
static bool proc_status(pid_t pid, long *rss_kb, long *hwm_kb, long *threads)
{
	char path[64], line[256];
	FILE *f;
	bool rss = false;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return false;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "VmRSS: %ld", rss_kb) == 1)
			rss = true;
		else if (hwm_kb)
			sscanf(line, "VmHWM: %ld", hwm_kb);
		if (threads)
			sscanf(line, "Threads: %ld", threads);
	}
	fclose(f);
	return rss;
}

/* Open descriptors of pid (entries of /proc/PID/fd), -1 when it is gone. */
static long proc_fds(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	long n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Whether socket inode ino is one of pid's descriptors. */
static bool owns_socket(pid_t pid, unsigned long ino)
{
	char path[64], link[64], want[40];
	DIR *d;
	struct dirent *e;
	bool found = false;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof want, "socket:[%lu]", ino);
	if (!(d = opendir(path)))
		return false;
	while (!found && (e = readdir(d))) {
		char fdpath[sizeof path + 300];
		ssize_t n;

		snprintf(fdpath, sizeof fdpath, "%s/%s", path, e->d_name);
		n = readlink(fdpath, link, sizeof link - 1);
		found = n > 0 && (size_t)n == strlen(want) && memcmp(link, want, (size_t)n) == 0;
	}
	closedir(d);
	return found;
}

/* The TCP port pid listens on (the first listening socket of its network namespace's table
 * that is its own), 0 while it has none. */
static int listening_port(pid_t pid)
{
	char path[64], line[512];
	FILE *f;
	int port = 0;

	snprintf(path, sizeof path, "/proc/%d/net/tcp", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (!port && fgets(line, sizeof line, f)) {
		unsigned lport, state;
		unsigned long ino;

		/* "sl local rem st tx:rx tr:when retrnsmt uid timeout inode"; 0A is LISTEN. */
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &lport,
			   &state, &ino) == 3 &&
		    state == 0x0A && owns_socket(pid, ino))
			port = (int)lport;
	}
	fclose(f);
	return port;
}

/* ---- the server --------------------------------------------------------------------------- */

/* Raises the descriptor limit to its hard limit (the server, started after, inherits it;
 * *old gets the limit to put back) and returns the drop burst it leaves room for, beside
 * the ~400 other connections each side holds. */
static unsigned burst_size(struct rlimit *old)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, old) != 0)
		return 16;
	rl = *old;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl = *old;
	if (rl.rlim_cur < 1024 + 16)
		return 16;
	return rl.rlim_cur - 1024 < ABUSE_BURST ? (unsigned)(rl.rlim_cur - 1024) : ABUSE_BURST;
}

/* DIR/root with the http benchmarks' files and the 1 MiB one; registered for removal. */
static int make_root(soak *k)
{
	char path[sizeof k->root + 16];
	char *big;
	int rc;

	snprintf(k->dir, sizeof k->dir, "/tmp/corio-bench-soak-XXXXXX");
	if (!mkdtemp(k->dir)) {
		k->dir[0] = 0;
		return -1;
	}
	bench_cleanup_path(k->dir);
	snprintf(k->root, sizeof k->root, "%s/root", k->dir);
	bench_cleanup_path(k->root);
	if (hc_make_root(k->dir) != 0 || !(big = malloc(BIG_SIZE)))
		return -1;
	for (size_t i = 0; i < BIG_SIZE; i++)
		big[i] = (char)('a' + i % 26);
	snprintf(path, sizeof path, "%s%s", k->root, BIG_PATH);
	rc = hc_write_file(path, big, BIG_SIZE);
	free(big);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s%s", k->root, files[i]);
		bench_cleanup_path(path);
	}
	return rc;
}

static void remove_root(soak *k)
{
	char path[sizeof k->root + 16];

	if (!k->dir[0])
		return;
	th_remove_tree(k->dir);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s%s", k->root, files[i]);
		bench_cleanup_forget(path);
	}
	bench_cleanup_forget(k->root);
	bench_cleanup_forget(k->dir);
}

/* Starts the server on port 0 and reads its port back: waits (10 s at most) for its
 * listening socket. The port, or 0 (said why). */
static int start_server(soak *k)
{
	char *argv[] = { (char *)bench_self_exe(), "__child", "http_server", "0", k->root, NULL };
	int port = 0;

	k->pid = hc_spawn(NULL, argv);
	if (k->pid < 0) {
		k->pid = 0;
		bench_log("soak: cannot start the server\n");
		return 0;
	}
	for (int i = 0; i < 1000 && !port; i++) {
		struct timespec tick = { 0, 10 * 1000 * 1000 };

		if (waitpid(k->pid, NULL, WNOHANG) == k->pid) {
			bench_child_reaped(k->pid);
			k->pid = 0;
			bench_log("soak: the server exited at start\n");
			return 0;
		}
		if (!(port = listening_port(k->pid)))
			nanosleep(&tick, NULL);
	}
	if (!port)
		bench_log("soak: the server did not listen within 10 s\n");
	return port;
}

/* ---- the run (on a corio loop) ------------------------------------------------------------- */

/* The line of sample s; prev is the one before it (NULL for the first): the request rate
 * is over the interval, so that a stall shows. */
static void print_sample(const soak *k, const sample *s, const sample *prev)
{
	double dt = s->t - (prev ? prev->t : 0);
	uint64_t dr = s->requests - (prev ? prev->requests : 0);

	fprintf(k->out,
		"soak %6.1f s  server: rss %7.1f MiB, fds %5ld, threads %ld  |  requests %9llu "
		"(%6.0f/s), errors %llu  |  corio-bench rss %.1f MiB\n",
		s->t, (double)s->rss_kb / 1024, s->fds, s->threads, (unsigned long long)s->requests,
		dt > 0 ? (double)dr / dt : 0, (unsigned long long)s->errors,
		(double)s->self_kb / 1024);
	fflush(k->out);
}

/* The peak: VmHWM, or a sample above it (the kernel updates VmHWM lazily). */
static void note_peak(soak *k, long kb)
{
	if (kb > k->hwm_kb)
		k->hwm_kb = kb;
}

/* One sample at t s; false when the server is gone. */
static bool take_sample(soak *k, double t)
{
	sample s = { .t = t, .requests = k->ab.st.requests, .errors = k->ab.st.errors };
	long hwm = 0;

	if (!proc_status(k->pid, &s.rss_kb, &hwm, &s.threads))
		return false;
	s.fds = proc_fds(k->pid);
	proc_status(getpid(), &s.self_kb, NULL, NULL);
	note_peak(k, hwm > s.rss_kb ? hwm : s.rss_kb);
	print_sample(k, &s, k->n ? &k->s[k->n - 1] : NULL);
	if (k->n < MAX_SAMPLES)
		k->s[k->n++] = s;
	return true;
}

static void *clients(void *arg)
{
	return (void *)(intptr_t)abuse_run(arg);
}

/* Samples every k->every seconds until the end; the clients stopped when the server died. */
static void watch(soak *k, uint64_t t0)
{
	for (int i = 1;; i++) {
		uint64_t at = t0 + (uint64_t)((double)i * k->every * 1e9), now = corio_now();

		if (at > k->ab.end)
			at = k->ab.end;
		if (at > now)
			corio_sleep(at - now);
		if (!take_sample(k, (double)(corio_now() - t0) / 1e9)) {
			k->died = true;
			abuse_stop(&k->ab);
			return;
		}
		if (at >= k->ab.end)
			return;
	}
}

/* After the clients closed: waits (5 s at most) for the server's descriptors to come back
 * to the baseline, polling: how long that took is reported, never assumed. */
static void settle(soak *k)
{
	uint64_t t0 = corio_now();

	k->fd_after = proc_fds(k->pid);
	for (int i = 0; i < 100 && k->fd_after > k->fd_base; i++) {
		corio_sleep(CORIO_MS(50));
		k->fd_after = proc_fds(k->pid);
	}
	k->settle_s = (double)(corio_now() - t0) / 1e9;
}

static void *soak_main(void *arg)
{
	soak *k = arg;
	uint64_t t0 = corio_now();
	corio_task *load;
	void *rc = NULL;
	long rss, hwm = 0;

	k->ab.end = t0 + (uint64_t)(k->secs * 1e9);
	if (!(load = corio_spawn(clients, &k->ab)))
		return (void *)(intptr_t)-ENOMEM;
	watch(k, t0);
	corio_join(load, &rc);
	if (k->died)
		return rc;
	k->answered = abuse_get_once(k->ab.port, HC_HELLO_PATH, CORIO_SEC(10));
	if (!proc_status(k->pid, &rss, &hwm, NULL)) {
		k->died = true;
		return rc;
	}
	note_peak(k, hwm);
	settle(k);
	return rc;
}

/* ---- the report ----------------------------------------------------------------------------- */

static double mib(long kb)
{
	return (double)kb / 1024;
}

/* The highest RSS among the first (last == false) or last quarter of the samples. */
static long window_peak(const soak *k, bool last)
{
	int w = k->n / 4 > 0 ? k->n / 4 : 1, from = last ? k->n - w : 0;
	long peak = 0;

	for (int i = from; i < from + w; i++)
		if (k->s[i].rss_kb > peak)
			peak = k->s[i].rss_kb;
	return peak;
}

static double growth(const soak *k)
{
	return (double)window_peak(k, true) / (double)window_peak(k, false);
}

static void summary(const soak *k)
{
	const sample *w = &k->s[0], *f = &k->s[k->n - 1];
	const abuse_stats *st = &k->ab.st;
	double ratio = growth(k);

	fprintf(k->out, "soak summary: server rss before any client %.1f MiB, first sample (%.0f s) "
		"%.1f MiB, final %.1f MiB, peak %.1f MiB; peak of the last quarter %.1f MiB / of "
		"the first %.1f MiB: %.2fx (target <= %.1fx: %s)%s\n",
		mib(k->rss_base), w->t, mib(w->rss_kb), mib(f->rss_kb), mib(k->hwm_kb),
		mib(window_peak(k, true)), mib(window_peak(k, false)), ratio, TARGET,
		ratio <= TARGET ? "met" : "missed",
		k->n < 2 ? " [one sample: run longer for a ratio]" : "");
	fprintf(k->out, "soak summary: server fds baseline %ld, final under load %ld, after the "
		"clients closed %ld (%s, %.1f s)\n", k->fd_base, f->fds, k->fd_after,
		k->fd_after <= k->fd_base ? "back to baseline" : "NOT back to baseline",
		k->settle_s);
	fprintf(k->out, "soak summary: requests %llu (%.0f/s), errors %llu%s%s; connections %llu, "
		"dropped %llu, half-sent %llu, slowloris cut %llu, floods blocked %llu (capped "
		"%llu), TLS hellos %llu, idle closed by the server %llu\n",
		(unsigned long long)st->requests, (double)st->requests / f->t,
		(unsigned long long)st->errors, st->errors ? ", last " : "",
		st->errors ? (st->last_error < 0 ? strerror(-st->last_error) : "HTTP status") : "",
		(unsigned long long)st->connections, (unsigned long long)st->dropped,
		(unsigned long long)st->half_sent, (unsigned long long)st->slow_cut,
		(unsigned long long)st->floods, (unsigned long long)st->floods_capped,
		(unsigned long long)st->tls_hellos, (unsigned long long)st->idle_closed);
	fprintf(k->out, "soak summary: corio-bench rss final %.1f MiB\n", mib(f->self_kb));
	fflush(k->out);
}

/* The results: series (one sample per line printed) and single figures, in the suite's
 * usual shape, so that results.json carries every sample. */
static void report(const soak *k)
{
	const sample *f = &k->s[k->n - 1];
	double ratio = growth(k);
	bench_result r;
	int p;

	bench_result_init(&r, "soak", "x", false,
			  "server RSS peak, last quarter / first quarter of %.0f s", k->secs);
	bench_result_add(&r, bench_result_peer(&r, "corio"), ratio);
	snprintf(r.note, sizeof r.note, "target <= %.1fx (%s); peak %.1f MiB", TARGET,
		 ratio <= TARGET ? "met" : "missed", mib(k->hwm_kb));
	bench_result_report(&r, k->o);

	bench_result_init(&r, "soak", "MiB", false, "server RSS every %.0f s (samples in order)",
			  k->every);
	p = bench_result_peer(&r, "corio");
	for (int i = 0; i < k->n; i++)
		bench_result_add(&r, p, mib(k->s[i].rss_kb));
	bench_result_report(&r, k->o);

	bench_result_init(&r, "soak", "fds", false, "server descriptors every %.0f s, baseline %ld",
			  k->every, k->fd_base);
	p = bench_result_peer(&r, "corio");
	for (int i = 0; i < k->n; i++)
		bench_result_add(&r, p, (double)k->s[i].fds);
	snprintf(r.note, sizeof r.note, "after the clients closed: %ld", k->fd_after);
	bench_result_report(&r, k->o);

	bench_result_init(&r, "soak", "req/s", true, "well-behaved requests under abuse");
	bench_result_add(&r, bench_result_peer(&r, "corio"), (double)f->requests / f->t);
	snprintf(r.note, sizeof r.note, "errors %llu; GET /hello after the run: %d",
		 (unsigned long long)f->errors, k->answered);
	bench_result_report(&r, k->o);
}

/* What failed, on stderr; 0 when nothing did. */
static int verdict(const soak *k)
{
	if (k->died) {
		bench_log("soak: FAILED: the server died during the run\n");
		return 1;
	}
	if (k->answered != 200) {
		bench_log("soak: FAILED: the server did not answer GET /hello after the run (%s)\n",
			  k->answered < 0 ? strerror(-k->answered) : "wrong status");
		return 1;
	}
	fprintf(k->out, "soak: the server answered GET /hello after the run: 200\n");
	fflush(k->out);
	return 0;
}

static int report_all(const soak *k)
{
	if (!k->died) {
		summary(k);
		report(k);
	}
	return verdict(k);
}

/* --secs, else 60 s when named alone, 20 s in the suite, 10 s in the quick suite. */
static double duration(const bench_opts *o)
{
	double s = o->secs_given ? o->secs : o->named ? 60 : o->quick ? 10 : 20;

	return s < 1 ? 1 : s;
}

static int run(const bench_opts *o)
{
	soak *k = calloc(1, sizeof *k);
	struct rlimit nofile;
	void *res = NULL;
	int rc = 1;

	if (!k)
		return 1;
	k->o = o;
	k->out = o->json ? stderr : stdout;
	k->secs = duration(o);
	k->every = k->secs >= 2 * EVERY_S ? EVERY_S : k->secs / 3;
	k->ab.paths[0] = HC_HELLO_PATH;
	k->ab.paths[1] = HC_FILE_PATH;
	k->ab.paths[2] = BIG_PATH;
	k->ab.burst = burst_size(&nofile);
	if (make_root(k) != 0) {
		bench_log("soak: cannot write the document root\n");
	} else if ((k->ab.port = start_server(k)) > 0) {
		k->fd_base = proc_fds(k->pid);
		proc_status(k->pid, &k->rss_base, NULL, NULL);
		bench_log("soak: server pid %d on 127.0.0.1:%d, %ld fds, %.0f s of abuse\n",
			  (int)k->pid, k->ab.port, k->fd_base, k->secs);
		if (corio_run(soak_main, k, &res) != 0 || res)
			bench_log("soak: the clients could not run (%s)\n", strerror(ENOMEM));
		else if (k->n == 0)
			bench_log("soak: FAILED: the server died before the first sample\n");
		else
			rc = report_all(k);
	}
	th_stop(&k->pid, SIGTERM, bench_child_reaped);
	remove_root(k);
	free(k);
	setrlimit(RLIMIT_NOFILE, &nofile);
	return rc;
}

const bench_def bench_soak = {
	.name = "soak",
	.desc = "HTTP server under mixed abuse (keep-alive load, slowloris, floods, drops, TLS on "
		"the plain port) for --secs: RSS, fds, threads every 10 s; flat is the target",
	.run = run,
};
