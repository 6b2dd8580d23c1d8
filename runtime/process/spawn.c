/* runtime/process/spawn.c: corio_process_spawn. Everything the child needs (the pipes, the
 * descriptors to put at 0, 1 and 2, the PATH candidates, the environment) is prepared in
 * the parent; then clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) runs the child on a small
 * stack of its own in the parent's memory, as glibc's posix_spawn and Go's os/exec do: no
 * page tables are copied, so spawning costs the same in a large process as in a small one,
 * and the pidfd comes with the pid (no window in which the pid could be recycled).
 *
 * The cloning thread stays suspended until the child has executed the program or exited
 * (CLONE_VFORK), so the child reports an exec failure by writing its errno into the plan
 * the parent reads afterwards; no pipe is needed. That thread is one of the blocking pool's
 * (corio_blocking): the loop keeps running its other tasks during the exec (0.1 to a few
 * ms), and concurrent spawns use more than one CPU. The child shares our memory: it makes
 * raw system calls only (no malloc, no errno-dependent libc state, no sanitizer hooks),
 * and runs with every signal blocked until it has reset every disposition to the default
 * (a parent's handler must never run on the child's side of the shared memory). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/process/process_internal.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000 /* 5.2 */
#endif

#define CHILD_STACK (64u * 1024u)

extern char **environ;

/* What the child does, all decided before the clone. */
typedef struct plan {
	const char *const *argv;
	char *const *envp;
	const char *cwd;
	char **paths;       /* the program's candidate paths, NULL-terminated */
	int src[3];         /* descriptor to put at 0, 1, 2 (>= 3), or -1: leave it */
	bool err_to_out;    /* 2>&1 */
	bool setsid;
	int err;            /* written by the child: why it could not run the program */
} plan;

/* ---- the child (shared memory, suspended parent: raw system calls only) ---- */

/* The kernel's struct sigaction (the same order on x86_64 and arm64). */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

#define NO_SANITIZE __attribute__((no_sanitize_address, no_sanitize_undefined))

NO_SANITIZE static long sys(long nr, long a, long b, long c, long d)
{
	long rc = syscall(nr, a, b, c, d);

	return rc < 0 ? -errno : rc; /* errno: the parent's thread's, unused by it meanwhile */
}

NO_SANITIZE static void reset_signals(void)
{
	struct ksigaction dfl = { .handler = SIG_DFL };
	uint64_t none = 0;

	for (long s = 1; s < 65; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sys(SYS_rt_sigaction, s, (long)&dfl, 0, 8);
	sys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, 8);
}

NO_SANITIZE static long setup_fds(const plan *pl)
{
	long rc;

	for (int i = 0; i < 3; i++)
		if (pl->src[i] >= 0 && (rc = sys(SYS_dup3, pl->src[i], i, 0, 0)) < 0)
			return rc;
	if (pl->err_to_out && (rc = sys(SYS_dup3, 1, 2, 0, 0)) < 0)
		return rc;
	return 0;
}

/* execvp's rule: a candidate that is missing is skipped, EACCES is remembered and
 * reported if nothing else ran, any other failure ends the search. */
NO_SANITIZE static long exec_candidates(const plan *pl)
{
	bool eacces = false;
	long rc = -ENOENT;

	for (char **p = pl->paths; *p; p++) {
		rc = sys(SYS_execve, (long)*p, (long)pl->argv, (long)pl->envp, 0);
		if (rc == -EACCES)
			eacces = true;
		else if (rc != -ENOENT && rc != -ENOTDIR && rc != -ESTALE && rc != -ENODEV &&
			 rc != -ETIMEDOUT)
			return rc;
	}
	return eacces ? -EACCES : rc;
}

NO_SANITIZE static int child_main(void *arg)
{
	plan *pl = arg;
	long rc;

	reset_signals();
	rc = pl->setsid ? sys(SYS_setsid, 0, 0, 0, 0) : 0;
	if (rc >= 0)
		rc = setup_fds(pl);
	if (rc >= 0 && pl->cwd)
		rc = sys(SYS_chdir, (long)pl->cwd, 0, 0, 0);
	if (rc >= 0)
		rc = exec_candidates(pl);
	pl->err = (int)(rc < 0 ? rc : -ENOEXEC);
	/* exit_group itself: _exit may be a sanitizer's interceptor. */
	syscall(SYS_exit_group, 127);
	return 127;
}

/* ---- the parent's preparations ---- */

