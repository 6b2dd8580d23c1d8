/* tests/runtime/test_sync_locks.c: mutex, semaphore, event and condition variable
 * (corio/sync.h): normal use, a counter under contention, FIFO order, timeouts, cancellation
 * while parked (before and after a hand-off: no lost wakeups) and stress cases. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

#include "tests/support/helpers.h" /* TH_ASAN */
#include "tests/runtime/sync_helpers.h"

/* ==== mutex ============================================================================ */

static corio_mutex mu;

static void *mutex_basic_main(void *arg)
{
	ck_assert_int_eq(corio_mutex_init(&mu), 0);
	ck_assert(!corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_unlock(&mu), -EPERM);
	ck_assert_int_eq(corio_mutex_lock(&mu), 0);
	ck_assert(corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_trylock(&mu), -EBUSY);
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	ck_assert_int_eq(corio_mutex_trylock(&mu), 0);
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	ck_assert_int_eq(corio_mutex_lock(NULL), -EINVAL);
	ck_assert_int_eq(corio_mutex_init(NULL), -EINVAL);
	return NULL;
}

START_TEST(mutex_basic)
{
	corio_mutex_init(&mu);
	ck_assert_int_eq(corio_mutex_lock(&mu), -EPERM); /* not from a task */
	run(mutex_basic_main);
}
END_TEST

/* 1000 tasks increment a counter with a yield inside the critical section. */
static int counter, inside;

static void *counter_task(void *arg)
{
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(corio_mutex_lock(&mu), 0);
		ck_assert_int_eq(inside++, 0);
		int c = counter;

		corio_yield();
		counter = c + 1;
		ck_assert_int_eq(--inside, 0);
		ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
		if (i % 3 == 0)
			corio_yield();
	}
	return NULL;
}

static void *mutex_counter_main(void *arg)
{
	static corio_task *t[1000];

	corio_mutex_init(&mu);
	for (int i = 0; i < 1000; i++)
		t[i] = corio_spawn(counter_task, NULL);
	ck_assert_int_eq(corio_gather(t, 1000, NULL), 0);
	ck_assert_int_eq(counter, 10000);
	ck_assert(!corio_mutex_locked(&mu));
	return NULL;
}

START_TEST(mutex_counter)
{
	run(mutex_counter_main);
}
END_TEST

static void *fifo_locker(void *arg)
{
	int rc = corio_mutex_lock(&mu);

	results[P2I(arg)] = rc;
	if (rc == 0) {
		record(P2I(arg));
		corio_yield();
		corio_mutex_unlock(&mu);
	}
	return NULL;
}

static void *mutex_fifo_main(void *arg)
{
	corio_task *t[10];

	corio_mutex_init(&mu);
	corio_mutex_lock(&mu);
	for (int i = 0; i < 10; i++) {
		t[i] = corio_spawn(fifo_locker, I2P(i));
		yields(1);
	}
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	/* handed to task 0: no barging, even though task 0 has not run yet */
	ck_assert(corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_trylock(&mu), -EBUSY);
	ck_assert_int_eq(corio_gather(t, 10, NULL), 0);
	check_order(10);
	ck_assert(!corio_mutex_locked(&mu));
	return NULL;
}

START_TEST(mutex_fifo)
{
	run(mutex_fifo_main);
}
END_TEST

