/* tests/runtime/process_helpers.h: what the subprocess suites (test_process.c,
 * test_process_wait.c) share: every test runs once per wait mechanism (a Check loop test:
 * _i is CORIO_WAIT_POOL, _PIDFD_POLL or _WAITID, forced through CORIO_PROCESS_WAIT in the
 * test's own forked process, and checked in corio_caps), spawning sh -c, reading a pipe to
 * its end, and waiting for a pid to be reaped without fixed sleeps. */
#ifndef CORIO_TESTS_PROCESS_HELPERS_H
#define CORIO_TESTS_PROCESS_HELPERS_H

#include "tests/support/helpers.h"

#include <signal.h>
#include <sys/wait.h>

static const char *const th_wait_names[3] = { "pool", "pidfd", "waitid" };

/* Forces mechanism i (CORIO_WAIT_*) for the loops this process starts from now on. */
static inline void th_wait_mode(int i)
{
	setenv("CORIO_PROCESS_WAIT", th_wait_names[i], 1);
}

/* Inside a task: the loop uses the forced mechanism (this kernel has them all: 6.7+ for
 * waitid; an older one gets the best it has, never more). */
static inline bool th_wait_mode_is(int i)
{
	corio_capabilities c;

	if (corio_caps(&c) != 0)
		return false;
	return c.process_wait == (unsigned)i ||
	       (c.process_wait < (unsigned)i && !corio_caps_has_op(&c, 50));
}

static inline int th_sh(const char *cmd, const corio_process_opts *o, corio_process **p)
{
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	return corio_process_spawn(argv, o, p);
}

/* Reads fd to EOF into buf (NUL-terminated, at most cap - 1 bytes kept; the rest is read
 * and counted). The byte count, or a negative errno. */
static inline ssize_t th_read_all(int fd, char *buf, size_t cap)
{
	char scratch[4096];
	size_t n = 0;

	for (;;) {
		bool keep = n + 1 < cap;
		ssize_t r = corio_read(fd, keep ? buf + n : scratch,
				       keep ? cap - 1 - n : sizeof scratch, -1);

		if (r < 0)
			return r;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (cap)
		buf[n < cap ? n : cap - 1] = 0;
	return (ssize_t)n;
}

/* True once pid is no child of ours any more (reaped by someone), polling with short
 * corio_sleeps up to a generous deadline (a loaded machine): never a fixed wait. */
static inline bool th_reaped_within(pid_t pid, uint64_t ns, bool in_loop)
{
	uint64_t end = th_now() + ns;

	while (th_now() < end) {
		siginfo_t si;

		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 &&
		    errno == ECHILD)
			return true;
		if (in_loop) {
			corio_sleep(CORIO_MS(2));
		} else {
			struct timespec ts = { 0, 2000000 };

			nanosleep(&ts, NULL);
		}
	}
	return false;
}

/* True while pid runs (has not exited: waitid without reaping finds nothing). */
static inline bool th_running(pid_t pid)
{
	siginfo_t si = { 0 };

	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
}

/* Adds each test as a loop test over the three mechanisms. */
static inline TCase *th_tcase_modes_(Suite *s, const char *name, int timeout,
				     const TTest *const *tests)
{
	TCase *tc = tcase_create(name);
	const char *only = getenv("TH_ONLY");

	tcase_set_timeout(tc, timeout);
	for (; *tests; tests++)
		if (!only || strcmp(only, (*tests)->name) == 0)
			tcase_add_loop_test(tc, *tests, CORIO_WAIT_POOL, CORIO_WAIT_WAITID + 1);
	suite_add_tcase(s, tc);
	return tc;
}
#define TH_TCASE_MODES(s, name, timeout, ...)                                                \
	th_tcase_modes_((s), (name), (timeout), (const TTest *const[]){ __VA_ARGS__, NULL })

/* A test that is one task, run once per mechanism: fn(NULL) after th_wait_mode(_i), and
 * the task checks that the loop took it. */
#define TH_MODE_TEST(name, fn)                                                               \
	START_TEST(name)                                                                     \
	{                                                                                    \
		th_wait_mode(_i);                                                            \
		TH_RUN_EXPECT_OK(NULL, fn, (void *)(intptr_t)_i);                            \
	}                                                                                    \
	END_TEST

#endif
