/* tests/runtime/test_stack.c: the coroutine stacks' Check suite (runtime/core/stack.c through the public
 * API): overflow detection for guarded stacks (guard page + SIGSEGV handler) and packed
 * stacks (canary checked at the next switch), reuse of released stacks, and how AUTO mode
 * mixes the two kinds (guarded_max, and the fallback when mappings run out), and the trim
 * of stacks a burst released (their deep pages given back once nobody needed them).
 *
 * Overflows run in a child process (fork + waitpid here, stderr captured through a pipe):
 * the child must die by SIGABRT after printing "corio: coroutine stack overflow", and must
 * never hang. Under ASan, which may report the overflow itself, any death with a nonzero
 * status and either message is accepted.
 */
#define _GNU_SOURCE
#include "tests/support/helpers.h"

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define OVERFLOW_MSG "corio: coroutine stack overflow"

/* ==== running a body in a child ======================================================== */

struct child {
	int status;
	bool timed_out;
	char err[8192];
	size_t errlen;
};

/* Runs body(arg) in a child whose stderr goes into c->err; the child exits 0 if body
 * returns. Kills the child (and reports timed_out) if it has not died after timeout_s. */
static void run_child(void (*body)(void *), void *arg, struct child *c, int timeout_s)
{
	int p[2];
	pid_t pid;
	uint64_t deadline = th_now() + CORIO_SEC(timeout_s);

	memset(c, 0, sizeof *c);
	ck_assert_int_eq(pipe(p), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core); /* aborts on purpose: no core files */
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		close(p[1]);
		body(arg);
		_exit(0);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		char buf[1024];
		ssize_t n;

		if (th_now() >= deadline) {
			kill(pid, SIGKILL);
			c->timed_out = true;
			break;
		}
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(p[0], buf, sizeof buf);
		if (n <= 0)
			break; /* EOF: the child is gone */
		if (c->errlen + (size_t)n < sizeof c->err - 1) {
			memcpy(c->err + c->errlen, buf, (size_t)n);
			c->errlen += (size_t)n;
		}
	}
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &c->status, 0), pid);
	c->err[c->errlen] = 0;
}

/* The child died of the overflow the way the runtime promises (or, under ASan, died
 * reporting a stack overflow one way or the other). */
static void assert_overflow_death(const struct child *c)
{
	ck_assert_msg(!c->timed_out, "the child hung instead of dying; stderr: %s", c->err);
	ck_assert_msg(!(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0),
		      "the child survived the overflow; stderr: %s", c->err);
	if (TH_ASAN) {
		ck_assert_msg(strstr(c->err, OVERFLOW_MSG) || strstr(c->err, "stack-overflow") ||
				      strstr(c->err, "AddressSanitizer"),
			      "no overflow report; status 0x%x; stderr: %s", c->status, c->err);
		return;
	}
	ck_assert_msg(WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGABRT,
		      "want death by SIGABRT, got status 0x%x; stderr: %s", c->status, c->err);
	ck_assert_msg(strstr(c->err, OVERFLOW_MSG) != NULL, "no \"%s\" on stderr: %s",
		      OVERFLOW_MSG, c->err);
}

/* ==== guarded: infinite recursion hits the guard page ================================== */

static volatile int never; /* keeps the recursion "finite" for the compiler */

static __attribute__((noinline)) uint64_t recurse_forever(uint64_t n)
{
	volatile char buf[512];

	for (size_t i = 0; i < sizeof buf; i += 64)
		buf[i] = (char)n;
	if (never)
		return n;
	return recurse_forever(n + 1) + (uint64_t)buf[n % sizeof buf];
}

static void *overflow_task(void *arg)
{
	return (void *)(uintptr_t)recurse_forever(0);
}

static void *overflow_main(void *arg)
{
	corio_task *t = corio_spawn(overflow_task, NULL);

	if (t)
		corio_join(t, NULL);
	return NULL;
}

static void child_overflow(void *arg)
{
	corio_config cfg = th_config();

	cfg.stack_kind = *(corio_stack_kind *)arg;
	corio_run_config(&cfg, overflow_main, NULL, NULL);
}

/* A child whose loop gives its tasks stacks of this kind recurses without end in a task,
 * and dies of it the way the runtime promises. */
static void assert_overflow_kills_child(corio_stack_kind kind)
{
	struct child c;

	run_child(child_overflow, &kind, &c, 30);
	assert_overflow_death(&c);
}

START_TEST(test_guarded_overflow_aborts_with_message)
{
	assert_overflow_kills_child(CORIO_STACK_GUARDED);
}
END_TEST

