/* tests/runtime/test_log.c: the process-wide logger (corio_set_logger, runtime/core/log.c):
 * a custom logger receives the library's messages with their level and without the
 * "corio: " prefix, NULL restores the default stderr line, and setting the logger while
 * other threads log never pairs one logger's function with another's user data. */
#define _GNU_SOURCE
#include "tests/support/helpers.h"

#include <pthread.h>
#include <stdatomic.h>

#include "runtime/core/log.h"

static int got_level = -1;
static char got_msg[1200];
static int got_calls;

static void capture(int level, const char *msg, void *ud)
{
	got_level = level;
	snprintf(got_msg, sizeof got_msg, "%s", msg);
	got_calls++;
	(*(int *)ud)++;
}

static void *noop_main(void *arg)
{
	return arg;
}

/* A bad CORIO_FAULTS spec is refused at corio_run with a message: deterministic. */
static int run_bad_spec(void)
{
	corio_config cfg = th_config();

	cfg.faults = "7:";
	return corio_run_config(&cfg, noop_main, NULL, NULL);
}

START_TEST(test_custom_logger_gets_bad_spec)
{
	int n = 0;

	corio_set_logger(capture, &n);
	ck_assert_int_eq(run_bad_spec(), -EINVAL);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(got_level, CORIO_LOG_ERROR);
	ck_assert_str_eq(got_msg, "bad fault spec \"7:\" (see README: SEED:RULE,...)");
	corio_set_logger(NULL, NULL);
}
END_TEST

static void *deadlock_main(void *arg)
{
	corio_event ev;

	corio_event_init(&ev);
	return (void *)(intptr_t)corio_event_wait(&ev); /* nobody ever sets it */
}

START_TEST(test_custom_logger_gets_deadlock)
{
	int n = 0;

	corio_set_logger(capture, &n);
	ck_assert_int_eq(corio_run(deadlock_main, NULL, NULL), -EDEADLK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(got_level, CORIO_LOG_ERROR);
	ck_assert_msg(strncmp(got_msg, "deadlock: 1 task(s) parked", 26) == 0, "%s", got_msg);
	corio_set_logger(NULL, NULL);
}
END_TEST

/* fd 2 goes to a file for the test (Check runs it in a child of its own). */
static int stderr_to_file(void)
{
	char path[] = "/tmp/corio-test-log-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	return fd;
}

static void read_all(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);

	ck_assert_int_ge(n, 0);
	buf[n] = 0;
}

START_TEST(test_null_restores_default)
{
	int fd = stderr_to_file(), n = 0;
	char out[4096];

	corio_set_logger(capture, &n);
	ck_assert_int_eq(run_bad_spec(), -EINVAL);
	read_all(fd, out, sizeof out);
	ck_assert_str_eq(out, ""); /* the custom logger took it */
	corio_set_logger(NULL, NULL);
	ck_assert_int_eq(run_bad_spec(), -EINVAL);
	ck_assert_int_eq(n, 1);
	read_all(fd, out, sizeof out);
	ck_assert_str_eq(out, "corio: bad fault spec \"7:\" (see README: SEED:RULE,...)\n");
	close(fd);
}
END_TEST

/* A message longer than the formatting buffer still reaches the default logger whole. */
START_TEST(test_default_long_message)
{
	static char big[5000], out[8192], want[8192];
	int fd = stderr_to_file();

	memset(big, 'x', sizeof big - 1);
	corio__log_str(CORIO_LOG_INFO, big);
	read_all(fd, out, sizeof out);
	snprintf(want, sizeof want, "corio: %s\n", big);
	ck_assert_str_eq(out, want);
	close(fd);
}
END_TEST

/* ---- concurrent set and log ------------------------------------------------------------- */

#define ROUNDS 20000

typedef struct pairing {
	atomic_int calls, mismatched;
} pairing;

static pairing pa, pb;

static void logger_a(int level, const char *msg, void *ud)
{
	atomic_fetch_add(&pa.calls, 1);
	if (ud != &pa)
		atomic_fetch_add(&pa.mismatched, 1);
}

static void logger_b(int level, const char *msg, void *ud)
{
	atomic_fetch_add(&pb.calls, 1);
	if (ud != &pb)
		atomic_fetch_add(&pb.mismatched, 1);
}

static void *setter(void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		if (i & 1)
			corio_set_logger(logger_b, &pb);
		else
			corio_set_logger(logger_a, &pa);
	}
	return NULL;
}

static void *logger_thread(void *arg)
{
	for (int i = 0; i < ROUNDS; i++)
		corio__log(CORIO_LOG_DEBUG, "message %d", i);
	return NULL;
}

START_TEST(test_concurrent_set_and_log)
{
	pthread_t t1, t2, t3;

	corio_set_logger(logger_a, &pa);
	ck_assert_int_eq(pthread_create(&t1, NULL, setter, NULL), 0);
	ck_assert_int_eq(pthread_create(&t2, NULL, logger_thread, NULL), 0);
	ck_assert_int_eq(pthread_create(&t3, NULL, logger_thread, NULL), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	pthread_join(t3, NULL);
	ck_assert_int_eq(atomic_load(&pa.calls) + atomic_load(&pb.calls), 2 * ROUNDS);
	ck_assert_int_eq(atomic_load(&pa.mismatched), 0);
	ck_assert_int_eq(atomic_load(&pb.mismatched), 0);
	/* The library's own messages from a loop thread, with a set in between. */
	corio_set_logger(logger_b, &pb);
	ck_assert_int_eq(run_bad_spec(), -EINVAL);
	ck_assert_int_eq(atomic_load(&pa.calls) + atomic_load(&pb.calls), 2 * ROUNDS + 1);
	corio_set_logger(NULL, NULL);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");

	TH_TCASE(s, "logger", TH_TIMEOUT, test_custom_logger_gets_bad_spec,
		 test_custom_logger_gets_deadlock, test_null_restores_default,
		 test_default_long_message, test_concurrent_set_and_log);
	return s;
}

int main(void)
{
	return th_main(log_suite());
}
