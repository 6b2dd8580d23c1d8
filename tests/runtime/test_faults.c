/* tests/runtime/test_faults.c: the fault injector's Check suite (CORIO_FAULTS, runtime/debug/faults.c and
 * the submit choke point in runtime/core/loop.c), through corio_config.faults and the
 * environment variable: spec validation, the rate and the exact replay of injected
 * failures for a seed, the operations a rule is restricted to, the faults_injected counter,
 * and cancellation of an operation whose failure was injected.
 *
 * Short transfers ("short") are checked here on a pipe with corio_read/corio_write; the
 * file and network suites cover them through their own calls.
 */
#define _GNU_SOURCE
#include "tests/support/helpers.h"

#include <stdbool.h>

static corio_config faults_config(const char *spec)
{
	corio_config cfg = th_config();

	cfg.faults = spec;
	return cfg;
}

static void *noop_main(void *arg)
{
	return arg;
}

/* ==== spec validation ================================================================== */

START_TEST(test_bad_specs_are_einval)
{
	static const char *const bad[] = {
		":EIO",		     /* missing seed */
		"EIO@0.3/nop",	     /* missing seed and colon */
		"x7:EIO",	     /* seed not a number */
		"7",		     /* no rules */
		"7:",		     /* no rules */
		"7:EFROB",	     /* unknown errno */
		"7:eio",	     /* errno names are upper case */
		"7:EIO@2",	     /* probability above 1 */
		"7:EIO@-0.1",	     /* probability below 0 */
		"7:EIO@",	     /* empty probability */
		"7:EIO@0.5x",	     /* trailing garbage */
		"7:EIO@nan",	     /* not a probability */
		"7:EIO/frobnicate",  /* unknown operation */
		"7:EIO/+nop",	     /* empty operation name */
		"7:EIO,,EAGAIN",     /* empty rule */
		"7:shorter",	     /* unknown kind */
		"7:EIO,EIO,EIO,EIO,EIO,EIO,EIO,EIO,EIO", /* more than 8 rules */
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		corio_config cfg = faults_config(bad[i]);
		int fds = th_count_fds();
		int rc = corio_run_config(&cfg, noop_main, NULL, NULL);

		ck_assert_msg(rc == -EINVAL, "spec \"%s\": corio_run returned %d, want -EINVAL",
			      bad[i], rc);
		ck_assert_int_eq(th_count_fds(), fds);
	}
}
END_TEST

/* Regression: a rule with an empty operation list ("EIO/") is malformed (RULE =
 * KIND[@PROB][/OP[+OP...]]) like "EIO/+nop", which is rejected; it was accepted and became
 * a rule that matches no operation, so the run silently injected nothing. */
START_TEST(test_empty_op_list_is_einval)
{
	static const char *const bad[] = { "7:EIO/", "7:EIO@1/", "7:short@1/" };
	char accepted[256] = "";

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		corio_config cfg = faults_config(bad[i]);

		if (corio_run_config(&cfg, noop_main, NULL, NULL) != -EINVAL) {
			strcat(accepted, " \"");
			strcat(accepted, bad[i]);
			strcat(accepted, "\"");
		}
	}
	ck_assert_msg(accepted[0] == 0, "accepted malformed specs:%s", accepted);
}
END_TEST

static void *stats_main(void *arg)
{
	corio_statistics *st = arg;

	if (corio_nop() != 0 || corio_sleep(CORIO_US(100)) != 0)
		return "nop or sleep failed under a spec that cannot touch them";
	corio_stats(st);
	return TH_OK;
}

