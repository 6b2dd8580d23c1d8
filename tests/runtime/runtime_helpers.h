/* tests/runtime/runtime_helpers.h: small task functions several runtime suites spawn (a
 * yielding plus_one, a quick task that counts its runs, ten-second and thirty-millisecond
 * sleepers that store their result): one definition instead of one per test program. */
#ifndef CORIO_TESTS_RUNTIME_HELPERS_H
#define CORIO_TESTS_RUNTIME_HELPERS_H

#include "tests/support/helpers.h"

static inline void *plus_one(void *arg)
{
	corio_yield();
	return (void *)((uintptr_t)arg + 1);
}

static int quick_ran;
static inline void *quick(void *arg)
{
	quick_ran++;
	return (void *)(uintptr_t)7;
}

static inline void *sleep10s_rc(void *arg)
{
	*(int *)arg = corio_sleep(CORIO_SEC(10));
	return (void *)(uintptr_t)42;
}

static inline void *shielded_sleep(void *arg)
{
	*(int *)arg = corio_sleep(CORIO_MS(30));
	return NULL;
}

#endif