/* The PATH to search: env's when it sets one, else ours, else execvp's default. */
static const char *search_path(const char *const *env)
{
	const char *p;

	for (; env && *env; env++)
		if (strncmp(*env, "PATH=", 5) == 0)
			return *env + 5;
	p = getenv("PATH");
	return p ? p : "/bin:/usr/bin";
}

/* pl->paths: argv0 itself when it holds a '/', else every PATH entry joined with it (an
 * empty entry is the current directory). One allocation, freed by the caller. */
static int candidates(plan *pl, const char *argv0, const char *const *env)
{
	const char *path = search_path(env);
	size_t n = 2, name = strlen(argv0), len = strlen(path);
	char *s;

	if (strchr(argv0, '/'))
		path = NULL;
	for (const char *c = path; c && *c; c++)
		n += *c == ':';
	pl->paths = malloc(n * sizeof(char *) + (path ? len + n * (name + 3) : 0));
	if (!pl->paths)
		return -ENOMEM;
	if (!path) {
		pl->paths[0] = (char *)argv0;
		pl->paths[1] = NULL;
		return 0;
	}
	s = (char *)(pl->paths + n);
	n = 0;
	for (const char *c = path;; c = strchr(c, ':') + 1) {
		size_t dl = strcspn(c, ":");

		pl->paths[n++] = s;
		if (dl == 0)
			s[dl++] = '.';
		else
			memcpy(s, c, dl);
		s[dl] = '/';
		memcpy(s + dl + 1, argv0, name + 1);
		s += dl + name + 2;
		if (!c[strcspn(c, ":")])
			break;
	}
	pl->paths[n] = NULL;
	return 0;
}

/* fd moved to 3 or above (so that putting one stream in place never overwrites the
 * source of another), close-on-exec. */
static int high_fd(int fd)
{
	int nfd;

	if (fd < 0 || fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd < 0 ? -errno : nfd;
}

/* The descriptors a spawn creates: given to the child (child[]), kept by the parent
 * (p->fds), /dev/null. */
typedef struct fdset {
	int child[3];
	int devnull;
} fdset;

static void fdset_close_child(fdset *f)
{
	for (int i = 0; i < 3; i++)
		if (f->child[i] >= 0 && f->child[i] != f->devnull)
			close(f->child[i]);
	if (f->devnull >= 0)
		close(f->devnull);
}

/* Stream i in mode: a pipe (parent end into p->fds[i]), /dev/null, or nothing. */
static int make_stream(corio_process *p, fdset *f, int i, int mode)
{
	int pfd[2];

	if (mode == CORIO_PROCESS_NULL) {
		if (f->devnull < 0 &&
		    (f->devnull = high_fd(open("/dev/null", O_RDWR | O_CLOEXEC))) < 0)
			return f->devnull == -1 ? -errno : f->devnull;
		f->child[i] = f->devnull;
	} else if (mode == CORIO_PROCESS_PIPE) {
		if (pipe2(pfd, O_CLOEXEC) < 0)
			return -errno;
		/* stdin: the child reads pfd[0]; stdout, stderr: the child writes pfd[1]. */
		p->fds[i] = pfd[i == 0 ? 1 : 0];
		if ((f->child[i] = high_fd(pfd[i == 0 ? 0 : 1])) < 0)
			return f->child[i];
	}
	return 0;
}

static bool valid_mode(int i, int mode)
{
	return mode == CORIO_PROCESS_INHERIT || mode == CORIO_PROCESS_NULL ||
	       mode == CORIO_PROCESS_PIPE || (i == 2 && mode == CORIO_PROCESS_STDOUT);
}

/* A write to a pipe whose reader is gone raises SIGPIPE in the writing thread: the loop's,
 * which would die of it. Ignored process-wide once a pipe to a child is made, as Python
 * and Go do, unless the application chose a disposition of its own; children get the
 * default back (reset_signals). */
static void ignore_sigpipe(void)
{
	static int done;
	struct sigaction sa;

	if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
		return;
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
	    !(sa.sa_flags & SA_SIGINFO)) {
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}
}

/* ---- the clone ---- */

/* clone with every signal blocked in the calling thread (the child starts with that mask
 * and clears it itself). The pid, or -errno; *pidfd gets the pidfd or -1. */
static pid_t clone_child(plan *pl, int *pidfd)
{
	void *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
	sigset_t all, old;
	pid_t pid;
	int err = 0;

	if (stack == MAP_FAILED)
		return -ENOMEM;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	*pidfd = -1;
	pid = clone(child_main, (char *)stack + CHILD_STACK, flags | CLONE_PIDFD, pl, pidfd);
	if (pid < 0 && errno == EINVAL) { /* before 5.2: no CLONE_PIDFD */
		*pidfd = -1;
		pid = clone(child_main, (char *)stack + CHILD_STACK, flags, pl);
	}
	if (pid < 0)
		err = -errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	munmap(stack, CHILD_STACK);
	return pid < 0 ? err : pid;
}

