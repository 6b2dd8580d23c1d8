/* bench/b_process.c: subprocesses started and waited for per second: /bin/true spawned
 * with corio_process_spawn and reaped with corio_process_wait, one at a time (seq) and from
 * 16 tasks at once (par), beside the same with asyncio.create_subprocess_exec + proc.wait()
 * (bench/peers/python/process.py, Debian's python3; also on uvloop when it is installed) and
 * Go's os/exec Command.Run (go-process, bench/peers/go/process, GOMAXPROCS the runtime's
 * default). Every figure includes the kernel's fork/exec/exit of /bin/true, which is most of
 * it: the ratios say how much each runtime adds around that. corio runs with the loop's
 * best wait mechanism (corio_caps().process_wait, named in the configuration). Each peer
 * warms up (a tenth of N) in its own process before its timed run. A peer that is missing
 * or fails is reported skipped with the reason, never faked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <corio/corio.h>

#include "bench/bench.h"

#define PAR 16

enum { SEQ, PARALLEL, NMODES };
static const char *const mode_names[NMODES] = { "seq", "par" };
static const unsigned mode_tasks[NMODES] = { 1, PAR };

static const char *const wait_names[] = { "pool", "pidfd poll", "io_uring waitid" };

struct prun {
	unsigned tasks;
	unsigned per_task;
	int err;
	unsigned wait_mode;
	double per_sec;
};

static int spawn_wait_one(void)
{
	static const char *const argv[] = { "/bin/true", NULL };
	corio_process *p;
	int st, rc = corio_process_spawn(argv, NULL, &p);

	if (rc != 0)
		return rc;
	rc = corio_process_wait(p, &st);
	corio_process_free(p);
	return rc != 0 ? rc : (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? 0 : -1;
}

static void *worker(void *arg)
{
	struct prun *r = arg;

	for (unsigned i = 0; i < r->per_task && !r->err; i++) {
		int rc = spawn_wait_one();

		if (rc != 0)
			r->err = rc;
	}
	return NULL;
}

static void round_of(struct prun *r)
{
	corio_task *t[PAR];
	unsigned n = 0;
	uint64_t t0 = bench_now();

	while (n < r->tasks && (t[n] = corio_spawn(worker, r)))
		n++;
	if (corio_gather(t, n, NULL) != 0 || n < r->tasks)
		r->err = r->err ? r->err : -1;
	r->per_sec = (double)(r->per_task * r->tasks) * 1e9 / (double)(bench_now() - t0);
}

static void *prun_main(void *arg)
{
	struct prun *r = arg, warm = *r;
	corio_capabilities c;

	if (corio_caps(&c) == 0)
		r->wait_mode = c.process_wait;
	warm.per_task = r->per_task / 10 + 1;
	round_of(&warm);
	if (warm.err) {
		r->err = warm.err;
		return NULL;
	}
	round_of(r);
	return NULL;
}

/* Processes per second, or -1 (logged). */
static double measure_corio(int mode, unsigned n, unsigned *wait_mode)
{
	struct prun r = { .tasks = mode_tasks[mode], .per_task = n / mode_tasks[mode] };
	int rc = corio_run(prun_main, &r, NULL);

	if (rc != 0 || r.err) {
		bench_log("process: corio %s: %s\n", mode_names[mode], strerror(-(rc ? rc : r.err)));
		return -1;
	}
	*wait_mode = r.wait_mode;
	return r.per_sec;
}

/* ---- peers ---- */

enum { PY, UV, GO, NPEERS };
static const char *const peer_names[NPEERS] = { "asyncio", "uvloop", "go" };

struct peers {
	int col[NMODES][NPEERS];
	const char *why[NPEERS];
	char reason[NPEERS][160];
};

static double value_of(const char *out, int mode)
{
	char want[32];
	const char *s;
	double v;

	snprintf(want, sizeof want, "mode=%s per_sec=", mode_names[mode]);
	if (!(s = strstr(out, want)) || sscanf(s + strlen(want), "%lf", &v) != 1 || v <= 0)
		return -1;
	return v;
}

