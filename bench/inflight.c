/* bench/inflight.c: the "I/O in flight" state of the micro-benchmarks (bench/inflight.h):
 * K parked receives on socket pairs and one armed timer in the current loop, set up so that
 * every operation has reached the kernel before the timed part, and torn down with nothing
 * left behind; running the compiled micro peers (go-micro, tokio-micro) and the Python
 * scripts in either state; the note comparing corio's two states.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/inflight.h"

extern char **environ;

const char *const bench_state_name[BENCH_NSTATES] = {
	"idle",
	"1000 recvs + a timer in flight",
};

/* ---- the in-flight state ------------------------------------------------------------------ */

struct slot {
	bench_inflight *f;
	int fd[2];         /* the receiver parks on fd[0]; nothing is ever written to fd[1] */
};

struct bench_inflight {
	unsigned k;
	unsigned npairs;     /* socket pairs made (their descriptors are ours to close) */
	unsigned ntasks;     /* tasks spawned: receivers, then the sleeper */
	unsigned parked;     /* tasks that reached their recv or sleep */
	unsigned ended;      /* tasks whose operation ended other than by our cancel */
	long last_result;    /* what the last of those returned, for the log */
	struct slot *slots;
	corio_task **tasks;
};

static void *receiver(void *arg)
{
	struct slot *s = arg;
	char byte;
	ssize_t n;

	s->f->parked++;
	n = corio_recv(s->fd[0], &byte, 1, 0);
	if (n != -ECANCELED) {
		s->f->ended++;
		s->f->last_result = (long)n;
	}
	return NULL;
}

static void *sleeper(void *arg)
{
	bench_inflight *f = arg;
	int rc;

	f->parked++;
	rc = corio_sleep(CORIO_SEC(60));
	if (rc != -ECANCELED) {
		f->ended++;
		f->last_result = rc;
	}
	return NULL;
}

void bench_inflight_nofile(unsigned loops)
{
	/* Two descriptors per pair and loop, and the peers (children inherit the limit, and
	 * raise theirs to the hard limit themselves) need as many again: room for both. */
	rlim_t need = (rlim_t)loops * (2 * BENCH_INFLIGHT_K + 64) + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* Spawns the receivers on fresh socket pairs and the sleeper; 0 or -errno (logged). */
static int populate(bench_inflight *f)
{
	for (unsigned i = 0; i < f->k; i++) {
		struct slot *s = &f->slots[i];

		s->f = f;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->fd) != 0) {
			int e = errno;

			bench_log("inflight: socketpair %u of %u: %s\n", i + 1, f->k, strerror(e));
			return -e;
		}
		f->npairs++;
		if (!(f->tasks[f->ntasks] = corio_spawn(receiver, s)))
			break;
		f->ntasks++;
	}
	if (f->ntasks == f->k && (f->tasks[f->ntasks] = corio_spawn(sleeper, f)))
		f->ntasks++;
	if (f->ntasks < f->k + 1) {
		bench_log("inflight: corio_spawn: %s\n", strerror(errno));
		return -ENOMEM;
	}
	return 0;
}

/* Yields until every task reached its operation, then twice more: the turn after the last
 * one parked submits the SQEs still queued, and a recv or sleep that failed at once has
 * completed by the turn after that. True when all are parked and none ended. */
static bool settle(bench_inflight *f)
{
	for (unsigned turns = 0; f->parked < f->ntasks && turns < 1000; turns++)
		corio_yield();
	corio_yield();
	corio_yield();
	if (f->parked < f->ntasks || f->ended) {
		bench_log("inflight: %u of %u tasks parked, %u ended early (last result %ld)\n",
			  f->parked, f->ntasks, f->ended, f->last_result);
		return false;
	}
	return true;
}

