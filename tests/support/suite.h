/* tests/support/suite.h: runs a Check suite and turns its result into the exit status ctest
 * reads, for the programs that run without io_uring (tests/http/test_url.c parses URLs,
 * tests/bench/test_bench.c drives corio-bench as a child): th_main in helpers.h is the same
 * with the io_uring check and CK_FORK forced in front. Header-only, like helpers.h. */
#ifndef CORIO_TESTS_SUPPORT_SUITE_H
#define CORIO_TESTS_SUPPORT_SUITE_H

#include <check.h>

/* Runs every test of s (CK_ENV: CK_VERBOSITY=verbose lists them); 0 when all passed. */
static inline int th_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
