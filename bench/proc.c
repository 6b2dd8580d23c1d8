/* bench/proc.c: child processes for the benchmarks that measure a fresh process (peak RSS
 * comes from wait4, so each measured program must be its own process), and finding the
 * programs they run: this executable, the Python peers, Debian's python3. Starting,
 * capturing and reaping are tests/support/proc.c's, with bench_fork as its fork. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "tests/support/proc.h"

/* ---- the registry of child processes ------------------------------------------------- */

#define MAX_CHILDREN 256

/* Slots hold a pid or 0; written with atomics so that registering from any thread and
 * reading from a signal handler need no lock. */
static _Atomic pid_t children[MAX_CHILDREN];
static pid_t runner_pid;

void bench_child_register(pid_t pid)
{
	if (pid <= 0)
		return;
	for (int i = 0; i < MAX_CHILDREN; i++) {
		pid_t zero = 0;

		if (atomic_compare_exchange_strong(&children[i], &zero, pid))
			return;
	}
	bench_log("corio-bench: more than %d children at once; pid %d will not be stopped on "
		  "Ctrl-C\n", MAX_CHILDREN, (int)pid);
}

void bench_child_reaped(pid_t pid)
{
	for (int i = 0; pid > 0 && i < MAX_CHILDREN; i++) {
		pid_t p = pid;

		if (atomic_compare_exchange_strong(&children[i], &p, 0))
			return;
	}
}

/* fork with SIGINT/SIGTERM/SIGHUP blocked until the child is registered: no signal can
 * arrive between the fork and the registration. The child gets the old mask back. */
