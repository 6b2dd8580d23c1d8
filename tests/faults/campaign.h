/* tests/faults/campaign.h: what the seeded fault campaigns (tests/faults/test_campaign_*.c)
 * share: the seeds from CORIO_CAMPAIGN_SEEDS, the fault classes and the CORIO_FAULTS spec
 * each seed derives for them, one faulted run of a workload (descriptor count before and
 * after, a hang detector, the failure message with the command that replays it), the byte
 * pattern the workloads move, and main().
 *
 * A workload is a task function given a cp_ctx: it runs under the spec, checks every
 * result, and returns NULL or a message. What a result may be depends on the class:
 *   CP_SHORT   short transfers only: every call must succeed, bytes exact.
 *   CP_EINTR   shorts + EINTR on the transfers: retried where the API promises it (the fs
 *              helpers), so those workloads must succeed; elsewhere a clean error.
 *   CP_EAGAIN  shorts + EAGAIN on any operation: exact bytes or a clean error.
 *   CP_RESET   shorts + ECONNRESET/EPIPE (sockets) or EIO/ENOSPC (files): exact or clean.
 *   CP_ENOMEM  ENOMEM on any operation: exact or clean.
 * A clean error is a negative errno from the allowed set, never wrong bytes (a received
 * prefix must match the pattern), no hang (a timeout scope fails the run), no descriptor
 * or memory leaked (counted here; LeakSanitizer in the ASan build).
 *
 * Each seed is a Check loop iteration whose index is the seed itself, so Check's own lines
 * ("...:test_echo:137: ...") name it even when the child crashed.
 */
#ifndef CORIO_TESTS_FAULTS_CAMPAIGN_H
#define CORIO_TESTS_FAULTS_CAMPAIGN_H

#include <stdarg.h>

#include "runtime/core/loop.h" /* white-box: a workload turns injection off for its last check */
#include "tests/support/helpers.h"

enum cp_class { CP_SHORT, CP_EINTR, CP_EAGAIN, CP_RESET, CP_ENOMEM, CP_NCLASSES };

static const char *const cp_class_names[CP_NCLASSES] = { "short", "eintr", "eagain", "reset",
							 "enomem" };

/* What a workload run is told. */
typedef struct cp_ctx {
	unsigned seed;
	enum cp_class cls;
	bool must_succeed; /* the class may not make this workload fail */
	int allowed[12];   /* the errnos a clean failure may report (positive, 0-terminated) */
	char spec[160];
	char msg[512];     /* cp_fail's message */
	uint64_t injected; /* faults the loop injected during the run */
	bool clean_error;  /* some call failed as the class allows (cp_judge said so) */
	void *ud;          /* the workload's own */
} cp_ctx;

/* The byte at offset i of seed's stream: a hash of i, so a dropped, repeated or moved
 * chunk of any length shows up. */
static inline uint8_t cp_byte(unsigned seed, uint64_t i)
{
	uint64_t h = (i + 1) * 0x9e3779b97f4a7c15ull ^ seed;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (uint8_t)(h >> 40);
}

static inline void cp_fill(unsigned seed, uint64_t off, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = cp_byte(seed, off + i);
}

/* Index of the first byte of p[0..n) that is not seed's stream at off, or n. */
static inline size_t cp_mismatch(unsigned seed, uint64_t off, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != cp_byte(seed, off + i))
			return i;
	return n;
}

/* A small PRNG for chunk sizes and orders (the workload's own choices, per seed). */
static inline uint32_t cp_rand(uint64_t *state)
{
	uint64_t x = (*state += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((x ^ (x >> 31)) >> 32);
}

/* Formats a failure into c->msg and returns it (a workload returns it as its result).
 * The first failure of a run is the one kept: what other tasks of the workload see
 * after it (EOF, EPIPE) follows from it. */
__attribute__((format(printf, 2, 3))) static inline const char *cp_fail(cp_ctx *c,
									const char *fmt, ...)
{
	va_list ap;

	if (c->msg[0])
		return c->msg;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof c->msg, fmt, ap);
	va_end(ap);
	return c->msg;
}

