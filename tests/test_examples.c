/* tests/test_examples.c: the programs in examples/ print exactly what the seed's Python
 * programs print: each example binary is run as a child process and its exit status,
 * stdout and stderr are compared.
 *
 * The binaries are looked for in $CORIO_EXAMPLES_DIR, else beside this test's own
 * executable (CMake builds both into the build directory). Not found (a build without
 * examples): exit 77, skipped.
 */
#define _GNU_SOURCE /* memfd_create */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define OUT_MAX 65536

static char examples_dir[PATH_MAX];

struct result {
	int status;           /* exit status, or 128 + signal */
	char out[OUT_MAX];    /* stdout, NUL-terminated */
	char err[OUT_MAX];    /* stderr */
	double seconds;       /* wall time of the child */
};

static bool is_program(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, X_OK) == 0;
}

/* $CORIO_EXAMPLES_DIR, else the directory of /proc/self/exe; false when it holds no
 * examples. */
static bool find_examples(void)
{
	const char *env = getenv("CORIO_EXAMPLES_DIR");

	if (env && *env) {
		snprintf(examples_dir, sizeof examples_dir, "%s", env);
	} else {
		ssize_t n = readlink("/proc/self/exe", examples_dir, sizeof examples_dir - 1);
		char *slash;

		if (n <= 0)
			return false;
		examples_dir[n] = 0;
		slash = strrchr(examples_dir, '/');
		if (!slash)
			return false;
		*slash = 0;
	}
	return is_program(examples_dir, "hello");
}

static void slurp(int fd, char *buf)
{
	ssize_t n;
	size_t used = 0;

	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	while (used < OUT_MAX - 1 && (n = read(fd, buf + used, OUT_MAX - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = 0;
	close(fd);
}

/* Runs examples_dir/name with the given arguments (NULL-terminated, may be NULL). stdout
 * and stderr go to memory files, so no pipe can fill up while we wait. */
static void run_example(const char *name, const char *const *args, struct result *r)
{
	char path[PATH_MAX + 64];
	const char *argv[8] = { path };
	int out = memfd_create("stdout", MFD_CLOEXEC), err = memfd_create("stderr", MFD_CLOEXEC);
	uint64_t t0;
	pid_t pid;
	int st;

	ck_assert_msg(out >= 0 && err >= 0, "memfd_create: %s", strerror(errno));
	snprintf(path, sizeof path, "%s/%s", examples_dir, name);
	ck_assert_msg(access(path, X_OK) == 0, "%s: not built", path);
	for (size_t i = 0; args && args[i]; i++) {
		ck_assert(i + 2 < sizeof argv / sizeof argv[0]);
		argv[i + 1] = args[i];
	}
	t0 = th_now();
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
			_exit(126);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));
	r->seconds = (double)(th_now() - t0) / 1e9;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	slurp(out, r->out);
	slurp(err, r->err);
}

/* Exit status 0, exactly `want` on stdout, nothing on stderr. */
static void expect_output(const char *name, const char *const *args, const char *want,
			  struct result *r)
{
	run_example(name, args, r);
	ck_assert_msg(r->status == 0, "%s exited with %d; stderr: %s", name, r->status, r->err);
	ck_assert_str_eq(r->out, want);
	ck_assert_str_eq(r->err, "");
}

static struct result res;

START_TEST(hello_prints_hello_async)
{
	expect_output("hello", NULL, "Hello, Async!\n", &res);
}
END_TEST

START_TEST(fetch_data_prints_and_returns_data)
{
	expect_output("fetch_data", NULL, "Fetching data...\nData fetched!\nData\n", &res);
	/* It awaited a one-second sleep (a lower bound only: no test asserts a speed). */
	ck_assert_msg(res.seconds >= 0.99, "finished after %.3f s", res.seconds);
}
END_TEST

START_TEST(my_async_function_prints_result)
{
	expect_output("my_async_function", NULL, "Result\n", &res);
	ck_assert_msg(res.seconds >= 0.99, "finished after %.3f s", res.seconds);
}
END_TEST

START_TEST(gather_counts_every_task)
{
	static const char *const args[] = { "1000", NULL };
	double elapsed = -1, rss = -1;
	char *line2, *line3, *end;

	run_example("gather", args, &res);
	ck_assert_msg(res.status == 0, "gather exited with %d; stderr: %s", res.status, res.err);
	ck_assert_str_eq(res.err, "");
	/* Line 1 is exact; lines 2 and 3 carry measurements, so only their form is checked. */
	line2 = strchr(res.out, '\n');
	ck_assert_ptr_nonnull(line2);
	*line2++ = 0;
	ck_assert_str_eq(res.out, "1000 coroutines finished");
	line3 = strchr(line2, '\n');
	ck_assert_ptr_nonnull(line3);
	*line3++ = 0;
	end = strchr(line3, '\n');
	ck_assert_ptr_nonnull(end);
	*end++ = 0;
	ck_assert_str_eq(end, ""); /* nothing after the third line */
	ck_assert_msg(sscanf(line2, "elapsed: %lf s", &elapsed) == 1, "line 2: '%s'", line2);
	ck_assert_msg(strcmp(line2 + strlen(line2) - 2, " s") == 0, "line 2: '%s'", line2);
	ck_assert_msg(sscanf(line3, "peak RSS: %lf MiB", &rss) == 1, "line 3: '%s'", line3);
	ck_assert_msg(strcmp(line3 + strlen(line3) - 4, " MiB") == 0, "line 3: '%s'", line3);
	/* All 1000 slept one second at the same time. */
	ck_assert_msg(elapsed >= 0.99, "elapsed %.3f s", elapsed);
	ck_assert_msg(rss > 0, "peak RSS %.1f MiB", rss);
}
END_TEST

START_TEST(gather_rejects_a_bad_count)
{
	static const char *const bad[][2] = { { "abc", NULL }, { "0", NULL }, { "-5", NULL } };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		run_example("gather", bad[i], &res);
		ck_assert_msg(res.status == 2, "gather %s exited with %d", bad[i][0], res.status);
		ck_assert_str_eq(res.out, "");
		ck_assert_ptr_nonnull(strstr(res.err, "usage:"));
	}
}
END_TEST

static Suite *examples_suite(void)
{
	Suite *s = suite_create("examples");
	TCase *tc = tcase_create("seed");

	tcase_set_timeout(tc, TH_TIMEOUT);
	tcase_add_test(tc, hello_prints_hello_async);
	tcase_add_test(tc, fetch_data_prints_and_returns_data);
	tcase_add_test(tc, my_async_function_prints_result);
	tcase_add_test(tc, gather_counts_every_task);
	tcase_add_test(tc, gather_rejects_a_bad_count);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!find_examples()) {
		fprintf(stderr, "test_examples: no example programs in %s: skipping\n",
			examples_dir[0] ? examples_dir : "(unknown)");
		return TH_SKIP;
	}
	return th_main(examples_suite());
}
