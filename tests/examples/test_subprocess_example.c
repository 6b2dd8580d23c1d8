/* tests/examples/test_subprocess_example.c: examples/subprocess (asyncio's
 * create_subprocess_shell + communicate, one task per command) run as a child with a
 * deadline (SIGALRM after 30 s): the sample commands' statuses and merged output, stdin fed
 * with -i, a child killed by a signal, output past the example's 64 KiB buffer (read to EOF
 * so the child is never stuck on a full pipe), and bad usage. Skipped when the examples
 * were not built beside this program ($CORIO_EXAMPLES_DIR overrides; the ASan build has
 * none). */
#define _GNU_SOURCE
#include <limits.h>

#include "tests/support/helpers.h"
#include "tests/support/proc.h"

static char program[PATH_MAX + 32];

/* Runs subprocess with args (NULL-terminated): its exit code, stdout+stderr in out. A hang
 * ends as a failure (SIGALRM), not as the suite's timeout. */
static int run(char *const *args, char *out, size_t len)
{
	return th_run_merged(program, args, 30, out, len);
}

START_TEST(samples)
{
	static char out[8192];
	int rc = run((char *[]){ NULL }, out, sizeof out);

	ck_assert_msg(rc == 0, "subprocess exited with %d: %s", rc, out);
	ck_assert_msg(strstr(out, "[echo hello; exit 2 exited with 2]\nstdout+stderr: hello\n"),
		      "%s", out);
	/* stdin fed and closed (tr saw EOF), stderr merged into stdout, ls's own status */
	ck_assert_msg(strstr(out, "[tr a-z A-Z; ls /nope exited with 2]\nstdout+stderr: SOME INPUT\n"),
		      "%s", out);
	ck_assert_msg(strstr(out, "/nope"), "%s", out);
}
END_TEST

START_TEST(input_signal_and_big_output)
{
	static char out[8192];
	int rc = run((char *[]){ "-i", "abc", "cat; echo", "kill -9 $$",
				 "yes | head -c 1000000 | wc -c", "yes | head -c 300000", NULL },
		     out, sizeof out);

	ck_assert_msg(rc == 0, "subprocess exited with %d: %s", rc, out);
	ck_assert_msg(strstr(out, "[cat; echo exited with 0]\nstdout+stderr: abc\n"), "%s", out);
	ck_assert_msg(strstr(out, "[kill -9 $$ killed by signal 9]\n"), "%s", out);
	ck_assert_msg(strstr(out, "[yes | head -c 1000000 | wc -c exited with 0]\nstdout+stderr: 1000000\n"),
		      "%s", out);
	/* 300 000 bytes printed, 64 KiB kept: the child still ran to its end */
	ck_assert_msg(strstr(out, "[yes | head -c 300000 exited with 0]\nstdout+stderr: y\ny\n"),
		      "%s", out);
}
END_TEST

START_TEST(bad_usage)
{
	static char out[4096];
	int rc = run((char *[]){ "--bogus", NULL }, out, sizeof out);

	ck_assert_msg(rc == 2, "subprocess exited with %d: %s", rc, out);
	ck_assert_msg(strstr(out, "usage: subprocess"), "%s", out);
}
END_TEST

int main(void)
{
	if (!th_find_example("subprocess", program, sizeof program)) {
		fprintf(stderr, "test_subprocess_example: %s not built: skipping\n", program);
		return TH_SKIP;
	}
	return th_main(TH_SUITE("subprocess_example", 60, samples, input_signal_and_big_output,
				bad_usage));
}