/* Judges a negative result rc of what: NULL when the class allows this failure, a message
 * otherwise. Never call it with rc >= 0. */
static inline const char *cp_judge(cp_ctx *c, const char *what, long rc)
{
	if (rc >= 0)
		return cp_fail(c, "%s: judged a success (%ld) as a failure", what, rc);
	if (c->must_succeed)
		return cp_fail(c, "%s failed with %ld (%s); this class must succeed", what, rc,
			       strerror((int)-rc));
	for (const int *e = c->allowed; *e; e++) {
		if (-rc == *e) {
			c->clean_error = true;
			return NULL;
		}
	}
	return cp_fail(c, "%s failed with %ld (%s), not an error this class may cause", what, rc,
		       strerror((int)-rc));
}

/* A workload step's verdict on a failed call rc: a message when the failure is not allowed,
 * else cp_stopped (the workload ends there; the run counts as a clean failure). */
static const char cp_stopped[] = "stopped by a clean error";

static inline const char *cp_stop(cp_ctx *c, const char *what, long rc)
{
	const char *m = cp_judge(c, what, rc);

	return m ? m : cp_stopped;
}

/* Turns injection off on this loop (a workload's final clean check), or pauses it while
 * the workload sets up what is not under test (a listener) and resumes it. */
static inline void cp_faults_off(void)
{
	corio__loop_get()->faults.nrules = 0;
}

static inline unsigned cp_faults_pause(void)
{
	unsigned n = corio__loop_get()->faults.nrules;

	cp_faults_off();
	return n;
}

static inline void cp_faults_resume(unsigned n)
{
	corio__loop_get()->faults.nrules = n;
}

/* ---- the spec of a seed and class ------------------------------------------------------ */

/* Fault kinds a workload's layer maps CP_RESET to: sockets or files. */
enum cp_layer { CP_NET, CP_FILES };

/* Builds c->spec for seed and class. Shorts fire with a probability of 0.1 to 0.9 and
 * errors of 0.005 to 0.08, both from the seed, so some runs fail early and some late. */
static inline void cp_spec(cp_ctx *c, enum cp_layer layer)
{
	unsigned s = c->seed;
	double ps = 0.1 + (double)((s * 7u) % 9u) / 10.0;
	double pe = 0.005 + (double)(s % 16u) * 0.005;
	char *b = c->spec;
	size_t n = sizeof c->spec;

	switch (c->cls) {
	case CP_SHORT:
		snprintf(b, n, "%u:short@%.1f", s, ps);
		break;
	case CP_EINTR:
		snprintf(b, n, "%u:short@%.1f,EINTR@%.3f/read+write+readv+writev+recv+send", s, ps,
			 pe * 4);
		break;
	case CP_EAGAIN:
		snprintf(b, n, "%u:short@%.1f,EAGAIN@%.3f", s, ps, pe);
		break;
	case CP_RESET:
		if (layer == CP_NET)
			snprintf(b, n, "%u:short@%.1f,ECONNRESET@%.3f/recv+send,EPIPE@%.3f/send", s,
				 ps, pe, pe);
		else
			snprintf(b, n, "%u:short@%.1f,EIO@%.3f/read+write,ENOSPC@%.3f/write", s, ps,
				 pe, pe);
		break;
	default:
		snprintf(b, n, "%u:ENOMEM@%.3f", s, pe);
		break;
	}
}

/* ---- one run --------------------------------------------------------------------------- */

/* The path of this program, for the replay line. */
static char cp_exe[512];

/* The hang detector: a workload that has not finished after this long under faults is
 * stuck (a run takes well under a second; the margin is for a loaded, sanitized build). */
#define CP_HANG_NS CORIO_SEC(60)

typedef const char *(*cp_workload)(cp_ctx *c);

typedef struct cp_call {
	cp_workload fn;
	cp_ctx *c;
} cp_call;