/* The child could not run the program and has exited: reap it, release its pidfd. */
static void reap_failed(pid_t pid, int pidfd)
{
	siginfo_t si;

	while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
}

static int prepare(corio_process *p, plan *pl, fdset *f, const char *const argv[],
		   const corio_process_opts *o)
{
	static const corio_process_opts inherit;
	int modes[3], rc;

	if (!o)
		o = &inherit;
	modes[0] = o->stdin_mode;
	modes[1] = o->stdout_mode;
	modes[2] = o->stderr_mode;
	for (int i = 0; i < 3; i++)
		if (!valid_mode(i, modes[i]))
			return -EINVAL;
	pl->argv = argv;
	pl->envp = o->env ? (char *const *)o->env : environ;
	pl->cwd = o->cwd;
	pl->setsid = o->new_session;
	pl->err_to_out = modes[2] == CORIO_PROCESS_STDOUT;
	if ((rc = candidates(pl, argv[0], o->env)) != 0)
		return rc;
	if (modes[0] == CORIO_PROCESS_PIPE)
		ignore_sigpipe();
	for (int i = 0; i < 3; i++)
		if ((rc = make_stream(p, f, i, modes[i])) != 0)
			return rc;
	memcpy(pl->src, f->child, sizeof pl->src);
	return 0;
}

static corio_process *process_new(void)
{
	corio_process *p = calloc(1, sizeof *p);

	if (p) {
		p->pidfd = -1;
		p->fds[0] = p->fds[1] = p->fds[2] = -1;
	}
	return p;
}

static void process_discard(corio_process *p)
{
	for (int i = 0; i < 3; i++)
		if (p->fds[i] >= 0)
			close(p->fds[i]);
	free(p);
}

/* The clone and, when the exec failed, the reaping of the dead child: on a pool thread
 * (corio_blocking), so the loop keeps running while the child execs. */
typedef struct launch_job {
	plan *pl;
	pid_t pid;
	int pidfd;
} launch_job;

static void *launch_fn(void *arg)
{
	launch_job *j = arg;

	j->pid = clone_child(j->pl, &j->pidfd);
	if (j->pid > 0 && j->pl->err) {
		reap_failed(j->pid, j->pidfd);
		j->pidfd = -1;
	}
	return arg;
}

/* Runs the plan: 0 with p's pid, pidfd and wait mode set, or -errno (nothing left). A
 * cancellation or timeout that comes while the pool thread runs the clone cannot stop it:
 * the child started is returned (as an operation that completed anyway), and the task's
 * next blocking call fails. */
static int launch(corio_process *p, plan *pl)
{
	corio__loop *l = corio__loop_get();
	launch_job j = { .pl = pl, .pid = -EAGAIN, .pidfd = -1 };
	void *ran = NULL;
	int rc = corio_blocking(launch_fn, &j, &ran);

	if (!ran) {
		if (rc == -ECANCELED || rc == -ETIMEDOUT)
			return rc; /* before the pool took it: nothing was started */
		launch_fn(&j); /* no pool thread could be had: the clone in this thread */
	}
	if (j.pid < 0)
		return j.pid;
	if (pl->err)
		return pl->err;
	p->pid = j.pid;
	p->pidfd = j.pidfd;
	p->wait_mode = j.pidfd >= 0 ? l->caps.process_wait : CORIO_WAIT_POOL;
	return 0;
}

int corio_process_spawn(const char *const argv[], const corio_process_opts *o,
			corio_process **out)
{
	fdset f = { { -1, -1, -1 }, -1 };
	plan pl = { 0 };
	corio_process *p;
	int rc;

	if (!corio_current())
		return -EPERM;
	if (!argv || !argv[0] || !out)
		return -EINVAL;
	if (!argv[0][0])
		return -ENOENT;
	if (corio__task_cancel_due(corio_current()))
		return -ECANCELED;
	if (!(p = process_new()))
		return -ENOMEM;
	rc = prepare(p, &pl, &f, argv, o);
	if (rc == 0)
		rc = launch(p, &pl);
	fdset_close_child(&f);
	free(pl.paths);
	if (rc != 0) {
		process_discard(p);
		return rc;
	}
	*out = p;
	return 0;
}