START_TEST(test_good_specs_are_accepted)
{
	static const char *const good[] = {
		"1:short@1",
		"1:short",
		"0x10:short@0.5/read+write",
		"42:ECONNRESET@0/nop",
		"42:EIO@0.0/nop,EAGAIN@0/timeout",
		"3:ENOSPC/write,EPIPE@0.2/send,short@1/recv",
		"",    /* disabled */
	};

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		corio_config cfg = faults_config(good[i]);
		corio_statistics st;

		memset(&st, 0xff, sizeof st);
		TH_RUN_EXPECT_OK(&cfg, stats_main, &st);
		ck_assert_msg(st.faults_injected == 0, "spec \"%s\" injected %llu faults", good[i],
			      (unsigned long long)st.faults_injected);
	}
}
END_TEST

/* ==== rate and replay ================================================================== */

#define NOPS 1000

struct nop_run {
	int rc[NOPS];
	int failed;
	corio_statistics st;
};

static void *nops_main(void *arg)
{
	struct nop_run *r = arg;

	for (int i = 0; i < NOPS; i++) {
		r->rc[i] = corio_nop();
		TH_CHECK(r->rc[i] == 0 || r->rc[i] == -EIO);
		r->failed += r->rc[i] == -EIO;
	}
	TH_CHECK(corio_stats(&r->st) == 0);
	return TH_OK;
}

static void run_nops(const char *spec, struct nop_run *r)
{
	corio_config cfg = faults_config(spec);

	memset(r, 0, sizeof *r);
	TH_RUN_EXPECT_OK(&cfg, nops_main, r);
}

START_TEST(test_eio_rate_and_replay)
{
	static struct nop_run a, b, c;

	run_nops("7:EIO@0.3/nop", &a);
	/* About 30 % (binomial: sd 14.5 for 1000 draws). */
	ck_assert_msg(a.failed >= 220 && a.failed <= 380, "%d of %d nops failed", a.failed, NOPS);
	ck_assert_uint_eq(a.st.faults_injected, (uint64_t)a.failed);
	/* The same seed replays the same failures, call by call. */
	run_nops("7:EIO@0.3/nop", &b);
	ck_assert_int_eq(b.failed, a.failed);
	ck_assert_mem_eq(a.rc, b.rc, sizeof a.rc);
	ck_assert_uint_eq(b.st.faults_injected, a.st.faults_injected);
	/* Another seed gives another sequence. */
	run_nops("8:EIO@0.3/nop", &c);
	ck_assert_msg(memcmp(a.rc, c.rc, sizeof a.rc) != 0, "seeds 7 and 8 failed the same nops");
	ck_assert_msg(c.failed >= 220 && c.failed <= 380, "%d of %d nops failed", c.failed, NOPS);
	ck_assert_uint_eq(c.st.faults_injected, (uint64_t)c.failed);
}
END_TEST

START_TEST(test_probability_bounds)
{
	static struct nop_run r;

	run_nops("7:EIO@1/nop", &r);
	ck_assert_int_eq(r.failed, NOPS);
	ck_assert_uint_eq(r.st.faults_injected, NOPS);
	run_nops("7:EIO@0/nop", &r);
	ck_assert_int_eq(r.failed, 0);
	ck_assert_uint_eq(r.st.faults_injected, 0);
	/* A failed operation never reached the kernel. */
	run_nops("7:EIO@1/nop", &r);
	ck_assert_uint_eq(r.st.sqes_submitted, 0);
}
END_TEST

/* The environment variable is read when corio_config.faults is NULL. */
START_TEST(test_env_variable)
{
	static struct nop_run a, b;
	corio_config cfg = th_config();

	run_nops("7:EIO@0.3/nop", &a);
	ck_assert_int_eq(setenv("CORIO_FAULTS", "7:EIO@0.3/nop", 1), 0);
	memset(&b, 0, sizeof b);
	TH_RUN_EXPECT_OK(NULL, nops_main, &b);
	ck_assert_mem_eq(a.rc, b.rc, sizeof a.rc);
	ck_assert_int_eq(setenv("CORIO_FAULTS", "7:EBOGUS", 1), 0);
	TH_RUN_CFG_RC(NULL, noop_main, NULL, -EINVAL);
	/* An explicit spec wins over the environment. */
	cfg.faults = "";
	TH_RUN_CFG(&cfg, noop_main, NULL);
	unsetenv("CORIO_FAULTS");
}
END_TEST