/* The same with guarded stacks of their own mapping (PROT_NONE page), the way kernels
 * before 6.13 get. */
START_TEST(test_guarded_overflow_mprotect)
{
	ck_assert_int_eq(setenv("CORIO_STACK_GUARD", "mprotect", 1), 0);
	assert_overflow_kills_child(CORIO_STACK_GUARDED);
}
END_TEST

/* The default (AUTO) gives the first tasks guarded stacks: same behaviour. */
START_TEST(test_auto_overflow_aborts_with_message)
{
	assert_overflow_kills_child(CORIO_STACK_AUTO);
}
END_TEST

/* ==== packed: a broken canary is found at the next switch ============================== */

#define PK_STACK (16u * 1024u)
#define PK_PADS 3

static uintptr_t stack_top_of_current(void)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	/* Stacks are whole pages and the task's first frames sit in its top page. */
	return ((uintptr_t)__builtin_frame_address(0) + page - 1) & ~(page - 1);
}

/* Not instrumented: with ASan's detect_stack_use_after_return, instrumented locals live on
 * ASan's fake stacks and would not touch the coroutine stack at all. */
#define TH_REAL_STACK __attribute__((noinline, no_sanitize_address))

static TH_REAL_STACK void big_frame(void)
{
	volatile char big[4096];

	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)0xa5;
}

/* Recurses until the frame is within 2 KiB of the stack's bottom, then calls a function
 * with a 4 KiB frame, which crosses the bottom (and the canary) into the stack below. */
static TH_REAL_STACK void descend(uintptr_t lo, uintptr_t stop, unsigned *depth)
{
	volatile char buf[128];

	buf[0] = 1;
	if ((uintptr_t)__builtin_frame_address(0) > stop)
		descend(lo, stop, depth);
	else
		big_frame();
	buf[1] = buf[0];
	++*depth;
}

static int pk_survived;

static void *smasher(void *arg)
{
	uintptr_t lo = stack_top_of_current() - PK_STACK;
	unsigned depth = 0;
	bool cross = arg != NULL;

	/* cross: deep enough to cross the bottom; else stop 6 KiB above it (no overflow). */
	descend(lo, lo + (cross ? 2048 : 6144 + 4096), &depth);
	corio_yield(); /* the next switch checks the canary */
	corio_yield();
	pk_survived++;
	return (void *)(uintptr_t)depth;
}

static void *pad_task(void *arg)
{
	corio_sleep(CORIO_SEC(10));
	return NULL;
}

static void *packed_main(void *arg)
{
	corio_task *pads[PK_PADS], *t;
	void *res = NULL;

	/* Packed stacks are carved upward from a slab: main, the pads, then the smasher. The
	 * smasher's neighbour below is a parked pad, so crossing the bottom writes into
	 * mapped memory and only the canary can tell. */
	for (int i = 0; i < PK_PADS; i++)
		TH_CHECK((pads[i] = corio_spawn(pad_task, NULL)) != NULL);
	corio_yield();
	TH_CHECK((t = corio_spawn(smasher, arg)) != NULL);
	TH_CHECK(corio_join(t, &res) == 0);
	TH_CHECK((uintptr_t)res > 0);
	for (int i = 0; i < PK_PADS; i++)
		corio_cancel(pads[i]);
	TH_CHECK(corio_gather(pads, PK_PADS, NULL) == -ECANCELED);
	return TH_OK;
}

static corio_config packed_config(void)
{
	corio_config cfg = th_config();

	cfg.stack_kind = CORIO_STACK_PACKED;
	cfg.stack_size = PK_STACK;
	return cfg;
}

static void child_packed_smash(void *arg)
{
	corio_config cfg = packed_config();

	corio_run_config(&cfg, packed_main, (void *)1, NULL);
}

START_TEST(test_packed_canary_smash_aborts_at_next_switch)
{
	struct child c;

	run_child(child_packed_smash, NULL, &c, 30);
	assert_overflow_death(&c);
}
END_TEST

/* The same layout without crossing the bottom (about 10 KiB of 16 used): no false alarm. */
START_TEST(test_packed_deep_but_within_limits)
{
	corio_config cfg = packed_config();

	TH_RUN_EXPECT_OK(&cfg, packed_main, NULL);
	ck_assert_int_eq(pk_survived, 1);
}
END_TEST

/* ==== reuse ============================================================================ */

#define REUSE_N 100000

static void *tiny(void *arg)
{
	return arg;
}