static inline void *cp_task(void *arg)
{
	cp_call *call = arg;
	corio_timeout t;
	corio_statistics st;
	const char *msg;

	corio_timeout_enter(&t, CP_HANG_NS);
	msg = call->fn(call->c);
	if (msg == cp_stopped)
		msg = NULL;
	if (corio_stats(&st) == 0)
		call->c->injected = st.faults_injected;
	if (corio_timeout_exit(&t)) { /* what failed after the scope fired follows from it */
		char first[400];

		snprintf(first, sizeof first, "%s", msg ? msg : "none");
		snprintf(call->c->msg, sizeof call->c->msg,
			 "hung: still running after %llu s (then: %.400s)",
			 (unsigned long long)(CP_HANG_NS / CORIO_SEC(1)), first);
		msg = call->c->msg;
	}
	return (void *)msg;
}

/* Runs fn under c's spec and fails the Check test, naming seed, class, spec and the
 * command that replays it, if the workload failed, corio_run failed or a descriptor
 * leaked. test is the Check test's name (TH_ONLY in the replay line). */
static inline void cp_run(cp_ctx *c, cp_workload fn, const char *test)
{
	corio_config cfg = th_config();
	cp_call call = { fn, c };
	void *res = NULL;
	int fds = th_count_fds(), rc, after;

	cfg.faults = c->spec;
	rc = corio_run_config(&cfg, cp_task, &call, &res);
	after = th_count_fds();
	if (rc != 0 || res || after != fds)
		ck_abort_msg("seed %u, class %s, CORIO_FAULTS=%s: %s%s (corio_run %d, fds %d -> "
			     "%d)\n  replay: CORIO_CAMPAIGN_SEEDS=%u TH_ONLY=%s %s",
			     c->seed, cp_class_names[c->cls], c->spec, res ? (const char *)res : "",
			     after != fds ? " descriptors leaked" : "", rc, fds, after, c->seed, test,
			     cp_exe);
	if (getenv("CP_VERBOSE"))
		fprintf(stderr, "campaign: seed %u %-6s %-70s %4llu faults, %s\n", c->seed,
			cp_class_names[c->cls], c->spec, (unsigned long long)c->injected,
			c->clean_error ? "clean error" : "exact");
}

/* The errnos a class injects on a layer, 0-terminated. */
static inline const int *cp_injected(enum cp_class cls, enum cp_layer layer)
{
	static const int eintr[] = { EINTR, 0 }, eagain[] = { EAGAIN, 0 },
			 reset_net[] = { ECONNRESET, EPIPE, 0 }, reset_files[] = { EIO, ENOSPC, 0 },
			 enomem[] = { ENOMEM, 0 }, none[] = { 0 };

	switch (cls) {
	case CP_EINTR: return eintr;
	case CP_EAGAIN: return eagain;
	case CP_RESET: return layer == CP_NET ? reset_net : reset_files;
	case CP_ENOMEM: return enomem;
	default: return none;
	}
}

/* Sets c up for its class: the spec, whether it must succeed (its bit in
 * must_succeed_mask, 1 << CP_*), and the errnos a clean failure may report: what the class
 * injects, or one of consequences (0-terminated: what the other end of a failed exchange
 * sees). */
static inline void cp_class_setup(cp_ctx *c, enum cp_layer layer, unsigned must_succeed_mask,
				  const int *consequences)
{
	size_t n = 0;

	for (const int *e = cp_injected(c->cls, layer); *e; e++)
		c->allowed[n++] = *e;
	for (const int *e = consequences; *e && n + 1 < sizeof c->allowed / sizeof *e; e++)
		c->allowed[n++] = *e;
	c->must_succeed = (must_succeed_mask >> c->cls) & 1;
	cp_spec(c, layer);
}

/* Runs fn for seed under every class (cp_class_setup's arguments), calling after(c) after
 * each run when it is not NULL. */
