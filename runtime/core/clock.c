/* runtime/core/clock.c: the runtime's one clock, corio_now (CLOCK_MONOTONIC in
 * nanoseconds; every deadline, timer and scope is on it). */
#include <time.h>

#include <corio/runtime.h>

uint64_t corio_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
