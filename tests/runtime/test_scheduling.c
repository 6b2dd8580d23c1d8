/* tests/runtime/test_scheduling.c: fairness (a yielder does not starve a sleeper), an idle
 * loop uses no CPU, and yields without I/O make no system call. *
 * Every assertion about time is an ordering or a lower bound, or an upper bound far from
 * anything a slow machine would reach that only a functional failure can cross.
 */
#define _GNU_SOURCE
#include "tests/support/helpers.h"
#include "tests/runtime/runtime_helpers.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/utsname.h>

/* ==== fairness, idle CPU, syscall-free yields ========================================== */

static volatile int starve_flag;

static void *starve_sleeper(void *arg)
{
	if (corio_sleep(CORIO_MS(5)) == 0)
		starve_flag = 1;
	return NULL;
}

static void *starve_yielder(void *arg)
{
	uint64_t t0 = corio_now();
	unsigned long n = 0;

	while (!starve_flag) {
		corio_yield();
		n++;
		/* A hang guard, not a speed assertion: the flag comes after 5 ms. */
		TH_CHECK(corio_now() - t0 < CORIO_SEC(20));
	}
	TH_CHECK(n > 0);
	return TH_OK;
}

static void *starve_main(void *arg)
{
	corio_task *y, *s;
	void *res;

	starve_flag = 0;
	TH_CHECK((y = corio_spawn(starve_yielder, NULL)) != NULL);
	TH_CHECK((s = corio_spawn(starve_sleeper, NULL)) != NULL);
	TH_CHECK(corio_join(y, &res) == 0);
	TH_CHECK(corio_join(s, NULL) == 0);
	return res;
}

START_TEST(test_yielder_does_not_starve_sleeper)
{
	corio_config cfg = th_config();

	TH_RUN_EXPECT_OK(NULL, starve_main, NULL);
	cfg.ring_flags_disable = IORING_SETUP_DEFER_TASKRUN;
	TH_RUN_EXPECT_OK(&cfg, starve_main, NULL);
}
END_TEST

static void *idle_sleeper(void *arg)
{
	return (void *)(intptr_t)corio_sleep(CORIO_MS(300));
}

static void *idle_cpu_main(void *arg)
{
	corio_task *t[100];
	void *res[100];
	struct rusage a, b;
	long used_us;

	for (int i = 0; i < 100; i++)
		TH_CHECK((t[i] = corio_spawn(idle_sleeper, NULL)) != NULL);
	/* Measured from the moment every sleeper is parked. */
	corio_yield();
	TH_CHECK(getrusage(RUSAGE_THREAD, &a) == 0);
	TH_CHECK(corio_gather(t, 100, res) == 0);
	TH_CHECK(getrusage(RUSAGE_THREAD, &b) == 0);
	for (int i = 0; i < 100; i++)
		TH_CHECK(res[i] == NULL);
	used_us = (b.ru_utime.tv_sec - a.ru_utime.tv_sec) * 1000000L +
		  (b.ru_utime.tv_usec - a.ru_utime.tv_usec) +
		  (b.ru_stime.tv_sec - a.ru_stime.tv_sec) * 1000000L +
		  (b.ru_stime.tv_usec - a.ru_stime.tv_usec);
	*(long *)arg = used_us;
	TH_CHECK(used_us < 50000);
	return TH_OK;
}

START_TEST(test_idle_loop_uses_no_cpu)
{
	long used = -1;

	TH_RUN_EXPECT_OK(NULL, idle_cpu_main, &used);
	ck_assert_int_ge(used, 0);
}
END_TEST

static void *yield_peer(void *arg)
{
	for (int i = 0; i < 1000; i++)
		corio_yield();
	return NULL;
}

static void *yield_syscall_main(void *arg)
{
	corio_statistics a, b;
	corio_task *peer;

	TH_CHECK(corio_stats(&a) == 0);
	for (int i = 0; i < 1000; i++)
		corio_yield();
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(b.submit_calls == a.submit_calls);
	/* With nothing in flight a lone yielder's next turn starts at once: at most a switch
	 * out and one back per yield (through the scheduler under ASan), none without it. */
	TH_CHECK(b.switches - a.switches <= 2000);
#if !TH_ASAN
	TH_CHECK(b.switches - a.switches == 0);
#endif
	/* After I/O completed, and with a second task yielding too. */
	TH_CHECK(corio_nop() == 0);
	TH_CHECK(corio_sleep(CORIO_MS(1)) == 0);
	TH_CHECK((peer = corio_spawn(yield_peer, NULL)) != NULL);
	TH_CHECK(corio_stats(&a) == 0);
	for (int i = 0; i < 1000; i++)
		corio_yield();
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(b.submit_calls == a.submit_calls);
	TH_CHECK(corio_join(peer, NULL) == 0);
	/* A blocking call does make one. */
	TH_CHECK(corio_stats(&a) == 0);
	TH_CHECK(corio_nop() == 0);
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(b.submit_calls > a.submit_calls);
	TH_CHECK(b.sqes_submitted == a.sqes_submitted + 1);
	TH_CHECK(b.cqes_reaped == a.cqes_reaped + 1);
	return TH_OK;
}

TH_TASK_TEST(test_yield_without_io_makes_no_syscall, yield_syscall_main)

int main(void)
{
	return th_main(TH_SUITE("scheduling", TH_TIMEOUT, test_yielder_does_not_starve_sleeper, test_idle_loop_uses_no_cpu, test_yield_without_io_makes_no_syscall));
}