/* ==== which operations a rule touches ================================================== */

struct ops_run {
	int nop_rc[200];
	int sleep_rc[50];
	corio_statistics st;
};

static void *ops_main(void *arg)
{
	struct ops_run *r = arg;

	for (int i = 0; i < 200; i++)
		r->nop_rc[i] = corio_nop();
	for (int i = 0; i < 50; i++)
		r->sleep_rc[i] = corio_sleep(CORIO_US(50));
	TH_CHECK(corio_stats(&r->st) == 0);
	return TH_OK;
}

static int count_rc(const int *rc, int n, int want)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += rc[i] == want;
	return k;
}

START_TEST(test_rules_restricted_to_ops)
{
	static struct ops_run r;
	corio_config cfg;

	/* nop only: sleeps untouched. */
	cfg = faults_config("5:EIO@1/nop");
	memset(&r, 0, sizeof r);
	TH_RUN_EXPECT_OK(&cfg, ops_main, &r);
	ck_assert_int_eq(count_rc(r.nop_rc, 200, -EIO), 200);
	ck_assert_int_eq(count_rc(r.sleep_rc, 50, 0), 50);
	ck_assert_uint_eq(r.st.faults_injected, 200);

	/* timeout only: the sleep fails with the injected errno, nops untouched. */
	cfg = faults_config("5:ENOSPC@1/timeout");
	memset(&r, 0, sizeof r);
	TH_RUN_EXPECT_OK(&cfg, ops_main, &r);
	ck_assert_int_eq(count_rc(r.nop_rc, 200, 0), 200);
	ck_assert_int_eq(count_rc(r.sleep_rc, 50, -ENOSPC), 50);
	ck_assert_uint_eq(r.st.faults_injected, 50);

	/* An errno rule without ops leaves timeout and nop alone (they have no I/O to fail);
	 * a second rule naming nop does fail them. */
	cfg = faults_config("9:EAGAIN@0.5,ECONNRESET@0.2/nop");
	memset(&r, 0, sizeof r);
	TH_RUN_EXPECT_OK(&cfg, ops_main, &r);
	{
		int again = count_rc(r.nop_rc, 200, -EAGAIN) + count_rc(r.sleep_rc, 50, -EAGAIN);
		int reset = count_rc(r.nop_rc, 200, -ECONNRESET);
		int ok = count_rc(r.nop_rc, 200, 0) + count_rc(r.sleep_rc, 50, 0);

		ck_assert_int_eq(again, 0);
		ck_assert_int_gt(reset, 0);
		ck_assert_int_lt(reset, 200);
		ck_assert_int_eq(count_rc(r.sleep_rc, 50, 0), 50);
		ck_assert_int_eq(reset + ok, 250);
		ck_assert_uint_eq(r.st.faults_injected, (uint64_t)reset);
	}

	/* short only touches read/write/recv/send: nops and sleeps are left alone. */
	cfg = faults_config("1:short@1");
	memset(&r, 0, sizeof r);
	TH_RUN_EXPECT_OK(&cfg, ops_main, &r);
	ck_assert_int_eq(count_rc(r.nop_rc, 200, 0), 200);
	ck_assert_int_eq(count_rc(r.sleep_rc, 50, 0), 50);
	ck_assert_uint_eq(r.st.faults_injected, 0);
}
END_TEST

/* ==== short transfers ================================================================== */

#define SHORT_ROUNDS 40
#define SHORT_LEN 1000

struct short_run {
	ssize_t w[SHORT_ROUNDS], r[SHORT_ROUNDS];
	bool bytes_ok;
	corio_statistics st;
};

