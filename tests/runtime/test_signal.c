/* tests/runtime/test_signal.c: corio_signal_wait (runtime/threads/signal.c): a signal sent to
 * the process or to the loop's thread wakes the waiting task, one pending before the wait
 * is returned at once, two waiters each get one, cancellation loses no signal, bad sets
 * and calls outside a task are refused, and the library's threads (a corio_blocking worker
 * busy meanwhile, the loops of corio_run_threads) start with signals blocked, so a
 * process-directed signal reaches the wait instead of killing the process. Every test runs
 * in Check's child process, so the signals it blocks or sends stay there. */
#define _GNU_SOURCE
#include "tests/support/helpers.h"

#include <pthread.h>
#include <signal.h>

static sigset_t one(int sig)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	return s;
}

static bool blocked_here(int sig)
{
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig) == 1;
}

typedef struct waiter {
	int sig;    /* the set: this one signal */
	int rc, got;
} waiter;

static void *wait_main(void *arg)
{
	waiter *w = arg;
	sigset_t s = one(w->sig);

	w->got = 0;
	w->rc = corio_signal_wait(&s, &w->got);
	return NULL;
}

/* Lets the waiters run until the signal is blocked on this thread (so sending it cannot
 * kill the process): no sleeping, a bounded number of turns. */
static bool until_blocked(int sig)
{
	for (int i = 0; i < 1000 && !blocked_here(sig); i++)
		corio_yield();
	return blocked_here(sig);
}

static void *t_process_signal(void *arg)
{
	waiter w = { .sig = SIGUSR1 };
	corio_task *t = corio_spawn(wait_main, &w);

	TH_CHECK(t && until_blocked(SIGUSR1));
	TH_CHECK(kill(getpid(), SIGUSR1) == 0);
	TH_CHECK(corio_join(t, NULL) == 0);
	TH_CHECK(w.rc == 0 && w.got == SIGUSR1);
	TH_CHECK(blocked_here(SIGUSR1)); /* left blocked for the next wait */
	/* to this thread only */
	TH_CHECK((t = corio_spawn(wait_main, &w)));
	corio_yield();
	TH_CHECK(pthread_kill(pthread_self(), SIGUSR1) == 0);
	TH_CHECK(corio_join(t, NULL) == 0 && w.rc == 0 && w.got == SIGUSR1);
	return TH_OK;
}

START_TEST(process_and_thread_signal)
{
	TH_RUN_EXPECT_OK(NULL, t_process_signal, NULL);
}
END_TEST

static void *t_pending(void *arg)
{
	sigset_t s = one(SIGUSR2);
	int got = 0;

	TH_CHECK(sigprocmask(SIG_BLOCK, &s, NULL) == 0);
	TH_CHECK(raise(SIGUSR2) == 0);
	TH_CHECK(corio_signal_wait(&s, &got) == 0 && got == SIGUSR2);
	/* two signals of the set pending: one per call, the lower first */
	sigaddset(&s, SIGUSR1);
	TH_CHECK(sigprocmask(SIG_BLOCK, &s, NULL) == 0);
	TH_CHECK(raise(SIGUSR2) == 0 && raise(SIGUSR1) == 0);
	TH_CHECK(corio_signal_wait(&s, &got) == 0 && got == SIGUSR1);
	TH_CHECK(corio_signal_wait(&s, NULL) == 0);
	TH_CHECK(sigpending(&s) == 0 && !sigismember(&s, SIGUSR1) && !sigismember(&s, SIGUSR2));
	return TH_OK;
}

START_TEST(pending_before_wait)
{
	TH_RUN_EXPECT_OK(NULL, t_pending, NULL);
}
END_TEST

static void *t_two_waiters(void *arg)
{
	waiter w[2] = { { .sig = SIGRTMIN }, { .sig = SIGRTMIN } };
	corio_task *t[2] = { corio_spawn(wait_main, &w[0]), corio_spawn(wait_main, &w[1]) };
	union sigval v = { 0 };

	TH_CHECK(t[0] && t[1] && until_blocked(SIGRTMIN));
	corio_yield(); /* the second one too */
	/* real-time signals queue: two sent, two received, one each */
	TH_CHECK(sigqueue(getpid(), SIGRTMIN, v) == 0 && sigqueue(getpid(), SIGRTMIN, v) == 0);
	TH_CHECK(corio_join(t[0], NULL) == 0 && corio_join(t[1], NULL) == 0);
	TH_CHECK(w[0].rc == 0 && w[0].got == SIGRTMIN && w[1].rc == 0 && w[1].got == SIGRTMIN);
	/* standard signals: the second is sent once the first was taken */
	w[0].sig = w[1].sig = SIGUSR1;
	TH_CHECK((t[0] = corio_spawn(wait_main, &w[0])) && (t[1] = corio_spawn(wait_main, &w[1])));
	TH_CHECK(until_blocked(SIGUSR1));
	corio_yield();
	TH_CHECK(kill(getpid(), SIGUSR1) == 0);
	while (!w[0].got && !w[1].got)
		corio_yield();
	TH_CHECK(kill(getpid(), SIGUSR1) == 0);
	TH_CHECK(corio_join(t[0], NULL) == 0 && corio_join(t[1], NULL) == 0);
	TH_CHECK(w[0].got == SIGUSR1 && w[1].got == SIGUSR1);
	return TH_OK;
}

START_TEST(two_waiters)
{
	TH_RUN_EXPECT_OK(NULL, t_two_waiters, NULL);
}
END_TEST