static void *mutex_timeout_main(void *arg)
{
	corio_timeout to;
	corio_task *t;

	corio_mutex_init(&mu);
	corio_mutex_lock(&mu);
	t = corio_spawn(fifo_locker, I2P(1)); /* queued behind the timed-out attempt */
	corio_yield();
	/* a second task times out while parked; the first one must still get the lock */
	corio_timeout_enter(&to, CORIO_MS(20));
	ck_assert_int_eq(corio_mutex_lock(&mu), -ETIMEDOUT); /* held by ourselves */
	ck_assert(corio_timeout_exit(&to));
	ck_assert(corio_mutex_locked(&mu));
	/* a scope whose deadline has passed fails at once */
	corio_timeout_enter(&to, 0);
	ck_assert_int_eq(corio_mutex_lock(&mu), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	ck_assert_int_eq(corio_join(t, NULL), 0);
	ck_assert_int_eq(results[1], 0);
	ck_assert(!corio_mutex_locked(&mu));
	return NULL;
}

START_TEST(mutex_timeout)
{
	run(mutex_timeout_main);
}
END_TEST

/* A locker that, once it holds the lock, makes one more blocking call and unlocks. */
static void *sticky_locker(void *arg)
{
	int i = P2I(arg);

	results[i] = corio_mutex_lock(&mu);
	if (results[i] == 0) {
		record(i);
		results[i + 100] = corio_sleep(CORIO_MS(1)); /* -ECANCELED if cancelled */
		ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	}
	return NULL;
}

static void *mutex_cancel_main(void *arg)
{
	corio_task *a, *b, *c;

	corio_mutex_init(&mu);
	corio_mutex_lock(&mu);
	a = corio_spawn(sticky_locker, I2P(0));
	b = corio_spawn(sticky_locker, I2P(1));
	yields(2);
	/* cancel before the hand-off: a leaves the queue, b gets the lock */
	corio_cancel(a);
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	ck_assert_int_eq(corio_join(a, NULL), -ECANCELED);
	ck_assert_int_eq(results[0], -ECANCELED);
	ck_assert_int_eq(corio_join(b, NULL), 0);
	ck_assert_int_eq(results[1], 0);
	ck_assert(!corio_mutex_locked(&mu));

	/* cancel after the hand-off: a owns the lock (returns 0), c gets it after a */
	corio_mutex_lock(&mu);
	norder = 0;
	a = corio_spawn(sticky_locker, I2P(2));
	c = corio_spawn(sticky_locker, I2P(3));
	yields(2);
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0); /* handed to a */
	corio_cancel(a);                              /* before a ran again */
	ck_assert_int_eq(corio_join(a, NULL), -ECANCELED);
	ck_assert_int_eq(results[2], 0);           /* it got the lock */
	ck_assert_int_eq(results[102], -ECANCELED); /* sticky: its next call failed */
	ck_assert_int_eq(corio_join(c, NULL), 0);
	ck_assert_int_eq(results[3], 0);
	ck_assert_int_eq(norder, 2);
	ck_assert_int_eq(order[0], 2);
	ck_assert_int_eq(order[1], 3);
	ck_assert(!corio_mutex_locked(&mu));

	/* a cancelled task does not get even a free lock (it is a blocking call) */
	corio_cancel(corio_current());
	ck_assert_int_eq(corio_mutex_lock(&mu), -ECANCELED);
	ck_assert(!corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_trylock(&mu), 0); /* try variants ignore it */
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	return NULL;
}

START_TEST(mutex_cancel)
{
	void *res;

	/* main cancels itself at the end: corio_run reports that */
	ck_assert_int_eq(corio_run(mutex_cancel_main, NULL, &res), -ECANCELED);
	ck_assert_ptr_null(res);
}
END_TEST

/* ==== semaphore ========================================================================== */

static corio_sem sem;

static void *sem_basic_main(void *arg)
{
	ck_assert_int_eq(corio_sem_init(&sem, 2), 0);
	ck_assert_int_eq(corio_sem_acquire(&sem), 0);
	ck_assert_int_eq(corio_sem_try_acquire(&sem), 0);
	ck_assert_int_eq(corio_sem_try_acquire(&sem), -EAGAIN);
	ck_assert_uint_eq(corio_sem_value(&sem), 0);
	ck_assert_int_eq(corio_sem_release(&sem), 0);
	ck_assert_int_eq(corio_sem_release(&sem), 0);
	ck_assert_int_eq(corio_sem_release(&sem), 0); /* counting: may go above the start */
	ck_assert_uint_eq(corio_sem_value(&sem), 3);
	corio_sem_init(&sem, SIZE_MAX);
	ck_assert_int_eq(corio_sem_release(&sem), -EOVERFLOW);
	ck_assert_int_eq(corio_sem_acquire(NULL), -EINVAL);
	return NULL;
}

START_TEST(sem_basic)
{
	run(sem_basic_main);
}
END_TEST

static void *sem_waiter(void *arg)
{
	int i = P2I(arg), rc = corio_sem_acquire(&sem);

	results[i] = rc;
	if (rc == 0)
		record(i);
	results[i + 100] = corio_sleep(0);
	return NULL;
}