bench_inflight *bench_inflight_start(unsigned k)
{
	bench_inflight *f = calloc(1, sizeof *f);
	corio_statistics before, after;

	bench_inflight_nofile(1);
	if (!f || !(f->slots = calloc(k ? k : 1, sizeof *f->slots)) ||
	    !(f->tasks = calloc(k + 1, sizeof *f->tasks))) {
		bench_log("inflight: out of memory\n");
		bench_inflight_stop(f);
		return NULL;
	}
	f->k = k;
	corio_stats(&before);
	if (populate(f) != 0 || !settle(f)) {
		bench_inflight_stop(f);
		return NULL;
	}
	/* Each parked operation was one SQE (corio counts an SQE when it queues it; settle's
	 * extra turn handed the queue to the kernel). */
	corio_stats(&after);
	if (after.sqes_submitted - before.sqes_submitted < (uint64_t)k + 1) {
		bench_log("inflight: %llu SQEs for %u parked operations\n",
			  (unsigned long long)(after.sqes_submitted - before.sqes_submitted), k + 1);
		bench_inflight_stop(f);
		return NULL;
	}
	return f;
}

int bench_inflight_stop(bench_inflight *f)
{
	int rc = 0;

	if (!f)
		return 0;
	if (f->ended) {
		bench_log("inflight: %u parked operations ended before the teardown (last result "
			  "%ld)\n", f->ended, f->last_result);
		rc = -1;
	}
	for (unsigned i = 0; i < f->ntasks; i++)
		corio_cancel(f->tasks[i]);
	/* Every task is joined (corio_run would otherwise wait for it), each returning
	 * -ECANCELED; only then are the descriptors closed: no recv is left on a closed fd. */
	for (unsigned i = 0; i < f->ntasks; i++)
		corio_join(f->tasks[i], NULL);
	for (unsigned i = 0; i < f->npairs; i++) {
		close(f->slots[i].fd[0]);
		close(f->slots[i].fd[1]);
	}
	free(f->tasks);
	free(f->slots);
	free(f);
	return rc;
}

struct wrapped {
	unsigned k;
	corio_fn fn;
	void *arg;
	int err;
};

static void *wrapped_main(void *arg)
{
	struct wrapped *w = arg;
	bench_inflight *f = bench_inflight_start(w->k);

	if (!f) {
		w->err = -EIO;
		return NULL;
	}
	w->fn(w->arg);
	if (bench_inflight_stop(f) != 0)
		w->err = -EIO;
	return NULL;
}

int bench_inflight_run(unsigned k, corio_fn fn, void *arg)
{
	struct wrapped w = { .k = k, .fn = fn, .arg = arg };
	int rc;

	if (k == 0)
		return corio_run(fn, arg, NULL);
	rc = corio_run(wrapped_main, &w, NULL);
	return rc != 0 ? rc : w.err;
}

void bench_inflight_note(bench_result *r, const bench_result *idle, bool target)
{
	double busy = bench_median(&r->peers[0]), calm = bench_median(&idle->peers[0]), x;

	if (!bench_peer_usable(&r->peers[0]) || !bench_peer_usable(&idle->peers[0]) ||
	    busy <= 0 || calm <= 0)
		return;
	/* As a cost: a rate that drops to half is twice the cost per item. */
	x = r->higher_is_better ? calm / busy : busy / calm;
	if (target)
		snprintf(r->note, sizeof r->note, "%.2fx idle [target: in-flight <= 1.5x idle: %s]",
			 x, x <= 1.5 ? "met" : "MISSED");
	else
		snprintf(r->note, sizeof r->note, "%.2fx idle", x);
}

/* ---- go-micro and tokio-micro ------------------------------------------------------------ */

static const struct {
	const char *column, *program;
	const char *const flags[5]; /* after the contract's own arguments */
	bool gomaxprocs1;           /* corio runs one loop: Go gets one P */
} micro_peers[BENCH_MICRO_NPEERS] = {
	{ "go", "go-micro", { NULL }, true },
	{ "tokio", "tokio-micro", { "--flavor", "current", NULL }, false },
	{ "tokio-multi", "tokio-micro", { "--flavor", "multi", "--threads", "1", NULL }, false },
};

void bench_micro_add(bench_result *r, bench_micro *m)
{
	char path[4096];

	for (int i = 0; i < BENCH_MICRO_NPEERS; i++) {
		m->why[i] = NULL;
		m->n[i] = 0;
		if (!bench_peer_bin(micro_peers[i].program, path, sizeof path)) {
			snprintf(m->reason[i], sizeof m->reason[i], "%s not built",
				 micro_peers[i].program);
			m->why[i] = m->reason[i];
		}
		m->col[i] = bench_result_peer_skipped(r, micro_peers[i].column, m->why[i]);
	}
}