static void *t_cancel(void *arg)
{
	waiter w = { .sig = SIGUSR1 };
	corio_task *t = corio_spawn(wait_main, &w);
	sigset_t s = one(SIGUSR1), p;
	int got = 0;

	/* parked, then cancelled: -ECANCELED, and a signal sent later is still there */
	TH_CHECK(t && until_blocked(SIGUSR1));
	corio_yield();
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED && w.rc == -ECANCELED);
	TH_CHECK(kill(getpid(), SIGUSR1) == 0);
	TH_CHECK(corio_signal_wait(&s, &got) == 0 && got == SIGUSR1);
	/* sent and cancelled in the same turn: either the wait has it, or it is pending */
	TH_CHECK((t = corio_spawn(wait_main, &w)));
	corio_yield();
	TH_CHECK(kill(getpid(), SIGUSR1) == 0);
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED); /* the join reports the cancel either way */
	TH_CHECK(sigpending(&p) == 0);
	TH_CHECK((w.rc == 0 && w.got == SIGUSR1 && !sigismember(&p, SIGUSR1)) ||
		 (w.rc == -ECANCELED && sigismember(&p, SIGUSR1)));
	/* a timeout scope ends the wait like any blocking call */
	{
		corio_timeout to;
		int rc;

		if (sigismember(&p, SIGUSR1))
			TH_CHECK(corio_signal_wait(&s, &got) == 0 && got == SIGUSR1);
		corio_timeout_enter(&to, CORIO_MS(20));
		rc = corio_signal_wait(&s, &got);
		TH_CHECK(corio_timeout_exit(&to) && rc == -ETIMEDOUT);
	}
	return TH_OK;
}

START_TEST(cancellation)
{
	TH_RUN_EXPECT_OK(NULL, t_cancel, NULL);
}
END_TEST

static void *t_bad_sets(void *arg)
{
	sigset_t s;

	sigemptyset(&s);
	TH_CHECK(corio_signal_wait(&s, NULL) == -EINVAL);
	TH_CHECK(corio_signal_wait(NULL, NULL) == -EINVAL);
	s = one(SIGKILL);
	TH_CHECK(corio_signal_wait(&s, NULL) == -EINVAL);
	s = one(SIGSTOP);
	sigaddset(&s, SIGUSR1);
	TH_CHECK(corio_signal_wait(&s, NULL) == -EINVAL);
	TH_CHECK(!blocked_here(SIGUSR1)); /* refused before touching the mask */
	return TH_OK;
}

START_TEST(bad_sets)
{
	sigset_t s = one(SIGUSR1);

	ck_assert_int_eq(corio_signal_wait(&s, NULL), -EPERM);
	TH_RUN_EXPECT_OK(NULL, t_bad_sets, NULL);
}
END_TEST

/* ---- the library's threads ---------------------------------------------------------------- */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int worker_in, worker_go;
static bool worker_masked;

/* Runs on a pool worker and stays there until released: the worker is alive while the
 * signal is sent. */
static void *busy_worker(void *arg)
{
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	pthread_mutex_lock(&gate_mu);
	worker_masked = sigismember(&cur, SIGTERM) == 1 && sigismember(&cur, SIGSEGV) == 0;
	worker_in = 1;
	pthread_cond_broadcast(&gate_cv);
	while (!worker_go)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	return NULL;
}

static void *blocking_task(void *arg)
{
	return (void *)(intptr_t)corio_blocking(busy_worker, NULL, NULL);
}

static void *wait_worker_in(void *arg)
{
	pthread_mutex_lock(&gate_mu);
	while (!worker_in)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	return NULL;
}

static void *t_worker_alive(void *arg)
{
	waiter w = { .sig = SIGTERM };
	corio_task *b = corio_spawn(blocking_task, NULL), *t;
	void *res = NULL;

	TH_CHECK(b && corio_blocking(wait_worker_in, NULL, NULL) == 0);
	TH_CHECK(worker_masked);
	TH_CHECK((t = corio_spawn(wait_main, &w)) && until_blocked(SIGTERM));
	TH_CHECK(kill(getpid(), SIGTERM) == 0); /* to the process: any unblocked thread */
	TH_CHECK(corio_join(t, NULL) == 0 && w.rc == 0 && w.got == SIGTERM);
	pthread_mutex_lock(&gate_mu);
	worker_go = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	TH_CHECK(corio_join(b, &res) == 0 && res == NULL);
	return TH_OK;
}

START_TEST(blocking_worker_alive)
{
	TH_RUN_EXPECT_OK(NULL, t_worker_alive, NULL);
}
END_TEST

/* corio_run_threads: loop 1 waits for SIGUSR1 sent to the process while loop 0 runs; the
 * caller's thread blocks the set first, as the header asks. */
static _Atomic int loops_masked, thread_got;

static void *member(void *arg)
{
	sigset_t s = one(SIGUSR1);
	int got = 0;

	loops_masked += blocked_here(SIGUSR2) && !blocked_here(SIGSEGV);
	if (corio_thread_index() == 1) {
		if (corio_signal_wait(&s, &got) == 0)
			thread_got = got;
	} else {
		while (!blocked_here(SIGUSR2)) /* never: checked above */
			corio_yield();
		kill(getpid(), SIGUSR1);
	}
	return NULL;
}

START_TEST(run_threads_loops_masked)
{
	sigset_t s = one(SIGUSR1);

	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &s, NULL), 0);
	ck_assert_int_eq(corio_run_threads(2, member, NULL), 0);
	ck_assert_int_eq(loops_masked, 2);
	ck_assert_int_eq(thread_got, SIGUSR1);
}
END_TEST

static Suite *signal_suite(void)
{
	Suite *s = suite_create("signal");

	TH_TCASE(s, "signal", TH_TIMEOUT, process_and_thread_signal, pending_before_wait,
		 two_waiters, cancellation, bad_sets, blocking_worker_alive,
		 run_threads_loops_masked);
	return s;
}

int main(void)
{
	return th_main(signal_suite());
}