static void *sem_fifo_cancel_main(void *arg)
{
	corio_task *t[10];
	corio_timeout to;

	corio_sem_init(&sem, 0);
	for (int i = 0; i < 10; i++) {
		t[i] = corio_spawn(sem_waiter, I2P(i));
		yields(1);
	}
	/* cancel 3 before any release (it leaves the queue), 5 right after its hand-off */
	corio_cancel(t[3]);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(corio_sem_release(&sem), 0);
	corio_cancel(t[5]);
	yields(3);
	ck_assert_uint_eq(corio_sem_value(&sem), 0);
	/* a timed-out acquire leaves the queue and takes nothing */
	corio_timeout_enter(&to, CORIO_MS(10));
	ck_assert_int_eq(corio_sem_acquire(&sem), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(corio_sem_release(&sem), 0);
	ck_assert_int_eq(corio_sem_release(&sem), 0); /* nobody left: the count goes up */
	corio_gather(t, 10, NULL);
	ck_assert_uint_eq(corio_sem_value(&sem), 1);
	ck_assert_int_eq(results[3], -ECANCELED);
	ck_assert_int_eq(results[5], 0); /* handed over before the cancel: kept */
	ck_assert_int_eq(results[105], -ECANCELED);
	ck_assert_int_eq(norder, 9);
	for (int i = 0, k = 0; i < 10; i++) {
		if (i == 3)
			continue;
		ck_assert_int_eq(order[k++], i);
	}
	return NULL;
}

START_TEST(sem_fifo_cancel)
{
	run(sem_fifo_cancel_main);
}
END_TEST

/* A semaphore of 3 bounds the concurrency of 1000 tasks. */
static int active, max_active;

static void *bounded(void *arg)
{
	ck_assert_int_eq(corio_sem_acquire(&sem), 0);
	if (++active > max_active)
		max_active = active;
	yields(P2I(arg) % 4);
	active--;
	ck_assert_int_eq(corio_sem_release(&sem), 0);
	return NULL;
}

static void *sem_stress_main(void *arg)
{
	static corio_task *t[1000];

	corio_sem_init(&sem, 3);
	for (int i = 0; i < 1000; i++)
		t[i] = corio_spawn(bounded, I2P(i));
	ck_assert_int_eq(corio_gather(t, 1000, NULL), 0);
	ck_assert_int_eq(max_active, 3);
	ck_assert_uint_eq(corio_sem_value(&sem), 3);
	return NULL;
}

START_TEST(sem_stress)
{
	run(sem_stress_main);
}
END_TEST

/* ==== event ============================================================================== */

static corio_event ev;

static void *ev_waiter(void *arg)
{
	int i = P2I(arg), rc = corio_event_wait(&ev);

	results[i] = rc;
	if (rc == 0)
		record(i);
	return NULL;
}

static void *event_main(void *arg)
{
	static corio_task *t[100];
	corio_timeout to;

	ck_assert_int_eq(corio_event_init(&ev), 0);
	ck_assert(!corio_event_is_set(&ev));
	for (int i = 0; i < 100; i++)
		t[i] = corio_spawn(ev_waiter, I2P(i));
	yields(2);
	ck_assert_int_eq(norder, 0);
	/* timeout while parked, beside the others */
	corio_timeout_enter(&to, CORIO_MS(10));
	ck_assert_int_eq(corio_event_wait(&ev), -ETIMEDOUT);
	ck_assert(corio_timeout_exit(&to));
	ck_assert_int_eq(corio_event_set(&ev), 0);
	ck_assert_int_eq(corio_event_clear(&ev), 0); /* already woken: they still return 0 */
	ck_assert_int_eq(corio_gather(t, 100, NULL), 0);
	check_order(100); /* woken in arrival order */
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(results[i], 0);

	/* set: waits return at once; cleared: they park again; cancel while parked */
	corio_event_set(&ev);
	ck_assert(corio_event_is_set(&ev));
	ck_assert_int_eq(corio_event_wait(&ev), 0);
	corio_event_clear(&ev);
	t[0] = corio_spawn(ev_waiter, I2P(200));
	t[1] = corio_spawn(ev_waiter, I2P(201));
	yields(2);
	corio_cancel(t[0]);
	corio_event_set(&ev);
	ck_assert_int_eq(corio_join(t[0], NULL), -ECANCELED);
	ck_assert_int_eq(corio_join(t[1], NULL), 0);
	ck_assert_int_eq(results[200], -ECANCELED);
	ck_assert_int_eq(results[201], 0);
	ck_assert_int_eq(corio_event_wait(NULL), -EINVAL);
	return NULL;
}

START_TEST(event_basic)
{
	run(event_main);
}
END_TEST

/* ==== condition variable ================================================================= */

static corio_cond cv;
static int queue_items, consumed;

/* The textbook consumer: wait in a loop on the predicate. */
static void *cv_consumer(void *arg)
{
	for (;;) {
		ck_assert_int_eq(corio_mutex_lock(&mu), 0);
		while (queue_items == 0 && consumed < 1000)
			ck_assert_int_eq(corio_cond_wait(&cv, &mu), 0);
		if (queue_items == 0) {
			corio_mutex_unlock(&mu);
			return NULL;
		}
		queue_items--;
		consumed++;
		if (consumed == 1000)
			corio_cond_broadcast(&cv);
		corio_mutex_unlock(&mu);
	}
}

static void *cv_producer(void *arg)
{
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(corio_mutex_lock(&mu), 0);
		queue_items++;
		corio_cond_signal(&cv);
		corio_mutex_unlock(&mu);
		if (i % 7 == 0)
			corio_yield();
	}
	return NULL;
}

