/* tests/fuzz/fuzz.h: what the libFuzzer targets share: the entry point every target defines,
 * and FUZZ_CHECK, an invariant check that aborts (so that libFuzzer, or the replay driver
 * under ctest, reports the input) instead of a Check assertion, which needs a test runner.
 *
 * Each target (tests/fuzz/fuzz_<name>.c) is built twice: with clang and libFuzzer by
 * `make fuzz` (cmake/fuzz.cmake, CORIO_BUILD_FUZZ), and with tests/fuzz/replay.c by every
 * test build, as the ctest fuzz_replay_<name> over corpus/<name>/ and regress/<name>/. */
#ifndef CORIO_TESTS_FUZZ_H
#define CORIO_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not assert(): it must hold in release-flavoured builds (RelWithDebInfo defines NDEBUG). */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

#endif
