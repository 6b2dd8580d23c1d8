/* tests/runtime/sync_helpers.h: what the sync suites (tests/runtime/test_sync_*.c) share:
 * running a main that returns NULL when its checks passed, yielding n times, and the
 * per-test order and result arrays (each test runs in its own process: CK_FORK). */
#ifndef CORIO_TESTS_SYNC_HELPERS_H
#define CORIO_TESTS_SYNC_HELPERS_H

#include <check.h>
#include <stdint.h>

#include <corio/corio.h>

#define I2P(i) ((void *)(intptr_t)(i))
#define P2I(p) ((int)(intptr_t)(p))

static inline void run(corio_fn fn)
{
	void *res = I2P(-1);

	ck_assert_int_eq(corio_run(fn, NULL, &res), 0);
	ck_assert_ptr_null(res); /* every main returns NULL when its checks passed */
}

/* Lets every other ready task run n times. */
static inline void yields(int n)
{
	for (int i = 0; i < n; i++)
		corio_yield();
}

/* Shared state of the current test (each test runs in its own process: CK_FORK). */
static int order[2048];
static int norder;
static int results[2048] __attribute__((unused)); /* not every suite records results */

static inline void record(int i)
{
	order[norder++] = i;
}

static inline void check_order(int n)
{
	ck_assert_int_eq(norder, n);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(order[i], i);
}

#endif
