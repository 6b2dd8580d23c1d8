/* tests/support/helpers.h: what every Check program shares: running a function as the
 * first task of a loop and asserting corio_run's result, counting open descriptors and
 * mappings, skipping when io_uring is not permitted, timing a run, building a tcase from a
 * list of tests, and the common main().
 *
 * Static inline, included by each tests/<area>/test_*.c (one program per feature); the
 * helpers with state or processes behind them (loopback ports, child processes, nginx) are
 * in the other tests/support/ files, built into corio_test_support and shared with bench/.
 */
#ifndef CORIO_TESTS_HELPERS_H
#define CORIO_TESTS_HELPERS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corio/corio.h>

#include "tests/support/net.h" /* th_loopback_socket */

/* ctest's SKIP_RETURN_CODE. */
#define TH_SKIP 77

/* Default per-test timeout (seconds); a tcase may lower it. */
#define TH_TIMEOUT 60

#if defined(__SANITIZE_ADDRESS__)
#define TH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TH_ASAN 1
#endif
#endif
#ifndef TH_ASAN
#define TH_ASAN 0
#endif

/* ThreadSanitizer refuses new threads in the child of a multi-threaded fork. */
#if defined(__SANITIZE_THREAD__)
#define TH_TSAN 1
#else
#define TH_TSAN 0
#endif

/* Sanitized builds run cross-thread traffic 5-15 times slower (TSan most): the suites that
 * move hundreds of thousands of messages move a fraction there, keeping their shape. */
#define TH_SANITIZED (TH_ASAN || TH_TSAN)

/* True when this process may create an io_uring (io_uring_setup can be refused by
 * seccomp, kernel.io_uring_disabled, or a kernel without it). */
static inline int th_io_uring_available(void)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(4, &ring, 0);

	if (rc != 0) {
		fprintf(stderr, "io_uring_setup: %s: skipping\n", strerror(-rc));
		return 0;
	}
	io_uring_queue_exit(&ring);
	return 1;
}

/* CLOCK_MONOTONIC in ns, usable outside a loop. */
static inline uint64_t th_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Entries of a /proc/self directory or lines of a /proc/self file. */
static inline int th_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own descriptor */
}

static inline int th_count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Runs fn(arg) in corio_run_config (cfg may be NULL), asserts the return code, checks
 * that the loop closed every descriptor it opened, and returns fn's result. */
#define TH_RUN_CFG_RC(cfg, fn, arg, want_rc)                                                \
	({                                                                                   \
		void *th_res_ = (void *)(uintptr_t)0xdeadbeef;                               \
		int th_fds_ = th_count_fds();                                                \
		int th_rc_ = corio_run_config((cfg), (fn), (arg), &th_res_);                 \
		ck_assert_msg(th_rc_ == (want_rc), "corio_run returned %d (%s), want %d",    \
			      th_rc_, strerror(th_rc_ < 0 ? -th_rc_ : 0), (want_rc));        \
		ck_assert_int_eq(th_count_fds(), th_fds_);                                   \
		th_res_;                                                                     \
	})
#define TH_RUN_CFG(cfg, fn, arg) TH_RUN_CFG_RC(cfg, fn, arg, 0)
#define TH_RUN(fn, arg) TH_RUN_CFG(NULL, fn, arg)

/* The result a task function returns when everything it checked held. Task functions
 * report a failure by returning a string (a static message), so the assertion that fails
 * is in the test body and Check prints it. */
