/* tests/runtime/test_process.c: corio_process_spawn and the pipes (runtime/process/spawn.c,
 * process.c): exit codes, cat echoing stdin to stdout, yes | head, 64 MiB through cat with a
 * writer and a reader task at once, 2>&1, /dev/null streams, a replaced environment (and
 * PATH searched in it), cwd, a new session, exec failures reported by spawn (-ENOENT,
 * -EACCES, a bad cwd), bad arguments, a child that stops reading (-EPIPE, no SIGPIPE
 * death), the child's signal mask and dispositions reset, the pipes taken as buffered
 * streams, and no descriptor left behind.
 * Every test runs once per wait mechanism (process_helpers.h). */
#include "tests/runtime/process_helpers.h"

#include <sys/stat.h>

static void *t_exit_codes(void *arg)
{
	corio_process *p;
	int st = -1;

	TH_CHECK(th_wait_mode_is((int)(intptr_t)arg));
	TH_CHECK(th_sh("exit 3", NULL, &p) == 0);
	TH_CHECK(corio_process_pid(p) > 0 && corio_process_stdout(p) == -1);
	TH_CHECK(corio_process_wait(p, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 3);
	st = -1;
	TH_CHECK(corio_process_wait(p, &st) == 0 && WEXITSTATUS(st) == 3); /* kept */
	TH_CHECK(corio_process_wait(p, NULL) == 0);
	TH_CHECK(corio_process_kill(p, SIGTERM) == -ESRCH);
	corio_process_free(p);
	TH_CHECK(th_sh("true", NULL, &p) == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	corio_process_free(p);
	/* argv[0] searched in PATH */
	const char *argv[] = { "false", NULL };

	TH_CHECK(corio_process_spawn(argv, NULL, &p) == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && WEXITSTATUS(st) == 1);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(exit_codes, t_exit_codes)

static void *t_cat_echo(void *arg)
{
	corio_process_opts o = { .stdin_mode = CORIO_PROCESS_PIPE,
				 .stdout_mode = CORIO_PROCESS_PIPE };
	const char *argv[] = { "cat", NULL };
	corio_process *p;
	char buf[64];
	int st, fd;

	TH_CHECK(corio_process_spawn(argv, &o, &p) == 0);
	fd = corio_process_stdin(p);
	TH_CHECK(fd >= 0 && corio_process_stdout(p) >= 0 && corio_process_stderr(p) == -1);
	TH_CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) && (fcntl(corio_process_stdout(p), F_GETFD) &
						       FD_CLOEXEC));
	TH_CHECK(corio_write(fd, "hello\n", 6, -1) == 6);
	TH_CHECK(corio_read(corio_process_stdout(p), buf, sizeof buf, -1) == 6);
	TH_CHECK(memcmp(buf, "hello\n", 6) == 0);
	TH_CHECK(corio_write(fd, "world", 5, -1) == 5);
	TH_CHECK(corio_process_close_stdin(p) == 0 && corio_process_stdin(p) == -1);
	TH_CHECK(corio_process_close_stdin(p) == -EBADF);
	TH_CHECK(th_read_all(corio_process_stdout(p), buf, sizeof buf) == 5);
	TH_CHECK(strcmp(buf, "world") == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(cat_echo, t_cat_echo)

static void *t_yes_head(void *arg)
{
	corio_process_opts o = { .stdout_mode = CORIO_PROCESS_PIPE };
	corio_process *p;
	char buf[15]; /* 14 bytes kept */
	int st;

	TH_CHECK(th_sh("yes | head -c 1000000", &o, &p) == 0);
	TH_CHECK(th_read_all(corio_process_stdout(p), buf, sizeof buf) == 1000000);
	TH_CHECK(strcmp(buf, "y\ny\ny\ny\ny\ny\ny\n") == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(yes_head, t_yes_head)

/* ---- 64 MiB through cat, written and read by two tasks at once ---- */

#define BIG (64u << 20)
#define CHUNK (64u << 10)

typedef struct big {
	int fd;
	uint64_t sum;
	uint64_t bytes;
	int err;
} big;

static uint64_t mix(uint64_t h, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static void fill(unsigned char *b, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)((off + i) * 131 + ((off + i) >> 11));
}

static void *writer(void *arg)
{
	big *w = arg;
	unsigned char *b = malloc(CHUNK);
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint64_t off = 0; b && off < BIG; off += CHUNK) {
		fill(b, CHUNK, off);
		h = mix(h, b, CHUNK);
		if (corio_write_all(w->fd, b, CHUNK, -1) != (ssize_t)CHUNK) {
			w->err = -EIO;
			break;
		}
		w->bytes += CHUNK;
	}
	w->sum = h;
	free(b);
	return NULL;
}

static void *reader(void *arg)
{
	big *r = arg;
	unsigned char *b = malloc(CHUNK);
	uint64_t h = 0xcbf29ce484222325ull;
	ssize_t n;

	while (b && (n = corio_read(r->fd, b, CHUNK, -1)) > 0) {
		h = mix(h, b, (size_t)n);
		r->bytes += (uint64_t)n;
	}
	r->sum = h;
	free(b);
	return NULL;
}

static void *t_big_pipe(void *arg)
{
	corio_process_opts o = { .stdin_mode = CORIO_PROCESS_PIPE,
				 .stdout_mode = CORIO_PROCESS_PIPE };
	const char *argv[] = { "cat", NULL };
	corio_process *p;
	big w = { 0 }, r = { 0 };
	corio_task *tw, *tr;
	int st;

	TH_CHECK(corio_process_spawn(argv, &o, &p) == 0);
	w.fd = corio_process_stdin(p);
	r.fd = corio_process_stdout(p);
	TH_CHECK((tw = corio_spawn(writer, &w)) && (tr = corio_spawn(reader, &r)));
	TH_CHECK(corio_join(tw, NULL) == 0 && w.err == 0 && w.bytes == BIG);
	TH_CHECK(corio_process_close_stdin(p) == 0);
	TH_CHECK(corio_join(tr, NULL) == 0);
	TH_CHECK(r.bytes == BIG && r.sum == w.sum);
	TH_CHECK(corio_process_wait(p, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(big_pipe, t_big_pipe)

static void *t_stderr_modes(void *arg)
{
	corio_process_opts o = { .stdout_mode = CORIO_PROCESS_PIPE,
				 .stderr_mode = CORIO_PROCESS_STDOUT };
	corio_process *p;
	char buf[64];
	int st;

	TH_CHECK(th_sh("echo out; echo err >&2", &o, &p) == 0);
	TH_CHECK(corio_process_stderr(p) == -1);
	TH_CHECK(th_read_all(corio_process_stdout(p), buf, sizeof buf) == 8);
	TH_CHECK(strcmp(buf, "out\nerr\n") == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && st == 0);
	corio_process_free(p);
	/* stderr piped on its own, stdout to /dev/null */
	o = (corio_process_opts){ .stdout_mode = CORIO_PROCESS_NULL,
				  .stderr_mode = CORIO_PROCESS_PIPE };
	TH_CHECK(th_sh("echo out; echo err >&2", &o, &p) == 0);
	TH_CHECK(corio_process_stdout(p) == -1);
	TH_CHECK(th_read_all(corio_process_stderr(p), buf, sizeof buf) == 4);
	TH_CHECK(strcmp(buf, "err\n") == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && st == 0);
	corio_process_free(p);
	/* stdin from /dev/null: cat sees EOF at once */
	o = (corio_process_opts){ .stdin_mode = CORIO_PROCESS_NULL,
				  .stdout_mode = CORIO_PROCESS_PIPE };
	const char *cat[] = { "cat", NULL };

	TH_CHECK(corio_process_spawn(cat, &o, &p) == 0);
	TH_CHECK(th_read_all(corio_process_stdout(p), buf, sizeof buf) == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && st == 0);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(stderr_modes, t_stderr_modes)

static void *t_env_cwd(void *arg)
{
	const char *env[] = { "FOO=bar", "EMPTY=", NULL };
	corio_process_opts o = { .env = env, .stdout_mode = CORIO_PROCESS_PIPE };
	const char *argv[] = { "/usr/bin/env", NULL };
	corio_process *p;
	char buf[256];
	int st;

	TH_CHECK(corio_process_spawn(argv, &o, &p) == 0);
	TH_CHECK(th_read_all(corio_process_stdout(p), buf, sizeof buf) > 0);
	TH_CHECK(strcmp(buf, "FOO=bar\nEMPTY=\n") == 0); /* only what was given */
	TH_CHECK(corio_process_wait(p, &st) == 0 && st == 0);
	corio_process_free(p);
	/* PATH searched in env's PATH: the first entries lead nowhere */
	const char *env2[] = { "PATH=/nonexistent::/usr/bin:/bin", NULL };
	const char *argv2[] = { "env", NULL };

	o.env = env2;
	TH_CHECK(corio_process_spawn(argv2, &o, &p) == 0);
	TH_CHECK(th_read_all(corio_process_stdout(p), buf, sizeof buf) > 0);
	TH_CHECK(strcmp(buf, "PATH=/nonexistent::/usr/bin:/bin\n") == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && st == 0);
	corio_process_free(p);
	/* cwd */
	o = (corio_process_opts){ .cwd = "/proc", .stdout_mode = CORIO_PROCESS_PIPE };
	TH_CHECK(th_sh("pwd", &o, &p) == 0);
	TH_CHECK(th_read_all(corio_process_stdout(p), buf, sizeof buf) == 6);
	TH_CHECK(strcmp(buf, "/proc\n") == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && st == 0);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(env_cwd, t_env_cwd)

static void *t_new_session(void *arg)
{
	corio_process_opts o = { .new_session = true, .stdout_mode = CORIO_PROCESS_PIPE };
	corio_process *p;
	char buf[64];
	int st, sid, pid;

	/* field 6 of /proc/<pid>/stat is the session id */
	TH_CHECK(th_sh("echo $$ $(cut -d' ' -f6 /proc/$$/stat)", &o, &p) == 0);
	TH_CHECK(th_read_all(corio_process_stdout(p), buf, sizeof buf) > 0);
	TH_CHECK(sscanf(buf, "%d %d", &pid, &sid) == 2);
	TH_CHECK(pid == corio_process_pid(p) && sid == pid && getsid(0) != pid);
	TH_CHECK(corio_process_wait(p, &st) == 0 && st == 0);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(new_session, t_new_session)

static void *t_exec_failures(void *arg)
{
	const char *missing[] = { "/nonexistent/prog", NULL };
	const char *searched[] = { "corio-no-such-program", NULL };
	char path[] = "/tmp/corio-noexec-XXXXXX";
	const char *noexec[] = { path, NULL };
	corio_process_opts o = { .stdin_mode = CORIO_PROCESS_PIPE,
				 .stdout_mode = CORIO_PROCESS_PIPE,
				 .stderr_mode = CORIO_PROCESS_NULL };
	corio_process *p = NULL;
	int fds, fd = mkstemp(path);

	/* The loop's own descriptors first (the mailbox's eventfd of the pool spawn uses). */
	TH_CHECK(th_sh("exit 0", NULL, &p) == 0 && corio_process_wait(p, NULL) == 0);
	corio_process_free(p);
	p = NULL;
	TH_CHECK(fd >= 0 && write(fd, "#!/bin/sh\n", 10) == 10 && close(fd) == 0);
	fds = th_count_fds();
	TH_CHECK(chmod(path, 0644) == 0);
	TH_CHECK(corio_process_spawn(missing, &o, &p) == -ENOENT && p == NULL);
	TH_CHECK(corio_process_spawn(searched, &o, &p) == -ENOENT);
	TH_CHECK(corio_process_spawn(noexec, &o, &p) == -EACCES);
	unlink(path);
	o.cwd = "/nonexistent-dir";
	TH_CHECK(th_sh("true", &o, &p) == -ENOENT);
	o.cwd = "/etc/passwd";
	TH_CHECK(th_sh("true", &o, &p) == -ENOTDIR);
	TH_CHECK(th_count_fds() == fds); /* every pipe and /dev/null closed again */
	/* nothing left to reap: every failed child was reaped by spawn */
	siginfo_t si;
	TH_CHECK(waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0 && errno == ECHILD);
	return TH_OK;
}
TH_MODE_TEST(exec_failures, t_exec_failures)

static void *t_bad_args(void *arg)
{
	const char *empty[] = { NULL };
	const char *argv[] = { "true", NULL };
	corio_process_opts o = { .stdin_mode = CORIO_PROCESS_STDOUT };
	corio_process *p;

	TH_CHECK(corio_process_spawn(NULL, NULL, &p) == -EINVAL);
	TH_CHECK(corio_process_spawn(empty, NULL, &p) == -EINVAL);
	TH_CHECK(corio_process_spawn(argv, &o, &p) == -EINVAL);
	o = (corio_process_opts){ .stdout_mode = 42 };
	TH_CHECK(corio_process_spawn(argv, &o, &p) == -EINVAL);
	TH_CHECK(corio_process_wait(NULL, NULL) == -EINVAL);
	TH_CHECK(corio_process_kill(NULL, SIGTERM) == -EINVAL);
	corio_process_free(NULL);
	TH_CHECK(th_sh("exit 0", NULL, &p) == 0);
	TH_CHECK(corio_process_kill(p, 12345) == -EINVAL);
	TH_CHECK(corio_process_take_fd(p, 1) == -1 && corio_process_take_fd(p, 7) == -1);
	TH_CHECK(corio_process_wait(p, NULL) == 0);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(bad_args, t_bad_args)

static void *set_flag(void *arg)
{
	*(bool *)arg = true;
	return NULL;
}

static void *spawn_in_task(void *arg)
{
	corio_process **p = arg;

	corio_cancel(corio_current()); /* sticky: the spawn below is refused */
	return (void *)(intptr_t)th_sh("exit 0", NULL, p);
}

/* Spawn parks while a pool thread clones (the loop runs other tasks meanwhile); a task
 * cancelled first starts nothing. */
static void *t_spawn_parks(void *arg)
{
	corio_process *p = NULL;
	bool ran = false;
	corio_task *t = corio_spawn(set_flag, &ran);
	void *res;
	siginfo_t si;

	TH_CHECK(t && !ran);
	TH_CHECK(th_sh("exit 4", NULL, &p) == 0);
	TH_CHECK(ran); /* it ran while spawn was parked */
	TH_CHECK(corio_join(t, NULL) == 0);
	TH_CHECK(corio_process_wait(p, NULL) == 0);
	corio_process_free(p);
	p = NULL;
	TH_CHECK((t = corio_spawn(spawn_in_task, &p)));
	TH_CHECK(corio_join(t, &res) == -ECANCELED && p == NULL);
	TH_CHECK((intptr_t)res == -ECANCELED);
	TH_CHECK(waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0 && errno == ECHILD);
	return TH_OK;
}
TH_MODE_TEST(spawn_parks, t_spawn_parks)

START_TEST(outside_a_task)
{
	const char *argv[] = { "true", NULL };
	corio_process *p;

	ck_assert_int_eq(corio_process_spawn(argv, NULL, &p), -EPERM);
}
END_TEST

/* The child stops reading: writes fail with -EPIPE and the parent lives on. */
static void *t_epipe(void *arg)
{
	corio_process_opts o = { .stdin_mode = CORIO_PROCESS_PIPE,
				 .stdout_mode = CORIO_PROCESS_NULL };
	const char *argv[] = { "head", "-c", "1", NULL };
	static char chunk[4096];
	corio_process *p;
	ssize_t n = 0;
	int st;

	TH_CHECK(corio_process_spawn(argv, &o, &p) == 0);
	for (int i = 0; i < 100000 && n >= 0; i++)
		n = corio_write(corio_process_stdin(p), chunk, sizeof chunk, -1);
	TH_CHECK(n == -EPIPE);
	TH_CHECK(corio_process_wait(p, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	corio_process_free(p);
	/* the child is gone before the first write */
	const char *t[] = { "true", NULL };

	TH_CHECK(corio_process_spawn(t, &o, &p) == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && st == 0);
	TH_CHECK(corio_write(corio_process_stdin(p), "x", 1, -1) == -EPIPE);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(epipe, t_epipe)

/* The child starts with an empty signal mask and default dispositions, whatever the
 * parent blocked or ignored. */
static void *t_child_signals(void *arg)
{
	corio_process_opts o = { .stdout_mode = CORIO_PROCESS_PIPE };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t s;
	corio_process *p;
	char buf[256];
	int st;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGCHLD);
	TH_CHECK(pthread_sigmask(SIG_BLOCK, &s, NULL) == 0);
	TH_CHECK(sigaction(SIGINT, &ign, NULL) == 0 && sigaction(SIGHUP, &ign, NULL) == 0);
	TH_CHECK(th_sh("exec grep -E '^Sig(Blk|Ign)' /proc/self/status", &o, &p) == 0);
	TH_CHECK(th_read_all(corio_process_stdout(p), buf, sizeof buf) > 0);
	TH_CHECK(strcmp(buf, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n") == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && st == 0);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(child_signals, t_child_signals)

static void *t_take_fd(void *arg)
{
	corio_process_opts o = { .stdin_mode = CORIO_PROCESS_PIPE,
				 .stdout_mode = CORIO_PROCESS_PIPE };
	const char *argv[] = { "cat", NULL };
	corio_process *p;
	char buf[16];
	int in, out, st;

	TH_CHECK(corio_process_spawn(argv, &o, &p) == 0);
	in = corio_process_take_fd(p, 0);
	out = corio_process_take_fd(p, 1);
	TH_CHECK(in >= 0 && out >= 0 && corio_process_take_fd(p, 0) == -1);
	TH_CHECK(corio_process_stdin(p) == -1 && corio_process_close_stdin(p) == -EBADF);
	corio_process_free(p); /* the taken fds stay open: cat keeps running, reaped later */
	TH_CHECK(corio_write(in, "abc", 3, -1) == 3 && corio_close(in) == 0);
	TH_CHECK(th_read_all(out, buf, sizeof buf) == 3 && strcmp(buf, "abc") == 0);
	TH_CHECK(corio_close(out) == 0);
	(void)st;
	return TH_OK;
}
TH_MODE_TEST(take_fd, t_take_fd)

/* The pipes as buffered streams (asyncio's proc.stdin / proc.stdout): lines written to cat
 * come back as lines. */
static void *t_streams(void *arg)
{
	corio_process_opts o = { .stdin_mode = CORIO_PROCESS_PIPE,
				 .stdout_mode = CORIO_PROCESS_PIPE };
	const char *argv[] = { "cat", NULL };
	corio_stream *in, *out;
	corio_process *p;
	char line[64];
	int st;

	TH_CHECK(corio_process_spawn(argv, &o, &p) == 0);
	TH_CHECK((in = corio_stream_new(corio_process_take_fd(p, 0))));
	TH_CHECK((out = corio_stream_new(corio_process_take_fd(p, 1))));
	for (int i = 0; i < 100; i++) {
		char want[32];
		int n = snprintf(want, sizeof want, "line %d\n", i);

		TH_CHECK(corio_stream_write(in, want, (size_t)n) == n);
		TH_CHECK(corio_stream_flush(in) == 0);
		TH_CHECK(corio_stream_read_until(out, "\n", 1, line, sizeof line) == n);
		TH_CHECK(memcmp(line, want, (size_t)n) == 0);
	}
	TH_CHECK(corio_stream_close(in) == 0); /* cat sees EOF */
	TH_CHECK(corio_stream_read_some(out, line, sizeof line) == 0);
	TH_CHECK(corio_stream_close(out) == 0);
	TH_CHECK(corio_process_wait(p, &st) == 0 && st == 0);
	corio_process_free(p);
	return TH_OK;
}
TH_MODE_TEST(streams, t_streams)

static Suite *process_suite(void)
{
	Suite *s = suite_create("process");
	TCase *tc;

	TH_TCASE_MODES(s, "spawn", TH_TIMEOUT, exit_codes, cat_echo, yes_head, big_pipe,
		       stderr_modes, env_cwd, new_session, exec_failures, bad_args, epipe,
		       child_signals, take_fd, streams, spawn_parks);
	tc = TH_TCASE(s, "outside", TH_TIMEOUT, outside_a_task);
	(void)tc;
	return s;
}

int main(void)
{
	return th_main(process_suite());
}
