/* tests/runtime/test_scheduling.c: fairness (a yielder does not starve a sleeper, nor a
 * receive woken by another thread), an idle loop uses no CPU, yields without I/O make no
 * system call, and yields with I/O in flight almost none where the kernel flags its
 * pending work (IORING_SETUP_TASKRUN_FLAG, 5.19), one per turn before.
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
#include <sys/socket.h>
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

/* The ring setups a loop turn behaves differently under: everything the kernel offers, no
 * DEFER_TASKRUN (completions posted by task work at any enter), and no TASKRUN_FLAG (no
 * flag to read: every turn with I/O in flight enters, as before 5.19). */
static const unsigned ring_variants[] = { 0, IORING_SETUP_DEFER_TASKRUN,
					  IORING_SETUP_TASKRUN_FLAG };

/* Runs fn as the main task of a loop under each of ring_variants. */
static void run_ring_variants(corio_fn fn)
{
	for (size_t i = 0; i < sizeof ring_variants / sizeof ring_variants[0]; i++) {
		corio_config cfg = th_config();

		cfg.ring_flags_disable = ring_variants[i];
		TH_RUN_EXPECT_OK(&cfg, fn, NULL);
	}
}

START_TEST(test_yielder_does_not_starve_sleeper)
{
	run_ring_variants(starve_main);
}
END_TEST

/* ---- a receive woken by another thread while two tasks only yield ---------------------- */

static int wake_sv[2];
static volatile int wake_got;

static void *wake_receiver(void *arg)
{
	char c = 0;

	TH_CHECK(corio_recv(wake_sv[0], &c, 1, 0) == 1);
	TH_CHECK(c == 'w');
	wake_got = 1;
	return TH_OK;
}

static void *wake_writer(void *arg)
{
	/* Another thread: its write completes the parked receive through the kernel's task
	 * work, which the loop learns of only from the ring (flag, CQ, or its bounded enter). */
	return (void *)(intptr_t)write(wake_sv[1], "w", 1);
}

static void *wake_yielder(void *arg)
{
	uint64_t t0 = corio_now();

	while (!wake_got) {
		corio_yield();
		/* A hang guard, not a speed assertion. */
		TH_CHECK(corio_now() - t0 < CORIO_SEC(20));
	}
	return TH_OK;
}

static void *wake_main(void *arg)
{
	corio_task *r, *y[2];
	pthread_t th;
	void *res[3], *wrote;

	wake_got = 0;
	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, wake_sv) == 0);
	TH_CHECK((r = corio_spawn(wake_receiver, NULL)) != NULL);
	corio_yield(); /* the receive is submitted at the end of this turn */
	corio_yield();
	TH_CHECK((y[0] = corio_spawn(wake_yielder, NULL)) != NULL);
	TH_CHECK((y[1] = corio_spawn(wake_yielder, NULL)) != NULL);
	TH_CHECK(pthread_create(&th, NULL, wake_writer, NULL) == 0);
	TH_CHECK(corio_join(y[0], &res[0]) == 0 && res[0] == TH_OK);
	TH_CHECK(corio_join(y[1], &res[1]) == 0 && res[1] == TH_OK);
	TH_CHECK(corio_join(r, &res[2]) == 0 && res[2] == TH_OK);
	TH_CHECK(pthread_join(th, &wrote) == 0 && (intptr_t)wrote == 1);
	close(wake_sv[0]);
	close(wake_sv[1]);
	return TH_OK;
}

START_TEST(test_yielders_do_not_starve_a_receive)
{
	run_ring_variants(wake_main);
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

/* ---- yields with receives parked and a timer armed ------------------------------------- */

#define PARKED 100
#define YIELDS 20000

static int parked_sv[PARKED][2];

static void *parked_recv(void *arg)
{
	char c;

	/* Nothing is ever written: ends with the cancellation. */
	return (void *)(intptr_t)corio_recv(parked_sv[(intptr_t)arg][0], &c, 1, 0);
}

static void *parked_sleep(void *arg)
{
	return (void *)(intptr_t)corio_sleep(CORIO_SEC(60));
}

static void *yield_n(void *arg)
{
	for (int i = 0; i < YIELDS; i++)
		corio_yield();
	return NULL;
}

static void *inflight_syscall_main(void *arg)
{
	corio_task *p[PARKED + 1], *y[2];
	corio_statistics a, b;
	corio_capabilities caps;
	uint64_t enters, bound;
	int cancelled = 0;
	bool joined;

	TH_CHECK(corio_caps(&caps) == 0);
	for (intptr_t i = 0; i < PARKED; i++)
		TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, parked_sv[i]) == 0);
	for (intptr_t i = 0; i < PARKED; i++)
		TH_CHECK((p[i] = corio_spawn(parked_recv, (void *)i)) != NULL);
	TH_CHECK((p[PARKED] = corio_spawn(parked_sleep, NULL)) != NULL);
	corio_yield(); /* everything parked and submitted */
	corio_yield();
	/* No check may return before the parked tasks are cancelled: corio_run waits for the
	 * tasks a main task leaves unjoined, and they would wait 60 s. */
	corio_stats(&a);
	y[0] = corio_spawn(yield_n, NULL);
	y[1] = corio_spawn(yield_n, NULL);
	joined = y[0] && y[1] && corio_join(y[0], NULL) == 0 && corio_join(y[1], NULL) == 0;
	corio_stats(&b);
	enters = b.submit_calls - a.submit_calls;
	/* With the flag: none but the bounded one every 1 024 quiet handoffs (and a few for
	 * the two spawns and joins). Without it: at most one per turn, as before 5.19. */
	bound = (caps.ring_flags & IORING_SETUP_TASKRUN_FLAG) ? 2 * YIELDS / 1024 + 8
							      : 2 * YIELDS + 8;
	if (enters > bound)
		fprintf(stderr, "scheduling: %llu enters for %d yields (bound %llu, ring flags %#x)\n",
			(unsigned long long)enters, 2 * YIELDS, (unsigned long long)bound,
			caps.ring_flags);
	for (int i = 0; i <= PARKED; i++) {
		corio_cancel(p[i]);
		cancelled += corio_join(p[i], NULL) == -ECANCELED;
	}
	for (int i = 0; i < PARKED; i++) {
		close(parked_sv[i][0]);
		close(parked_sv[i][1]);
	}
	TH_CHECK(joined);
	TH_CHECK(cancelled == PARKED + 1);
	TH_CHECK(enters <= bound);
	return TH_OK;
}

START_TEST(test_yield_with_io_in_flight_makes_few_syscalls)
{
	run_ring_variants(inflight_syscall_main);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("scheduling", TH_TIMEOUT, test_yielder_does_not_starve_sleeper, test_yielders_do_not_starve_a_receive, test_idle_loop_uses_no_cpu, test_yield_without_io_makes_no_syscall, test_yield_with_io_in_flight_makes_few_syscalls));
}