static bool check_bytes(const char *buf, ssize_t n, uint64_t from)
{
	for (ssize_t k = 0; k < n; k++)
		if ((unsigned char)buf[k] != (unsigned char)(from + (uint64_t)k))
			return false;
	return true;
}

/* Writes SHORT_LEN bytes into a pipe and reads SHORT_LEN back, SHORT_ROUNDS times; records
 * what each call moved and checks that every byte written arrives, in order. */
static void *short_rounds(struct short_run *sr, const int *p)
{
	static char out[SHORT_LEN], in[SHORT_LEN];
	uint64_t written = 0, read = 0;

	sr->bytes_ok = true;
	for (int i = 0; i < SHORT_ROUNDS; i++) {
		for (int k = 0; k < SHORT_LEN; k++)
			out[k] = (char)(written + (uint64_t)k);
		sr->w[i] = corio_write(p[1], out, SHORT_LEN, -1);
		TH_CHECK(sr->w[i] >= 1 && sr->w[i] <= SHORT_LEN);
		written += (uint64_t)sr->w[i];
		sr->r[i] = corio_read(p[0], in, SHORT_LEN, -1);
		TH_CHECK(sr->r[i] >= 1 && sr->r[i] <= sr->w[i]);
		sr->bytes_ok &= check_bytes(in, sr->r[i], read);
		read += (uint64_t)sr->r[i];
		/* Drain what a short read left, so every round starts with an empty pipe. */
		while (read < written) {
			ssize_t n = corio_read(p[0], in, (size_t)(written - read), -1);

			TH_CHECK(n >= 1);
			sr->bytes_ok &= check_bytes(in, n, read);
			read += (uint64_t)n;
		}
	}
	return TH_OK;
}

static void *short_main(void *arg)
{
	struct short_run *sr = arg;
	void *msg;
	int p[2];

	TH_CHECK(pipe(p) == 0);
	msg = short_rounds(sr, p);
	close(p[0]);
	close(p[1]);
	TH_CHECK(corio_stats(&sr->st) == 0);
	return msg;
}

static int count_short(const ssize_t *v)
{
	int n = 0;

	for (int i = 0; i < SHORT_ROUNDS; i++)
		n += v[i] < SHORT_LEN;
	return n;
}

START_TEST(test_short_transfers)
{
	static struct short_run a, b, c, d;
	corio_config cfg;

	/* Without faults a pipe moves the whole 1000 bytes each time. */
	cfg = faults_config("");
	TH_RUN_EXPECT_OK(&cfg, short_main, &a);
	ck_assert(a.bytes_ok);
	ck_assert_int_eq(count_short(a.w) + count_short(a.r), 0);

	/* short@1: every read and write is shortened (never to 0), no byte lost or reordered. */
	cfg = faults_config("1:short@1");
	TH_RUN_EXPECT_OK(&cfg, short_main, &a);
	ck_assert(a.bytes_ok);
	ck_assert_int_eq(count_short(a.w), SHORT_ROUNDS);
	ck_assert_int_eq(count_short(a.r), SHORT_ROUNDS);
	ck_assert_uint_ge(a.st.faults_injected, 2 * SHORT_ROUNDS);

	/* The same seed shortens by the same amounts; another seed does not. */
	TH_RUN_EXPECT_OK(&cfg, short_main, &b);
	ck_assert_mem_eq(a.w, b.w, sizeof a.w);
	ck_assert_mem_eq(a.r, b.r, sizeof a.r);
	cfg = faults_config("2:short@1");
	TH_RUN_EXPECT_OK(&cfg, short_main, &c);
	ck_assert(c.bytes_ok);
	ck_assert_msg(memcmp(a.w, c.w, sizeof a.w) != 0, "seeds 1 and 2 shortened alike");

	/* Restricted to reads: writes move everything. */
	cfg = faults_config("1:short@1/read");
	TH_RUN_EXPECT_OK(&cfg, short_main, &d);
	ck_assert(d.bytes_ok);
	ck_assert_int_eq(count_short(d.w), 0);
	ck_assert_int_eq(count_short(d.r), SHORT_ROUNDS);
}
END_TEST

