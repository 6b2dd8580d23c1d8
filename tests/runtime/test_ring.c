/* tests/runtime/test_ring.c: the ring under pressure and in its configurations: SQEs cleared
 * over stack garbage, an SQ smaller than the parked tasks, CQ overflow, 100 000 concurrent
 * tasks, ring sizes, and the fallback when the kernel refuses a ring flag. */
#define _GNU_SOURCE
#include "tests/support/helpers.h"
#include "tests/runtime/runtime_helpers.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/utsname.h>

/* ==== ring pressure ==================================================================== */

#define SQ_SLEEPERS 10000
static int sq_rc[SQ_SLEEPERS];

static void *sq_sleeper(void *arg)
{
	sq_rc[(uintptr_t)arg] = corio_sleep(CORIO_MS(10)) == 0 ? 1 : -1;
	return arg;
}

static void *sq_small_main(void *arg)
{
	static void *res[SQ_SLEEPERS];
	corio_statistics st;
	corio_capabilities caps;

	TH_CHECK(corio_caps(&caps) == 0);
	TH_CHECK(caps.sq_entries == 8);
	TH_CHECK(spawn_gather(sq_sleeper, SQ_SLEEPERS, res) == 0);
	for (uintptr_t i = 0; i < SQ_SLEEPERS; i++) {
		TH_CHECK(sq_rc[i] == 1);
		TH_CHECK(res[i] == (void *)i);
	}
	TH_CHECK(corio_stats(&st) == 0);
	TH_CHECK(st.sq_full_flushes > 0);
	TH_CHECK(st.tasks_live == 1);
	return TH_OK;
}

START_TEST(test_sq_smaller_than_parked_tasks)
{
	corio_config cfg = th_config();

	cfg.sq_entries = 8;
	TH_RUN_EXPECT_OK(&cfg, sq_small_main, NULL);
}
END_TEST

/* Every SQE corio prepares outside the ring is cleared first (liburing 2.6 and later leave
 * clearing to io_uring_get_sqe, which only sees the ring's own SQEs). Each call below
 * starts on a stack just filled with 0xff: a field left uncleared would carry IOSQE flags,
 * a buffer index, a personality... and the kernel would refuse the operation. Only the
 * compatibility build (make test-compat) can fail here; liburing 2.3 clears in its helpers. */
static __attribute__((noinline)) void dirty_stack(void)
{
	volatile unsigned char junk[16384];

	memset((void *)junk, 0xff, sizeof junk);
}

static void *garbage_main(void *arg)
{
	int sv[2];
	char b[8] = "ping", r[8];
	int fd;

	dirty_stack();
	TH_CHECK(corio_nop() == 0);
	dirty_stack();
	TH_CHECK(corio_sleep(CORIO_US(10)) == 0);
	dirty_stack();
	TH_CHECK((fd = corio_open("/dev/zero", O_RDONLY, 0)) >= 0);
	dirty_stack();
	TH_CHECK(corio_read(fd, r, sizeof r, -1) == (ssize_t)sizeof r);
	dirty_stack();
	TH_CHECK(corio_close(fd) == 0);
	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	dirty_stack();
	TH_CHECK(corio_send(sv[0], b, 4, 0) == 4);
	dirty_stack();
	TH_CHECK(corio_recv(sv[1], r, sizeof r, 0) == 4 && !memcmp(r, "ping", 4));
	corio_close(sv[0]);
	corio_close(sv[1]);
	return TH_OK;
}

TH_TASK_TEST(test_sqe_cleared_over_stack_garbage, garbage_main)

#define CQ_TASKS 4000
static int cq_ok, cq_timers;
static uint64_t cq_deadline;

static void *cq_task(void *arg)
{
	if ((uintptr_t)arg % 2) {
		corio_timeout to;
		uint64_t now = corio_now();

		/* One clock read decides: a sleep of a positive length always arms a timer (a
		 * task that runs after the deadline, on a loaded machine, arms none). */
		cq_timers += now < cq_deadline;
		/* Inside a scope a sleep keeps a kernel timer of its own (sleeps that end
		 * together otherwise share one): thousands of timer CQEs at one instant. */
		corio_timeout_enter(&to, CORIO_SEC(30));
		if (corio_sleep(now < cq_deadline ? cq_deadline - now : 0) == 0)
			cq_ok++;
		corio_timeout_exit(&to);
	} else {
		int bad = 0;

		for (int i = 0; i < 5; i++)
			bad += corio_nop() != 0;
		if (!bad)
			cq_ok++;
	}
	return NULL;
}

static void *cq_overflow_main(void *arg)
{
	static corio_task *t[CQ_TASKS];
	corio_statistics st;
	corio_capabilities caps;

	TH_CHECK(corio_caps(&caps) == 0);
	TH_CHECK(caps.cq_entries == 16);
	for (uintptr_t i = 0; i < CQ_TASKS; i++)
		TH_CHECK((t[i] = corio_spawn(cq_task, (void *)i)) != NULL);
	/* Every timer fires at the same instant: thousands of CQEs for a 16-entry CQ. */
	cq_deadline = corio_now() + CORIO_MS(50);
	TH_CHECK(corio_gather(t, CQ_TASKS, NULL) == 0);
	TH_CHECK(cq_ok == CQ_TASKS);
	TH_CHECK(corio_stats(&st) == 0);
	/* Every CQE was reaped: the nops' and the timers'. */
	TH_CHECK(st.cqes_reaped >= (uint64_t)CQ_TASKS / 2 * 5 + (uint64_t)cq_timers);
	fprintf(stderr, "cq overflow: %d timers at once, cq_overflows=%llu sq_full_flushes=%llu\n",
		cq_timers, (unsigned long long)st.cq_overflows,
		(unsigned long long)st.sq_full_flushes);
	return TH_OK;
}