#define TH_OK ((void *)0)
#define TH_CHECK(cond)                                                                       \
	do {                                                                                 \
		if (!(cond))                                                                 \
			return (void *)("line " TH_STR(__LINE__) ": " #cond);                \
	} while (0)
#define TH_STR_(x) #x
#define TH_STR(x) TH_STR_(x)
/* Runs fn in a loop and asserts that it returned TH_OK. */
#define TH_RUN_EXPECT_OK(cfg, fn, arg)                                                       \
	do {                                                                                 \
		const char *th_msg_ = TH_RUN_CFG(cfg, fn, arg);                              \
		ck_assert_msg(th_msg_ == NULL, "task failed: %s", th_msg_);                  \
	} while (0)

/* A test that is one task: runs fn(NULL) as the main task of a loop with the default
 * configuration and fails unless it returns TH_OK (the checks live in fn). Defines the
 * Check test `name`, as START_TEST ... END_TEST would. */
#define TH_TASK_TEST(name, fn)                                                               \
	START_TEST(name)                                                                     \
	{                                                                                    \
		TH_RUN_EXPECT_OK(NULL, fn, NULL);                                            \
	}                                                                                    \
	END_TEST

/* TH_RUN_EXPECT_OK that returns how long the run took (ns, th_now's clock): for the tests
 * that bound a run's length (a loop that must cancel a timer still armed rather than wait
 * for it, a sleep that must not end early). */
static inline uint64_t th_run_ok_ns(const corio_config *cfg, corio_fn fn, void *arg)
{
	uint64_t t0 = th_now();

	TH_RUN_EXPECT_OK(cfg, fn, arg);
	return th_now() - t0;
}

/* A config with the defaults. Suites run with CORIO_FAULTS removed from the environment
 * (see th_main), so a config with faults == NULL injects nothing. */
static inline corio_config th_config(void)
{
	corio_config c;

	corio_config_init(&c);
	return c;
}

/* Adds to s a tcase named name, with a per-test timeout in seconds, holding the tests in
 * order (a NULL-terminated array; TH_TCASE takes them as a list). TH_ONLY=test (or NET_ONLY,
 * its older name) keeps only that test, for debugging. Returns the tcase, for loop tests or
 * a fixture. */
static inline TCase *th_tcase_(Suite *s, const char *name, int timeout, const TTest *const *tests)
{
	TCase *tc = tcase_create(name);
	const char *only = getenv("TH_ONLY") ? getenv("TH_ONLY") : getenv("NET_ONLY");

	tcase_set_timeout(tc, timeout);
	for (; *tests; tests++)
		if (!only || strcmp(only, (*tests)->name) == 0)
			tcase_add_test(tc, *tests);
	suite_add_tcase(s, tc);
	return tc;
}
#define TH_TCASE(s, name, timeout, ...)                                                      \
	th_tcase_((s), (name), (timeout), (const TTest *const[]){ __VA_ARGS__, NULL })

/* A suite of one tcase, both named name. */
#define TH_SUITE(name, timeout, ...) th_suite_one_((name), (timeout), (const TTest *const[]){ __VA_ARGS__, NULL })
static inline Suite *th_suite_one_(const char *name, int timeout, const TTest *const *tests)
{
	Suite *s = suite_create(name);

	th_tcase_(s, name, timeout, tests);
	return s;
}

/* A suite named name with one tcase per test, each named after its test. */
#define TH_SUITE_EACH(name, timeout, ...)                                                    \
	th_suite_each_((name), (timeout), (const TTest *const[]){ __VA_ARGS__, NULL })
static inline Suite *th_suite_each_(const char *name, int timeout, const TTest *const *tests)
{
	Suite *s = suite_create(name);

	for (; *tests; tests++)
		th_tcase_(s, (*tests)->name, timeout, (const TTest *const[]){ *tests, NULL });
	return s;
}

/* The common main(): skip (77) without io_uring, otherwise run the suite in CK_FORK mode.
 * CORIO_FAULTS is removed from the environment first: the suites assert exact results, and
 * the fault suite passes its specs through corio_config.faults (or sets the variable
 * itself). */
static inline int th_main(Suite *s)
{
	SRunner *sr;
	int failed;

	unsetenv("CORIO_FAULTS");
	if (!th_io_uring_available())
		return TH_SKIP;
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY=verbose lists every test */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