/* ==== injected failures and the rest of the runtime ==================================== */

/* Runtime-internal requests (wait timers, cancels, timer removals) are never failed, even
 * under a rule that fails every timeout. */
static volatile int release;

static void *spinner(void *arg)
{
	while (!release)
		corio_yield();
	return (void *)(intptr_t)corio_sleep(CORIO_MS(1));
}

static void *internal_main(void *arg)
{
	corio_task *t;
	corio_timeout to;
	void *res = NULL;
	uint64_t t0 = corio_now();

	/* A join under a timeout scope parks on a kernel timer the runtime arms itself. */
	TH_CHECK((t = corio_spawn(spinner, NULL)) != NULL);
	corio_timeout_enter(&to, CORIO_MS(5));
	TH_CHECK(corio_join(t, &res) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(5));
	TH_CHECK(corio_timeout_exit(&to));
	/* The task's own timeout op is fair game for the rule. */
	release = 1;
	TH_CHECK(corio_join(t, &res) == 0);
	TH_CHECK((intptr_t)res == -EIO);
	return TH_OK;
}

START_TEST(test_runtime_requests_never_faulted)
{
	corio_config cfg = faults_config("3:EIO@1/timeout");

	TH_RUN_EXPECT_OK(&cfg, internal_main, NULL);
}
END_TEST

/* Cancelling a task whose operation failed by injection: the call returns the injected
 * result (the operation "completed"), the next call -ECANCELED; nothing hangs or leaks. */
struct injected {
	int phase; /* 1: in the first nop, 2: in the second, 3: finished */
	int rc[2];
};

static void *injected_target(void *arg)
{
	struct injected *in = arg;

	in->phase = 1;
	in->rc[0] = corio_nop();
	in->phase = 2;
	in->rc[1] = corio_nop();
	in->phase = 3;
	return NULL;
}

static void *cancel_injected_main(void *arg)
{
	int seen[4] = { 0 };

	for (int i = 0; i < 300; i++) {
		struct injected in = { 0, { 1, 1 } };
		corio_task *t = corio_spawn(injected_target, &in);
		int phase;

		TH_CHECK(t != NULL);
		for (int k = 0; k < i % 5; k++)
			corio_yield();
		phase = in.phase;
		seen[phase]++;
		corio_cancel(t);
		TH_CHECK(corio_join(t, NULL) == (phase == 3 ? 0 : -ECANCELED));
		switch (phase) {
		case 0:
			TH_CHECK(in.phase == 0); /* never ran */
			break;
		case 1:
			TH_CHECK(in.rc[0] == -EIO);
			TH_CHECK(in.rc[1] == -ECANCELED);
			break;
		default:
			TH_CHECK(in.rc[0] == -EIO);
			TH_CHECK(in.rc[1] == -EIO);
			break;
		}
	}
	TH_CHECK(seen[0] > 0 && seen[1] > 0 && seen[2] > 0);
	return TH_OK;
}

START_TEST(test_cancel_injected_failure)
{
	corio_config cfg = faults_config("11:EIO@1/nop");

	TH_RUN_EXPECT_OK(&cfg, cancel_injected_main, NULL);
}
END_TEST

/* ======================================================================================= */

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");

	TH_TCASE(s, "spec", TH_TIMEOUT, test_bad_specs_are_einval, test_empty_op_list_is_einval, test_good_specs_are_accepted, test_env_variable);
	TH_TCASE(s, "inject", TH_TIMEOUT, test_eio_rate_and_replay, test_probability_bounds, test_rules_restricted_to_ops, test_short_transfers, test_runtime_requests_never_faulted, test_cancel_injected_failure);
	return s;
}

int main(void)
{
	return th_main(faults_suite());
}