static void *reuse_main(void *arg)
{
	corio_statistics st;
	uint64_t max_live = 0;
	int maps0 = th_count_maps(), maps1;

	TH_CHECK(maps0 > 0);
	for (uintptr_t i = 0; i < REUSE_N; i++) {
		corio_task *t = corio_spawn(tiny, (void *)i);
		void *res = NULL;

		TH_CHECK(t != NULL);
		if (i % 1000 == 0) {
			TH_CHECK(corio_stats(&st) == 0);
			if (st.stacks_guarded + st.stacks_packed > max_live)
				max_live = st.stacks_guarded + st.stacks_packed;
		}
		TH_CHECK(corio_join(t, &res) == 0);
		TH_CHECK(res == (void *)i);
	}
	TH_CHECK(corio_stats(&st) == 0);
	TH_CHECK(st.tasks_spawned == REUSE_N + 1);
	TH_CHECK(st.stacks_guarded + st.stacks_packed == 1);
	TH_CHECK(max_live <= 2); /* main and the one being spawned */
	/* Released stacks were reused, not mapped anew. */
	maps1 = th_count_maps();
	TH_CHECK(maps1 - maps0 < 16);
	return TH_OK;
}

START_TEST(test_stack_reuse_100k_sequential)
{
	static const corio_stack_kind kinds[] = { CORIO_STACK_AUTO, CORIO_STACK_GUARDED,
						  CORIO_STACK_PACKED };

	for (size_t i = 0; i < 3; i++) {
		corio_config cfg = th_config();

		cfg.stack_kind = kinds[i];
		TH_RUN_EXPECT_OK(&cfg, reuse_main, NULL);
	}
}
END_TEST

/* A loop gives back every mapping it made. */
static void *many_parked_main(void *arg)
{
	corio_task *t[300];

	for (int i = 0; i < 300; i++)
		TH_CHECK((t[i] = corio_spawn(pad_task, NULL)) != NULL);
	corio_yield();
	for (int i = 0; i < 300; i++)
		corio_cancel(t[i]);
	TH_CHECK(corio_gather(t, 300, NULL) == -ECANCELED);
	return TH_OK;
}

START_TEST(test_stacks_unmapped_after_run)
{
	corio_config cfg = th_config();
	int maps0;

	cfg.guarded_max = 100; /* both kinds */
	/* The first run may map things that stay for good (signal stack, libc). */
	TH_RUN_EXPECT_OK(&cfg, many_parked_main, NULL);
	maps0 = th_count_maps();
	TH_RUN_EXPECT_OK(&cfg, many_parked_main, NULL);
	ck_assert_int_le(th_count_maps(), maps0);
}
END_TEST

/* A burst of tasks that went deep, all released: once the loop went a second without
 * needing them, all but the kept few (CORIO__STACK_WARM_KEEP, 64 a kind) have their deep
 * pages released (mincore says which are resident). The stacks still work afterwards. */
#define TRIM_N 300
#define TRIM_KEEP 64
#define DEEP_BYTES (24 * 1024)

static char *deep_addr[TRIM_N];

static void *deep_task(void *arg)
{
	volatile char pad[DEEP_BYTES];

	memset((char *)pad, 1, sizeof pad);
	deep_addr[(intptr_t)arg] = (char *)pad;
	corio_yield(); /* all TRIM_N live at once */
	return (void *)(uintptr_t)pad[7];
}

static int resident_deep(void)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	int n = 0;

	for (int i = 0; i < TRIM_N; i++) {
		unsigned char v = 0;
		void *p = (void *)((uintptr_t)deep_addr[i] & ~(page - 1));

		n += mincore(p, page, &v) == 0 && (v & 1);
	}
	return n;
}

static void *burst(void)
{
	corio_task *t[TRIM_N];

	for (intptr_t i = 0; i < TRIM_N; i++)
		TH_CHECK((t[i] = corio_spawn(deep_task, (void *)i)) != NULL);
	TH_CHECK(corio_gather(t, TRIM_N, NULL) == 0);
	return TH_OK;
}

static void *trim_main(void *arg)
{
	uint64_t end = corio_now() + CORIO_SEC(30);
	int left;

	(void)arg;
	TH_CHECK(burst() == TH_OK);
	TH_CHECK(resident_deep() > TRIM_KEEP);
	/* the trim is due a second after the burst: poll for it (a hang fails at 30 s) */
	while ((left = resident_deep()) > TRIM_KEEP && corio_now() < end)
		corio_sleep(CORIO_MS(100));
	TH_CHECK(left <= TRIM_KEEP);
	TH_CHECK(burst() == TH_OK); /* trimmed stacks run again (their pages read as zero) */
	return TH_OK;
}