void bench_micro_skip(bench_result *r, bench_micro *m, int i, const char *why)
{
	m->why[i] = why;
	bench_result_skip(r, m->col[i], why);
}

/* This process's environment with GOMAXPROCS=1 in place of any GOMAXPROCS, into envp
 * (NULL-terminated, at most max entries); the strings are environ's own. */
static void env_gomaxprocs1(char **envp, size_t max)
{
	size_t n = 0;

	envp[n++] = "GOMAXPROCS=1";
	for (char **e = environ; *e && n + 1 < max; e++)
		if (strncmp(*e, "GOMAXPROCS=", 11) != 0)
			envp[n++] = *e;
	envp[n] = NULL;
}

/* The one number a micro peer prints on stdout: ns per operation (> 0), or -1. Its stderr
 * is in out too (a failing peer says why there): the figure is the line that is a number
 * and nothing else. */
static double parse_ns(const char *out)
{
	const char *line = out;

	for (;;) {
		char *end;
		double v = strtod(line, &end);

		if (end != line && (*end == '\n' || *end == 0) && v > 0)
			return v;
		if (!(line = strchr(line, '\n')))
			return -1;
		line++;
	}
}

/* One run of peer i; ns per operation, or -1 with why (why_len bytes) written (logged). */
static double micro_run(int i, const char *mode, uint64_t n, const char *arg, unsigned k,
			char *why, size_t why_len)
{
	char path[4096], count[32], inflight[16], out[256], *argv[16], *envp[512];
	size_t a = 0;
	th_child c;
	double ns;
	int rc;

	if (!bench_peer_bin(micro_peers[i].program, path, sizeof path)) {
		snprintf(why, why_len, "%s not built", micro_peers[i].program);
		return -1;
	}
	snprintf(count, sizeof count, "%llu", (unsigned long long)n);
	snprintf(inflight, sizeof inflight, "%u", k);
	argv[a++] = path;
	argv[a++] = (char *)mode;
	argv[a++] = count;
	if (arg)
		argv[a++] = (char *)arg;
	argv[a++] = "--inflight";
	argv[a++] = inflight;
	for (int f = 0; micro_peers[i].flags[f]; f++)
		argv[a++] = (char *)micro_peers[i].flags[f];
	argv[a] = NULL;
	c = bench_child(argv);
	if (micro_peers[i].gomaxprocs1) {
		env_gomaxprocs1(envp, sizeof envp / sizeof envp[0]);
		c.envp = envp;
	}
	c.std[2] = TH_FD_STDOUT;
	c.alarm_s = 120; /* a hung peer is killed, not waited for */
	rc = th_run(&c, out, sizeof out, NULL);
	if (rc == 0 && (ns = parse_ns(out)) > 0)
		return ns;
	out[strcspn(out, "\n")] = 0; /* its first line: the error message, as a rule */
	bench_log("  %s %s %s%s%s --inflight %u exited with %d, printed '%s'\n",
		  micro_peers[i].program, mode, count, arg ? " " : "", arg ? arg : "", k, rc, out);
	if (rc == 0)
		snprintf(why, why_len, "%s printed no figure", micro_peers[i].program);
	else
		snprintf(why, why_len, "%s %s: exit status %d%s%.80s", micro_peers[i].program, mode,
			 rc, out[0] ? ": " : "", out);
	return -1;
}

void bench_micro_measure(bench_result *r, bench_micro *m, const char *mode, uint64_t n,
			 const char *arg, unsigned k, bool rate)
{
	for (int i = 0; i < BENCH_MICRO_NPEERS; i++) {
		uint64_t ni = m->n[i] ? m->n[i] : n;
		double ns;

		if (m->why[i])
			continue;
		ns = micro_run(i, mode, ni, arg, k, m->reason[i], sizeof m->reason[i]);
		if (ns < 0) {
			bench_micro_skip(r, m, i, m->reason[i]);
			continue;
		}
		bench_result_add(r, m->col[i], rate ? 1e9 / ns : ns);
		/* yield counts 2 operations per N (two tasks), the other modes one. */
		if (ns * (double)ni * (strcmp(mode, "yield") == 0 ? 2 : 1) > BENCH_MICRO_BUDGET_NS) {
			ni = (uint64_t)(BENCH_MICRO_BUDGET_NS / ns /
					(strcmp(mode, "yield") == 0 ? 2 : 1));
			m->n[i] = ni < 1000 ? 1000 : ni / 1000 * 1000;
		}
	}
}