pid_t bench_fork(void)
{
	sigset_t block, old;
	pid_t pid, parent;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	fflush(NULL);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		/* The runner's handlers are for the runner: default ones until exec. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		/* Should the runner die without its handler running (SIGKILL, a crash), the
		 * kernel stops this child too. (Bound to the forking thread: benchmarks fork their
		 * servers from the thread that runs them, which outlives the servers.) */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
	} else if (pid > 0) {
		bench_child_register(pid);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

/* Paths removed on SIGINT/SIGTERM, newest first (so a directory's files go before it). */
#define MAX_PATHS 32
static char paths[MAX_PATHS][512];
static _Atomic int path_used[MAX_PATHS];

void bench_cleanup_path(const char *path)
{
	for (int i = 0; path && i < MAX_PATHS; i++) {
		int zero = 0;

		if (atomic_load(&path_used[i]) == 0 && strlen(path) < sizeof paths[i]) {
			snprintf(paths[i], sizeof paths[i], "%s", path);
			if (atomic_compare_exchange_strong(&path_used[i], &zero, 1))
				return;
		}
	}
}

void bench_cleanup_forget(const char *path)
{
	for (int i = 0; path && i < MAX_PATHS; i++)
		if (atomic_load(&path_used[i]) && strcmp(paths[i], path) == 0) {
			atomic_store(&path_used[i], 0);
			return;
		}
}

/* True while pid is our child and has not been reaped: then its pid cannot have been
 * reused, and signalling it hits the process we started. */
static bool alive_child(pid_t pid)
{
	return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

static void on_signal(int sig)
{
	static const char msg[] = "\ncorio-bench: interrupted: stopping the processes it started\n";
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int left;

	if (getpid() != runner_pid)
		_exit(128 + sig);
	if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
		/* nothing to do about it */
	}
	for (int i = 0; i < MAX_CHILDREN; i++) {
		pid_t pid = atomic_load(&children[i]);

		if (alive_child(pid))
			kill(pid, SIGTERM);
	}
	/* Up to 1 s for them to go, then SIGKILL. */
	for (int t = 0; t < 100; t++) {
		left = 0;
		for (int i = 0; i < MAX_CHILDREN; i++)
			left += alive_child(atomic_load(&children[i]));
		if (!left)
			break;
		nanosleep(&tick, NULL);
	}
	for (int i = 0; i < MAX_CHILDREN; i++) {
		pid_t pid = atomic_load(&children[i]);

		if (alive_child(pid)) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	for (int i = MAX_PATHS - 1; i >= 0; i--)
		if (atomic_load(&path_used[i]) && unlink(paths[i]) != 0)
			rmdir(paths[i]);
	_exit(128 + sig);
}

void bench_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask); /* one handler at a time, and no other signal inside it */
	runner_pid = getpid();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* ---- running a child ------------------------------------------------------------------ */

th_child bench_child(char *const argv[])
{
	th_child c = th_child_of(argv);

	c.fork = bench_fork;
	c.reaped = bench_child_reaped;
	return c;
}

/* fork, not vfork/posix_spawn (th_spawn forks): exec folds the old mm's peak RSS into the
 * child's ru_maxrss, and a forked child's mm starts its peak from our (small) current RSS,
 * while a vfork child would inherit our lifetime peak. */
int bench_run_child(char *const argv[], char *out, size_t outlen, long *maxrss_kib)
{
	th_child c = bench_child(argv);
	struct rusage ru;
	int rc = th_run(&c, out, outlen, &ru);

	if (rc >= 0 && maxrss_kib)
		*maxrss_kib = ru.ru_maxrss; /* KiB on Linux */
	return rc;
}

int bench_capture(char *const argv[], char *out, size_t outlen, unsigned timeout_s)
{
	th_child c = bench_child(argv);

	c.std[2] = TH_FD_STDOUT;
	c.alarm_s = timeout_s; /* survives exec: a hung program is killed */
	return th_run(&c, out, outlen, NULL);
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

/* dir = the directory of path + suffix; true when that is a directory. */
static bool beside(char *dir, size_t len, const char *path, const char *suffix)
{
	char *slash;

	snprintf(dir, len, "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return false;
	snprintf(slash, len - (size_t)(slash - dir), "%s", suffix);
	return is_dir(dir);
}

const char *bench_peers_dir(const char *lang)
{
	static char dirs[4][PATH_MAX];
	static const char *langs[4];
	const char *env = getenv("CORIO_BENCH_PEERS");
	const char *self = bench_self_exe();
	char *dir = NULL, sfx[64];
	int i;

	for (i = 0; i < 4 && langs[i]; i++) {
		if (strcmp(langs[i], lang) == 0)
			return dirs[i][0] ? dirs[i] : NULL;
	}
	if (i == 4)
		i = 0; /* more languages than slots: the first slot is reused */
	langs[i] = lang;
	dir = dirs[i];
	dir[0] = 0;
	if (env && *env) {
		snprintf(dir, PATH_MAX, "%s/%s", env, lang);
		if (!is_dir(dir))
			dir[0] = 0;
		return dir[0] ? dir : NULL;
	}
	/* CMake compiles with absolute source paths: bench/peers is beside this file. */
	snprintf(sfx, sizeof sfx, "/peers/%s", lang);
	if (beside(dir, PATH_MAX, __FILE__, sfx))
		return dir;
	/* A build directory two levels below the source tree (build/release/corio-bench). */
	snprintf(sfx, sizeof sfx, "/../../bench/peers/%s", lang);
	if (self && beside(dir, PATH_MAX, self, sfx))
		return dir;
	/* Installed: <prefix>/bin/corio-bench and <prefix>/libexec/corio/lang. */
	snprintf(sfx, sizeof sfx, "/../libexec/corio/%s", lang);
	if (self && beside(dir, PATH_MAX, self, sfx))
		return dir;
	dir[0] = 0;
	return NULL;
}

static bool is_exe(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

const char *bench_peer_bin(const char *name, char *buf, size_t len)
{
	static const char *const where[] = { "/peers/", "/../libexec/corio/" };
	const char *self = bench_self_exe();
	char dir[PATH_MAX], *slash;

	if (!self)
		return NULL;
	snprintf(dir, sizeof dir, "%s", self);
	slash = strrchr(dir, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
		if ((size_t)snprintf(buf, len, "%s%s%s", dir, where[i], name) < len && is_exe(buf))
			return buf;
	}
	return NULL;
}

const char *bench_python(void)
{
	static const char python[] = "/usr/bin/python3";

	return access(python, X_OK) == 0 ? python : NULL;
}

const char *bench_which(const char *name, char *buf, size_t len)
{
	const char *env = getenv("PATH");
	char dirs[4096], *dir, *save = NULL;

	snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin", env && *env ? env : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		struct stat st;

		snprintf(buf, len, "%s/%s", *dir ? dir : ".", name);
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}
