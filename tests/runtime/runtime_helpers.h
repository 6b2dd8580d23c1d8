/* tests/runtime/runtime_helpers.h: small task functions several runtime suites spawn (a
 * yielding plus_one, a quick task that counts its runs, ten-second and thirty-millisecond
 * sleepers that store their result), the spawn-n-then-gather step of the suites that run
 * many alike tasks, and a main task for batches whose tasks check everything themselves:
 * one definition instead of one per test program. */
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

/* Spawns n tasks, task i running fn((void *)i), and gathers them, their results into res
 * (n entries) unless res is NULL. Returns gather's result, or -ENOMEM when a spawn failed
 * (the tasks already spawned are gathered first, so none outlives the caller's arrays). */
static inline int spawn_gather(corio_fn fn, size_t n, void **res)
{
	corio_task **t = calloc(n, sizeof *t);
	size_t spawned = 0;
	int rc;

	if (!t)
		return -ENOMEM;
	while (spawned < n && (t[spawned] = corio_spawn(fn, (void *)(uintptr_t)spawned)))
		spawned++;
	rc = corio_gather(t, spawned, res);
	free(t);
	return spawned < n ? -ENOMEM : rc;
}

/* The first result of n that is not TH_OK (a task's failure message), or TH_OK. */
static inline void *first_failure(void *const *res, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (res[i] != TH_OK)
			return res[i];
	return TH_OK;
}

/* n tasks of fn, task i getting (void *)i: the argument of batch_main. */
typedef struct task_batch {
	corio_fn fn;
	size_t n;
} task_batch;

/* A loop's main task that runs a batch (arg) and passes on the first task's failure, for the
 * tests whose tasks check their own results. */
static inline void *batch_main(void *arg)
{
	const task_batch *b = arg;
	void **res = calloc(b->n, sizeof *res);
	void *failed = (void *)"spawn_gather failed";

	TH_CHECK(res != NULL);
	if (spawn_gather(b->fn, b->n, res) == 0)
		failed = first_failure(res, b->n);
	free(res);
	return failed;
}

/* Runs n tasks of fn in a loop of cfg (NULL: the defaults) and asserts that every one
 * returned TH_OK. */
static inline void run_batch_ok(const corio_config *cfg, corio_fn fn, size_t n)
{
	task_batch b = { fn, n };

	TH_RUN_EXPECT_OK(cfg, batch_main, &b);
}

#endif
