/* tests/examples/test_udp_dns.c: examples/udp_dns runs as its own demo (server and client
 * tasks in one process on 127.0.0.1, port 0): run as a child with a deadline (SIGALRM
 * after 15 s), it must answer the table's names (after one retry at least: its server
 * drops the first query, and a loaded machine may need more, each try waiting twice as
 * long), report NXDOMAIN for a missing name and refuse a name that does not encode, with
 * the exit status it documents. Skipped when the examples were not built beside this
 * program ($CORIO_EXAMPLES_DIR overrides; the ASan build has none). */
#define _GNU_SOURCE
#include <limits.h>

#include "tests/support/helpers.h"
#include "tests/support/proc.h"

static char program[PATH_MAX + 32];

/* Runs udp_dns with args (NULL-terminated): its exit code, stdout+stderr in out. A hang
 * ends as a failure (SIGALRM), not as the suite's timeout. */
static int run(char *const *args, char *out, size_t len)
{
	return th_run_merged(program, args, 15, out, len);
}

START_TEST(answers_after_a_retry)
{
	static char out[8192];
	int rc = run((char *[]){ NULL }, out, sizeof out);

	ck_assert_msg(rc == 0, "udp_dns exited with %d: %s", rc, out);
	ck_assert_msg(strstr(out, "www.example.test: no answer in 200 ms, asking again (try 2 of 5)"),
		      "%s", out);
	ck_assert_msg(strstr(out, "\nwww.example.test A 192.0.2.10\n"), "%s", out);
	ck_assert_msg(strstr(out, "\nmail.example.test A 192.0.2.25\n"), "%s", out);
	ck_assert_msg(strstr(out, "\nmissing.example.test: NXDOMAIN\n"), "%s", out);
}
END_TEST

START_TEST(names_from_the_command_line)
{
	static char out[8192];
	int rc = run((char *[]){ "NS.Example.Test", "www.example.test", NULL }, out, sizeof out);

	ck_assert_msg(rc == 0, "udp_dns exited with %d: %s", rc, out);
	ck_assert_msg(strstr(out, "NS.Example.Test A 192.0.2.53\n"), "%s", out);
	ck_assert_msg(strstr(out, "\nwww.example.test A 192.0.2.10\n"), "%s", out);
	rc = run((char *[]){ "bad..name", NULL }, out, sizeof out);
	ck_assert_msg(rc == 1, "udp_dns exited with %d: %s", rc, out);
	ck_assert_msg(strstr(out, "bad..name: not a valid name\n"), "%s", out);
}
END_TEST

int main(void)
{
	if (!th_find_example("udp_dns", program, sizeof program)) {
		fprintf(stderr, "test_udp_dns: %s not built: skipping\n", program);
		return TH_SKIP;
	}
	return th_main(TH_SUITE("udp_dns", 60, answers_after_a_retry,
				names_from_the_command_line));
}