static inline void cp_run_classes(unsigned seed, enum cp_layer layer, cp_workload fn,
				  const char *test, unsigned must_succeed_mask,
				  const int *consequences, void *ud, void (*after)(cp_ctx *c))
{
	const char *only = getenv("CORIO_CAMPAIGN_CLASS");
	uint64_t injected = 0;

	for (int k = 0; k < CP_NCLASSES; k++) {
		cp_ctx c = { .seed = seed, .cls = (enum cp_class)k, .ud = ud };

		if (only && strcmp(only, cp_class_names[k]) != 0)
			continue;
		cp_class_setup(&c, layer, must_succeed_mask, consequences);
		cp_run(&c, fn, test);
		injected += c.injected;
		if (after)
			after(&c);
	}
	/* hundreds of operations at these rates: none faulted means the spec never reached
	 * the loop, and the campaign would check nothing */
	ck_assert_msg(injected > 0 || only, "seed %u: no fault was injected in any class", seed);
}

/* Joins t; when the caller's hang detector fired meanwhile, cancels t and joins it
 * shielded (t then finishes at its next blocking call). Returns t's result. */
static inline void *cp_join_shielded(void *t)
{
	void *res = NULL;

	corio_join(t, &res);
	return res;
}

static inline void *cp_join(corio_task *t)
{
	void *res = NULL;

	/* -ECANCELED would say t itself was cancelled (and freed): only a fired scope of
	 * ours leaves t to join */
	if (corio_join(t, &res) != -ETIMEDOUT)
		return res;
	corio_cancel(t);
	return corio_shield(cp_join_shielded, t);
}

/* ---- seeds and main -------------------------------------------------------------------- */

#define CP_DEFAULT_SEEDS "1-3"
#define CP_MAX_SEEDS 100000u

/* Adds test to tc once per range of CORIO_CAMPAIGN_SEEDS ("1-200", "137", "1-3,17,40-45"):
 * a loop test whose iteration index is the seed. 0, or -1 for a malformed list. */
static inline int cp_add_seeded(TCase *tc, const TTest *test)
{
	const char *s = getenv("CORIO_CAMPAIGN_SEEDS");
	unsigned total = 0;

	if (!s || !*s)
		s = CP_DEFAULT_SEEDS;
	while (*s) {
		char *end;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;

		if (end == s)
			return -1;
		if (*end == '-') {
			s = end + 1;
			hi = strtoul(s, &end, 10);
			if (end == s)
				return -1;
		}
		if (hi < lo || hi >= INT32_MAX || (total += (unsigned)(hi - lo + 1)) > CP_MAX_SEEDS)
			return -1;
		tcase_add_loop_test(tc, test, (int)lo, (int)hi + 1);
		s = end + (*end == ',');
		if (*end && *end != ',')
			return -1;
	}
	return 0;
}

/* A suite named name, one tcase per workload (timeout seconds per seed), each seeded. */
static inline Suite *cp_suite_(const char *name, int timeout, const TTest *const *tests)
{
	Suite *s = suite_create(name);
	const char *only = getenv("TH_ONLY");

	for (; *tests; tests++) {
		TCase *tc;

		if (only && strcmp(only, (*tests)->name) != 0)
			continue;
		tc = tcase_create((*tests)->name);
		tcase_set_timeout(tc, timeout);
		if (cp_add_seeded(tc, *tests) != 0) {
			fprintf(stderr, "CORIO_CAMPAIGN_SEEDS: want N, N-M or a comma-separated "
					"list of them (at most %u seeds)\n", CP_MAX_SEEDS);
			exit(2);
		}
		suite_add_tcase(s, tc);
	}
	return s;
}
#define CP_SUITE(name, timeout, ...)                                                               \
	cp_suite_((name), (timeout), (const TTest *const[]){ __VA_ARGS__, NULL })

/* main(): remembers this program's path for the replay lines, then th_main. */
static inline int cp_main(Suite *s)
{
	ssize_t n = readlink("/proc/self/exe", cp_exe, sizeof cp_exe - 1);

	cp_exe[n > 0 ? n : 0] = 0;
	return th_main(s);
}

#endif