START_TEST(test_cq_overflow)
{
	corio_config cfg = th_config();

	cfg.sq_entries = 8;
	cfg.cq_entries = 16;
	TH_RUN_EXPECT_OK(&cfg, cq_overflow_main, NULL);
}
END_TEST

#define MANY_TASKS 100000
static void *many_task(void *arg)
{
	return corio_sleep(CORIO_MS(1)) == 0 ? arg : NULL;
}

static void *many_main(void *arg)
{
	static corio_task *t[MANY_TASKS];
	static void *res[MANY_TASKS];
	corio_statistics st;

	for (uintptr_t i = 0; i < MANY_TASKS; i++)
		TH_CHECK((t[i] = corio_spawn(many_task, (void *)(i + 1))) != NULL);
	TH_CHECK(corio_stats(&st) == 0);
	TH_CHECK(st.tasks_live == MANY_TASKS + 1);
	TH_CHECK(st.stacks_guarded + st.stacks_packed == MANY_TASKS + 1);
	TH_CHECK(corio_gather(t, MANY_TASKS, res) == 0);
	for (uintptr_t i = 0; i < MANY_TASKS; i++)
		TH_CHECK(res[i] == (void *)(i + 1));
	TH_CHECK(corio_stats(&st) == 0);
	TH_CHECK(st.tasks_live == 1);
	return TH_OK;
}

TH_TASK_TEST(test_100k_concurrent_tasks, many_main)

/* ==== ring sizes ======================================================================= */

static void *caps_main(void *arg)
{
	TH_CHECK(corio_caps(arg) == 0);
	TH_CHECK(corio_nop() == 0);
	return TH_OK;
}

START_TEST(test_ring_sizes)
{
	corio_capabilities caps;
	corio_config cfg = th_config();

	TH_RUN_EXPECT_OK(&cfg, caps_main, &caps); /* defaults: 256 / 4096 */
	ck_assert_uint_eq(caps.sq_entries, 256);
	ck_assert_uint_ge(caps.cq_entries, 4096);
	cfg.sq_entries = 8;
	cfg.cq_entries = 4; /* never below 2 * sq */
	TH_RUN_EXPECT_OK(&cfg, caps_main, &caps);
	ck_assert_uint_eq(caps.sq_entries, 8);
	ck_assert_uint_ge(caps.cq_entries, 16);
	cfg.sq_entries = 1u << 30; /* more than io_uring allows: a bad config */
	cfg.cq_entries = 0;
	TH_RUN_CFG_RC(&cfg, caps_main, &caps, -EINVAL);
}
END_TEST

/* ==== ring flags ======================================================================= */

struct flags_case {
	unsigned disabled;
	corio_capabilities caps;
};

static void *flags_worker(void *arg)
{
	return (void *)(intptr_t)corio_sleep(CORIO_SEC(10));
}

static void *flags_main(void *arg)
{
	struct flags_case *fc = arg;
	char buf[128];
	corio_task *t;
	corio_timeout to;
	void *res;

	TH_CHECK(corio_caps(&fc->caps) == 0);
	TH_CHECK((fc->caps.ring_flags & fc->disabled) == 0);
	TH_CHECK(corio_caps_flags_str(&fc->caps, buf, sizeof buf) >= 0);
	if (fc->disabled & IORING_SETUP_DEFER_TASKRUN)
		TH_CHECK(strstr(buf, "DEFER_TASKRUN") == NULL);
	TH_CHECK(fc->caps.cq_entries >= 2 * fc->caps.sq_entries);
	TH_CHECK(corio_caps_has_op(&fc->caps, IORING_OP_NOP));
	TH_CHECK(corio_caps_has_op(&fc->caps, IORING_OP_TIMEOUT));
	TH_CHECK(fc->caps.kernel[0] != 0);
	/* The runtime works the same on the fallback ring. */
	TH_CHECK(corio_nop() == 0);
	TH_CHECK(corio_sleep(CORIO_MS(2)) == 0);
	TH_CHECK((t = corio_spawn(flags_worker, NULL)) != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(2)) == 0);
	corio_cancel(t);
	TH_CHECK(corio_join(t, &res) == -ECANCELED);
	TH_CHECK((intptr_t)res == -ECANCELED);
	corio_timeout_enter(&to, CORIO_MS(5));
	TH_CHECK(corio_sleep(CORIO_SEC(10)) == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&to));
	return TH_OK;
}

static bool kernel_at_least(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a > maj || (a == maj && b >= min);
}

START_TEST(test_ring_flag_fallback)
{
	static const unsigned cases[] = {
		0,
		IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER,
		IORING_SETUP_SINGLE_ISSUER, /* DEFER_TASKRUN alone is refused: must drop it too */
		IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
			IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		corio_config cfg = th_config();
		struct flags_case fc = { .disabled = cases[i] };

		cfg.ring_flags_disable = cases[i];
		TH_RUN_EXPECT_OK(&cfg, flags_main, &fc);
		if (i == 0 && kernel_at_least(6, 1))
			ck_assert_msg((fc.caps.ring_flags &
				       (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER)) ==
					      (IORING_SETUP_DEFER_TASKRUN |
					       IORING_SETUP_SINGLE_ISSUER),
				      "kernel %s >= 6.1 but flags 0x%x", fc.caps.kernel,
				      fc.caps.ring_flags);
		if (i == 2)
			ck_assert_uint_eq(fc.caps.ring_flags & IORING_SETUP_DEFER_TASKRUN, 0);
	}
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("ring", TH_TIMEOUT, test_sqe_cleared_over_stack_garbage, test_sq_smaller_than_parked_tasks, test_cq_overflow, test_100k_concurrent_tasks, test_ring_flag_fallback, test_ring_sizes));
}