START_TEST(test_burst_stacks_trimmed)
{
	static const corio_stack_kind kinds[] = { CORIO_STACK_GUARDED, CORIO_STACK_PACKED };

	for (size_t i = 0; i < 2; i++) {
		corio_config cfg = th_config();

		cfg.stack_kind = kinds[i];
		TH_RUN_EXPECT_OK(&cfg, trim_main, NULL);
	}
}
END_TEST

/* ==== AUTO mode ========================================================================= */

struct auto_case {
	int live;
	corio_statistics st;
	int spawned;
	bool markers; /* guarded stacks cost no mapping each */
};

static void *auto_main(void *arg)
{
	struct auto_case *ac = arg;
	static corio_task *t[60000];
	corio_capabilities caps;

	TH_CHECK(corio_caps(&caps) == 0);
	ac->markers = caps.stack_guard_markers;

	for (int i = 0; i < ac->live - 1; i++) {
		if (!(t[i] = corio_spawn(pad_task, NULL)))
			break;
		ac->spawned++;
	}
	corio_yield();
	TH_CHECK(corio_stats(&ac->st) == 0);
	for (int i = 0; i < ac->spawned; i++)
		corio_cancel(t[i]);
	TH_CHECK(corio_gather(t, (size_t)ac->spawned, NULL) == -ECANCELED);
	return TH_OK;
}

START_TEST(test_auto_guarded_max)
{
	corio_config cfg = th_config();
	struct auto_case ac = { .live = 100 };

	cfg.guarded_max = 16;
	TH_RUN_EXPECT_OK(&cfg, auto_main, &ac);
	ck_assert_int_eq(ac.spawned, 99);
	ck_assert_uint_eq(ac.st.tasks_live, 100);
	ck_assert_uint_eq(ac.st.stacks_guarded, 16);
	ck_assert_uint_eq(ac.st.stacks_packed, 84);
}
END_TEST

/* With no limit of its own, AUTO runs into vm.max_map_count where each guarded stack costs
 * two mappings, and must fall back to packed stacks instead of failing a spawn. With guard
 * markers (6.13+) the same number of guarded stacks must all be made, sharing slabs. */
static void auto_fallback(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	long max_maps = 0;
	corio_config cfg = th_config();
	struct auto_case ac;

	if (!f || fscanf(f, "%ld", &max_maps) != 1 || max_maps > 100000 || TH_ASAN) {
		/* Too many tasks to exhaust here, or ASan (which needs mappings itself). */
		if (f)
			fclose(f);
		fprintf(stderr, "auto fallback: skipped (max_map_count %ld, asan %d)\n", max_maps,
			TH_ASAN);
		return;
	}
	fclose(f);
	ac = (struct auto_case){ .live = (int)(max_maps / 2 + 2000) };
	cfg.guarded_max = 1000000;
	TH_RUN_EXPECT_OK(&cfg, auto_main, &ac);
	ck_assert_int_eq(ac.spawned, ac.live - 1);
	ck_assert_uint_eq(ac.st.stacks_guarded + ac.st.stacks_packed, (uint64_t)ac.live);
	if (ac.markers) {
		ck_assert_uint_eq(ac.st.stacks_guarded, (uint64_t)ac.live);
		return;
	}
	ck_assert_uint_gt(ac.st.stacks_packed, 0);
	ck_assert_uint_lt(ac.st.stacks_guarded, (uint64_t)max_maps / 2);
}

START_TEST(test_auto_falls_back_when_mappings_run_out)
{
	auto_fallback();
}
END_TEST

START_TEST(test_auto_falls_back_mprotect)
{
	ck_assert_int_eq(setenv("CORIO_STACK_GUARD", "mprotect", 1), 0);
	auto_fallback();
}
END_TEST

/* ======================================================================================= */

static Suite *stack_suite(void)
{
	Suite *s = suite_create("stack");

	TH_TCASE(s, "overflow", TH_TIMEOUT, test_guarded_overflow_aborts_with_message, test_guarded_overflow_mprotect, test_auto_overflow_aborts_with_message, test_packed_canary_smash_aborts_at_next_switch, test_packed_deep_but_within_limits);
	TH_TCASE(s, "pool", TH_TIMEOUT, test_stack_reuse_100k_sequential, test_stacks_unmapped_after_run, test_burst_stacks_trimmed, test_auto_guarded_max, test_auto_falls_back_when_mappings_run_out, test_auto_falls_back_mprotect);
	return s;
}

int main(void)
{
	return th_main(stack_suite());
}
