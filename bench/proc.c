/* bench/proc.c: child processes for the benchmarks that measure a fresh process (peak RSS
 * comes from wait4, so each measured program must be its own process), and finding the
 * programs they run: this executable, the Python peers, Debian's python3. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

int bench_run_child(char *const argv[], char *out, size_t outlen, long *maxrss_kib)
{
	struct rusage ru;
	size_t used = 0;
	int fds[2], status;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -errno;
	/* fork, not vfork/posix_spawn: exec folds the old mm's peak RSS into the child's
	 * ru_maxrss, and a forked child's mm starts its peak from our (small) current RSS,
	 * while a vfork child would inherit our lifetime peak. */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(fds[0]);
		close(fds[1]);
		return -e;
	}
	if (pid == 0) {
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char sink[256];
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
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return -errno;
	if (maxrss_kib)
		*maxrss_kib = ru.ru_maxrss; /* KiB on Linux */
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

const char *bench_self_exe(void)
{
	static char path[PATH_MAX];
	ssize_t n;

	if (path[0])
		return path;
	n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n <= 0)
		return NULL;
	path[n] = 0;
	return path;
}

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *bench_peers_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("CORIO_BENCH_PEERS");
	const char *self;
	char *slash;

	if (env && *env)
		return is_dir(env) ? env : NULL;
	if (dir[0])
		return dir;
	/* CMake compiles with absolute source paths: bench/peers is beside this file. */
	snprintf(dir, sizeof dir, "%s", __FILE__);
	slash = strrchr(dir, '/');
	if (slash) {
		snprintf(slash, sizeof dir - (size_t)(slash - dir), "/peers");
		if (is_dir(dir))
			return dir;
	}
	/* A build directory two levels below the source tree (build/release/corio-bench). */
	self = bench_self_exe();
	if (self) {
		snprintf(dir, sizeof dir, "%s", self);
		slash = strrchr(dir, '/');
		if (slash) {
			snprintf(slash, sizeof dir - (size_t)(slash - dir), "/../../bench/peers");
			if (is_dir(dir))
				return dir;
		}
	}
	dir[0] = 0;
	return NULL;
}

const char *bench_python(void)
{
	static const char python[] = "/usr/bin/python3";

	return access(python, X_OK) == 0 ? python : NULL;
}