/* Cancelled before the call: fails at once, the mutex never left the caller. */
static void *cv_precancelled(void *arg)
{
	ck_assert_int_eq(corio_mutex_lock(&mu), 0);
	corio_cancel(corio_current());
	ck_assert_int_eq(corio_cond_wait(&cv, &mu), -ECANCELED);
	ck_assert(corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	return NULL;
}

static void *cond_basic_main(void *arg)
{
	corio_task *t[20];

	corio_mutex_init(&mu);
	ck_assert_int_eq(corio_cond_init(&cv), 0);
	ck_assert_int_eq(corio_cond_wait(&cv, &mu), -EPERM); /* mutex not held */
	ck_assert_int_eq(corio_cond_wait(NULL, &mu), -EINVAL);
	ck_assert_int_eq(corio_join(corio_spawn(cv_precancelled, NULL), NULL), -ECANCELED);
	for (int i = 0; i < 10; i++)
		t[i] = corio_spawn(cv_consumer, NULL);
	for (int i = 10; i < 20; i++)
		t[i] = corio_spawn(cv_producer, NULL);
	ck_assert_int_eq(corio_gather(t, 20, NULL), 0);
	ck_assert_int_eq(consumed, 1000);
	ck_assert_int_eq(queue_items, 0);
	ck_assert(!corio_mutex_locked(&mu));
	return NULL;
}

START_TEST(cond_basic)
{
	run(cond_basic_main);
}
END_TEST

/* Waits once; records the result and whether the mutex was held on return. */
static void *cv_waiter(void *arg)
{
	int i = P2I(arg), rc;

	ck_assert_int_eq(corio_mutex_lock(&mu), 0);
	rc = corio_cond_wait(&cv, &mu);
	results[i] = rc;
	ck_assert(corio_mutex_locked(&mu)); /* re-acquired in every case */
	record(i);
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	return NULL;
}

static bool main_holds;

static void *cv_timed_waiter(void *arg)
{
	corio_timeout to;
	int i = P2I(arg), rc;

	ck_assert_int_eq(corio_mutex_lock(&mu), 0);
	corio_timeout_enter(&to, CORIO_MS(20));
	rc = corio_cond_wait(&cv, &mu);
	ck_assert(corio_timeout_exit(&to));
	results[i] = rc;
	ck_assert(!main_holds); /* it really waited for main to let go */
	ck_assert(corio_mutex_locked(&mu));
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	return NULL;
}

static void *cond_fifo_cancel_main(void *arg)
{
	corio_task *t[10];
	uint64_t t0;

	corio_mutex_init(&mu);
	corio_cond_init(&cv);
	for (int i = 0; i < 6; i++) {
		t[i] = corio_spawn(cv_waiter, I2P(i));
		yields(1);
	}
	/* 1 is cancelled before any signal: the first signal goes to 0, the second to 2 */
	corio_cancel(t[1]);
	yields(2); /* 1 re-acquires the mutex and returns -ECANCELED */
	ck_assert_int_eq(results[1], -ECANCELED);
	corio_cond_signal(&cv);
	corio_cond_signal(&cv);
	/* 3 is signalled, then cancelled before it ran: the signal is not lost (returns 0) */
	corio_cond_signal(&cv);
	corio_cancel(t[3]);
	corio_cond_broadcast(&cv);
	ck_assert_int_eq(corio_gather(t, 6, NULL), -ECANCELED); /* 1 and 3 were cancelled */
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(results[i], i == 1 ? -ECANCELED : 0);
	ck_assert_int_eq(norder, 6);
	ck_assert_int_eq(order[0], 1);
	for (int i = 1; i < 6; i++)
		ck_assert_int_eq(order[i], i == 1 ? 0 : i); /* 0, 2, 3, 4, 5 */

	/* timeout: the re-acquisition waits for the holder even past the deadline */
	t0 = corio_now();
	t[0] = corio_spawn(cv_timed_waiter, I2P(2));
	corio_yield(); /* it locks, then waits (releasing the mutex) */
	ck_assert_int_eq(corio_mutex_lock(&mu), 0);
	main_holds = true;
	ck_assert_int_eq(corio_sleep(CORIO_MS(60)), 0); /* hold the mutex past the deadline */
	main_holds = false;
	ck_assert_int_eq(corio_mutex_unlock(&mu), 0);
	ck_assert_int_eq(corio_join(t[0], NULL), 0);
	ck_assert_int_eq(results[2], -ETIMEDOUT);
	ck_assert_uint_ge(corio_now() - t0, CORIO_MS(55));
	ck_assert(!corio_mutex_locked(&mu));
	return NULL;
}

START_TEST(cond_fifo_cancel)
{
	run(cond_fifo_cancel_main);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE_EACH("sync", 60, mutex_basic, mutex_counter, mutex_fifo, mutex_timeout, mutex_cancel, sem_basic, sem_fifo_cancel, sem_stress, event_basic, cond_basic, cond_fifo_cancel));
}