/* argv of peer i into argv (NULL-terminated); false with *why when it cannot run. */
static bool peer_argv(int i, char **argv, char *path, size_t len, char *count, const char **why)
{
	const char *py = bench_python(), *dir = bench_peers_dir("python");

	if (i == GO) {
		if (!bench_peer_bin("go-process", path, len)) {
			*why = "go-process not built (needs go)";
			return false;
		}
		argv[0] = path;
		argv[1] = "seq,par";
		argv[2] = count;
		argv[3] = NULL;
		return true;
	}
	if (!py || !dir) {
		*why = !py ? "/usr/bin/python3 not installed" : "bench/peers/python not found";
		return false;
	}
	snprintf(path, len, "%s/process.py", dir);
	argv[0] = (char *)py;
	argv[1] = path;
	argv[2] = "seq,par";
	argv[3] = count;
	argv[4] = i == UV ? "--uvloop" : NULL;
	argv[5] = NULL;
	return true;
}

/* One run of peer i, both modes in one process; its figures go to res. */
static void run_peer(struct peers *pp, bench_result res[NMODES], int i, unsigned n)
{
	char path[4096], count[32], out[512], *argv[8];
	int rc;

	if (pp->why[i])
		return;
	snprintf(count, sizeof count, "%u", n);
	if (!peer_argv(i, argv, path, sizeof path, count, &pp->why[i]))
		goto skip;
	rc = bench_run_child(argv, out, sizeof out, NULL);
	if (rc == 0 && strncmp(out, "skipped=", 8) == 0) {
		out[strcspn(out, "\n")] = 0;
		snprintf(pp->reason[i], sizeof pp->reason[i], "%.*s", (int)sizeof pp->reason[i] - 1,
			 out + 8);
		pp->why[i] = pp->reason[i];
		goto skip;
	}
	for (int m = 0; m < NMODES; m++) {
		double v = rc == 0 ? value_of(out, m) : -1;

		if (v < 0) {
			snprintf(pp->reason[i], sizeof pp->reason[i], "%s failed (exit status %d)",
				 peer_names[i], rc);
			pp->why[i] = pp->reason[i];
			goto skip;
		}
		bench_result_add(&res[m], pp->col[m][i], v);
	}
	return;
skip:
	for (int m = 0; m < NMODES; m++)
		bench_result_skip(&res[m], pp->col[m][i], pp->why[i]);
}

static int run(const bench_opts *o)
{
	/* A process costs ~1 ms of the kernel's on a quiet machine, 10 ms on a busy one: N
	 * keeps a run within seconds there. */
	unsigned n = o->quick ? 64 : 240, py_n = o->quick ? 32 : 96, go_n = o->quick ? 64 : 240;
	static const unsigned wait_none = 99;
	unsigned wait_mode = wait_none;
	bench_result res[NMODES];
	struct peers pp = { 0 };

	for (int i = 0; i < o->runs; i++) {
		double c[NMODES];

		for (int m = 0; m < NMODES; m++)
			if ((c[m] = measure_corio(m, n, &wait_mode)) < 0)
				return 1;
		if (i == 0)
			for (int m = 0; m < NMODES; m++) {
				bench_result_init(&res[m], "process", "processes/s", true,
						  "spawn + wait /bin/true, %s, N=%u (asyncio %u), "
						  "corio wait: %s", m ? "16 tasks" : "one at a time",
						  n, py_n, wait_mode < 3 ? wait_names[wait_mode]
									     : "?");
				bench_result_peer(&res[m], "corio");
				for (int p = 0; p < NPEERS; p++)
					pp.col[m][p] = bench_result_peer(&res[m], peer_names[p]);
			}
		for (int m = 0; m < NMODES; m++)
			bench_result_add(&res[m], 0, c[m]);
		for (int p = 0; p < NPEERS; p++)
			run_peer(&pp, res, (p + i) % NPEERS, (p + i) % NPEERS == GO ? go_n : py_n);
		bench_log("  run %d: corio seq %.0f/s, %d tasks %.0f/s\n", i + 1, c[SEQ], PAR,
			  c[PARALLEL]);
	}
	for (int m = 0; m < NMODES; m++)
		bench_result_report(&res[m], o);
	return 0;
}

const bench_def bench_process = {
	.name = "process",
	.desc = "subprocesses per second: spawn + wait of /bin/true, one at a time and 16 at "
		"once, vs asyncio create_subprocess_exec, uvloop, Go os/exec",
	.run = run,
};
