/* tests/support/proc.c: child processes shared by the tests and corio-bench (see proc.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/net.h"
#include "tests/support/proc.h"

extern char **environ;

th_child th_child_of(char *const argv[])
{
	th_child c = { .argv = argv, .std = { TH_FD_KEEP, TH_FD_KEEP, TH_FD_KEEP }, .keep_fd = -1 };

	return c;
}

/* The plain fork: a child that dies with this process (a test killed by its timeout leaves
 * no server behind). The parent check closes the race of dying before the prctl. */
static pid_t fork_tied(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
		_exit(126);
	return pid;
}

/* In the child: descriptor want onto target, or /dev/null, or left alone. */
static int put_std(int want, int target, int out)
{
	if (want == TH_FD_KEEP)
		return 0;
	if (want == TH_FD_STDOUT)
		want = out;
	if (want == TH_FD_NULL) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, target) < 0)
			return -1;
		return null == target ? 0 : close(null);
	}
	return dup2(want, target) < 0 ? -1 : 0;
}

pid_t th_spawn(const th_child *c)
{
	pid_t pid = c->fork ? c->fork() : fork_tied();
	sigset_t none;

	if (pid != 0)
		return pid;
	/* Whatever this process did with its signals is not the program's business. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (c->cpus)
		sched_setaffinity(0, sizeof *c->cpus, c->cpus);
	if (c->keep_fd >= 0)
		fcntl(c->keep_fd, F_SETFD, 0);
	/* stdout first: std[2] may follow it, and a stdin redirect cannot disturb either. */
	if (put_std(c->std[1], STDOUT_FILENO, c->std[1]) != 0 ||
	    put_std(c->std[2], STDERR_FILENO, STDOUT_FILENO) != 0 ||
	    put_std(c->std[0], STDIN_FILENO, -1) != 0)
		_exit(126);
	if (c->alarm_s)
		alarm(c->alarm_s);
	execve(c->argv[0], c->argv, c->envp ? c->envp : environ);
	_exit(127);
}

int th_exit_code(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

int th_run(const th_child *c, char *out, size_t outlen, struct rusage *ru)
{
	th_child piped = *c;
	struct rusage sink_ru;
	size_t used = 0;
	int fds[2], status;
	pid_t pid;

	if (outlen)
		out[0] = 0;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -errno;
	piped.std[1] = fds[1];
	pid = th_spawn(&piped);
	if (pid < 0) {
		int e = errno;

		close(fds[0]);
		close(fds[1]);
		return -e;
	}
	close(fds[1]);
	for (;;) {
		char sink[512];
		char *dst = used + 1 < outlen ? out + used : sink;
		size_t room = used + 1 < outlen ? outlen - 1 - used : sizeof sink;
		ssize_t n = read(fds[0], dst, room);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst == out + used)
			used += (size_t)n;
	}
	close(fds[0]);
	if (outlen)
		out[used] = 0;
	while (wait4(pid, &status, 0, ru ? ru : &sink_ru) < 0) {
		if (errno != EINTR) {
			int e = errno;

			if (c->reaped)
				c->reaped(pid);
			return -e;
		}
	}
	if (c->reaped)
		c->reaped(pid);
	return th_exit_code(status);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

bool th_wait_exit(pid_t pid, double secs, int *status)
{
	uint64_t until = now_ns() + (uint64_t)(secs * 1e9);
	int st = 0;
	bool exited = false;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid) {
			exited = true;
			break;
		}
		if (w < 0 && errno != EINTR) /* not our child: nothing to wait for */
			break;
		if (now_ns() >= until) {
			kill(pid, SIGKILL);
			reap(pid, &st);
			break;
		}
		sleep_ms(5);
	}
	if (status)
		*status = st;
	return exited;
}

void th_stop(pid_t *pid, int sig, void (*reaped)(pid_t))
{
	if (*pid <= 0)
		return;
	kill(*pid, sig);
	reap(*pid, NULL);
	if (reaped)
		reaped(*pid);
	*pid = 0;
}

bool th_wait_port(int port, pid_t *pid, double secs, void (*reaped)(pid_t))
{
	uint64_t until = now_ns() + (uint64_t)(secs * 1e9);

	while (now_ns() < until) {
		if (th_port_accepts(port))
			return true;
		if (pid && *pid > 0 && waitpid(*pid, NULL, WNOHANG) == *pid) {
			if (reaped)
				reaped(*pid);
			*pid = 0;
			return false;
		}
		sleep_ms(10);
	}
	return false;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

int th_remove_tree(const char *dir)
{
	/* Depth first (FTW_DEPTH), not following links out of the tree (FTW_PHYS). */
	return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

bool th_exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0)
		return false;
	buf[n] = 0;
	slash = strrchr(buf, '/');
	if (!slash)
		return false;
	*slash = 0;
	return true;
}

bool th_find_program(const char *env, const char *name, char *buf, size_t len)
{
	const char *set = getenv(env);
	char dir[PATH_MAX];

	if (set && *set)
		snprintf(buf, len, "%s", set);
	else if (th_exe_dir(dir, sizeof dir))
		snprintf(buf, len, "%s/%s", dir, name);
	else
		return false;
	return access(buf, X_OK) == 0;
}

bool th_find_example(const char *name, char *buf, size_t len)
{
	const char *env = getenv("CORIO_EXAMPLES_DIR");
	char dir[PATH_MAX];

	if (env && *env)
		snprintf(dir, sizeof dir, "%s", env);
	else if (!th_exe_dir(dir, sizeof dir))
		return false;
	snprintf(buf, len, "%s/%s", dir, name);
	return access(buf, X_OK) == 0;
}

int th_run_merged(const char *prog, char *const *args, unsigned alarm_s, char *out, size_t len)
{
	char *argv[16] = { (char *)prog };
	th_child c;

	for (int i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	c = th_child_of(argv);
	c.std[2] = TH_FD_STDOUT;
	c.alarm_s = alarm_s;
	return th_run(&c, out, len, NULL);
}