/* ---- the Python scripts ------------------------------------------------------------------ */

/* Runs the script once on loop i (0 asyncio, 1 uvloop) into out; 0, or -1 with *why. */
static int python_run(int i, const char *script, const char *shapes, uint64_t n,
		      bool inflight_first, char *out, size_t len, const char **why)
{
	static char skipped[160]; /* the script's own reason: uvloop missing, the same each time */
	const char *py = bench_python(), *dir = bench_peers_dir("python");
	char path[4096], count[32], states[32];
	int rc;

	if (!py || !dir) {
		*why = !py ? "/usr/bin/python3 not installed"
			   : "bench/peers/python not found (set CORIO_BENCH_PEERS)";
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", dir, script);
	snprintf(count, sizeof count, "%llu", (unsigned long long)n);
	snprintf(states, sizeof states, "%u,%u", inflight_first ? BENCH_INFLIGHT_K : 0,
		 inflight_first ? 0 : BENCH_INFLIGHT_K);
	rc = bench_run_child((char *[]){ (char *)py, path, (char *)shapes, count, "--inflight",
					 states, i ? "--uvloop" : NULL, NULL },
			     out, len, NULL);
	if (rc == 0 && strncmp(out, "skipped=", 8) == 0) {
		out[strcspn(out, "\n")] = 0;
		snprintf(skipped, sizeof skipped, "%.*s", (int)sizeof skipped - 1, out + 8);
		*why = skipped;
		return -1;
	}
	if (rc != 0) {
		bench_log("  %s %s %s %s --inflight %s%s exited with %d\n", py, path, shapes, count,
			  states, i ? " --uvloop" : "", rc);
		*why = i ? "uvloop peer failed" : "python peer failed";
		return -1;
	}
	return 0;
}

/* The figure of shape in state k from a script's output, or -1. */
static double python_value(const char *out, const char *shape, unsigned k, const char *key)
{
	char want[96];
	const char *s;
	double v;

	snprintf(want, sizeof want, "=%s inflight=%u %s=", shape, k, key);
	if (!(s = strstr(out, want)) || sscanf(s + strlen(want), "%lf", &v) != 1 || v < 0)
		return -1;
	return v;
}

void bench_py_add(bench_py_slot *s)
{
	s->col[0] = bench_result_peer(s->r, "asyncio");
	s->col[1] = bench_result_peer(s->r, "uvloop");
}

void bench_py_measure(bench_py *p, const char *script, const char *shapes, uint64_t n,
		      const char *key, bench_py_slot *slots, int nslots, bool inflight_first)
{
	char out[2048];

	for (int i = 0; i < BENCH_PY_NPEERS; i++) {
		double v[16];

		if (nslots > 16)
			abort(); /* a benchmark bug, as bench_result_peer says */
		if (p->why[i])
			continue;
		if (python_run(i, script, shapes, n, inflight_first, out, sizeof out, &p->why[i]) == 0)
			for (int j = 0; j < nslots && !p->why[i]; j++) {
				v[j] = python_value(out, slots[j].shape,
						    bench_state_k(slots[j].state), key);
				if (v[j] < 0) {
					bench_log("  %s printed no %s for %s, %s: '%s'\n", script,
						  key, slots[j].shape,
						  bench_state_name[slots[j].state], out);
					p->why[i] = "python peer printed no figure";
				}
			}
		for (int j = 0; j < nslots; j++) {
			if (p->why[i])
				bench_result_skip(slots[j].r, slots[j].col[i], p->why[i]);
			else
				bench_result_add(slots[j].r, slots[j].col[i], v[j]);
		}
	}
}
