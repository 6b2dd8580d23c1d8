/* corio/process.h: subprocesses, like asyncio.create_subprocess_exec.
 *
 *     const char *argv[] = { "sh", "-c", "echo hi; exit 3", NULL };
 *     corio_process_opts o = { .stdout_mode = CORIO_PROCESS_PIPE };
 *     corio_process *p;
 *     int rc = corio_process_spawn(argv, &o, &p), status;
 *     if (rc == 0) {
 *         char buf[64];
 *         ssize_t n = corio_read(corio_process_stdout(p), buf, sizeof buf, -1);
 *         rc = corio_process_wait(p, &status);   // WIFEXITED(status), WEXITSTATUS == 3
 *         corio_process_free(p);
 *     }
 *
 * How a wait parks, chosen once per loop from what the kernel offers (corio_caps says which,
 * see corio_capabilities.process_wait):
 *   - IORING_OP_WAITID on a pidfd (6.7+): the wait is one io_uring operation;
 *   - otherwise a poll on the child's pidfd (pidfd_open, 5.3+; IORING_OP_POLL_ADD), readable
 *     when the child exits, then waitid(WNOHANG) reaps it;
 *   - otherwise (no pidfd) a blocking waitid on a reaper thread of the child's own, which
 *     posts to the loop when it has reaped it (not a corio_blocking job: a cancelled wait
 *     must return at once, and a pool job cannot be abandoned).
 * CORIO_PROCESS_WAIT=waitid|pidfd|pool, read when a loop starts, forces a mechanism below
 * the best the kernel offers (tests run every one).
 * The child is always reaped by corio and only by corio (never by a SIGCHLD handler of
 * its own: corio installs none); an application that reaps every child with waitpid(-1)
 * steals corio's children and their waits fail with -ECHILD.
 *
 * No zombie is left behind: a process freed before it was waited for is reaped when it
 * exits, also after its loop has ended (killed with SIGKILL first only when asked to: see
 * corio_process_free_kill). Descriptors made here carry O_CLOEXEC in the parent; the child gets
 * exactly fds 0, 1 and 2 from this call, plus whatever the application opened without
 * O_CLOEXEC. The child starts with an empty signal mask and every signal at its default
 * disposition, whatever the parent blocked or ignored.
 *
 * SIGPIPE: a write to a pipe whose reader has gone raises SIGPIPE in the writing thread (the
 * loop's). The first spawn with a piped stdin therefore sets SIGPIPE to SIG_IGN for the
 * process if it still had its default disposition (as Python and Go do), so such a write
 * fails with -EPIPE instead; a handler or disposition of the application's is left alone.
 *
 * Errors are negative errno values. Calls that park must be called from a task and honour
 * cancellation (-ECANCELED) and timeout scopes (-ETIMEDOUT).
 */
#ifndef CORIO_PROCESS_H
#define CORIO_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include <corio/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_process corio_process;

/* What the child gets as one of its standard streams. */
enum {
	CORIO_PROCESS_INHERIT = 0, /* the parent's own descriptor */
	CORIO_PROCESS_NULL,        /* /dev/null */
	CORIO_PROCESS_PIPE,        /* a pipe whose other end the parent reads or writes */
	CORIO_PROCESS_STDOUT,      /* stderr_mode only: the same place as stdout (2>&1) */
};

typedef struct corio_process_opts {
	const char *const *env;     /* NULL-terminated "NAME=value" list; NULL: inherit environ */
	const char *cwd;            /* NULL: inherit */
	int stdin_mode, stdout_mode, stderr_mode;  /* CORIO_PROCESS_*; zeroed struct: inherit */
	bool new_session;           /* setsid() in the child (its own process group), so a
				     * terminal's Ctrl-C does not reach it */
} corio_process_opts;

/* Starts argv[0] with arguments argv (NULL-terminated; argv[0] without '/' is searched in
 * PATH, as execvp does, with the PATH of env when env sets one). o NULL: every stream
 * inherited. *out gets the process. 0 once the program has been executed: an exec failure
 * is reported here (-ENOENT, -EACCES, -ENOEXEC, ... of execve, or of chdir to cwd), never
 * as an exit status. -EINVAL (argv NULL or empty, a bad mode), -EMFILE, -ENOMEM, -EAGAIN.
 * Pipes given to the parent are ordinary (blocking) pipes, usable with corio_read,
 * corio_write and corio_stream_new (which then owns the fd: see corio_process_take_fd).
 * Parks while the child is started: the clone (CLONE_VM | CLONE_VFORK, as posix_spawn: no
 * page tables copied, whatever the size of the parent) runs on a thread of the blocking
 * pool, which stays suspended until the child has executed the program, so the loop runs
 * on meanwhile (on the loop's own thread when no pool thread can be had). That thread is
 * the child's parent thread: a program that sets PR_SET_PDEATHSIG ties itself to it.
 * Callable from a task only (-EPERM). -ECANCELED / -ETIMEDOUT when cancelled or timed out
 * before the child was started; once started it is not undone: 0 and the process, and the
 * task's next blocking call fails. */
CORIO_API int corio_process_spawn(const char *const argv[], const corio_process_opts *o,
				  corio_process **out);
/* Parks until the child exits and stores its status, in waitpid(2) form (WIFEXITED,
 * WEXITSTATUS, WIFSIGNALED, WTERMSIG), in *status (status may be NULL). 0 (also at every
 * later call: the status is kept); -ECANCELED / -ETIMEDOUT: the wait was interrupted and
 * the child is left running and still waitable (call again); -ECHILD when someone else
 * reaped it; -EPERM outside a task. Stopped and continued children are not reported. */
CORIO_API int corio_process_wait(corio_process *p, int *status);
/* Sends sig to the child (through its pidfd when there is one, so a recycled pid is never
 * hit). 0; -ESRCH once the child has been reaped; -EINVAL (bad signal). Never parks. */
CORIO_API int corio_process_kill(corio_process *p, int sig);
/* The child's pid. */
CORIO_API pid_t corio_process_pid(const corio_process *p);
/* The parent's ends of the pipes, -1 when that stream is not piped (or was taken or
 * closed). The process keeps owning them (corio_process_free closes them) unless taken. */
CORIO_API int corio_process_stdin(const corio_process *p);
CORIO_API int corio_process_stdout(const corio_process *p);
CORIO_API int corio_process_stderr(const corio_process *p);
/* Hands the pipe fd of stream 0, 1 or 2 to the caller (e.g. for corio_stream_new, which
 * then owns and closes it): returns it, and the process no longer closes it. -1 when that
 * stream is not piped or was already taken or closed. Never parks. */
CORIO_API int corio_process_take_fd(corio_process *p, int stream);
/* Closes the parent's end of the child's stdin, so the child reads EOF (as
 * process.stdin.close() in asyncio). 0, or -EBADF when stdin is not piped or already
 * closed or taken. May park (IORING_OP_CLOSE). */
CORIO_API int corio_process_close_stdin(corio_process *p);
/* Closes the pipes still owned and frees p. A child not reaped yet keeps running, and the
 * library reaps it when it exits (no zombie: a thread of its own waits for it, and outlives
 * the loop); with kill set it is sent SIGKILL first. NULL is a no-op. May park (closing). */
CORIO_API void corio_process_free_kill(corio_process *p, bool kill);
CORIO_API void corio_process_free(corio_process *p); /* corio_process_free_kill(p, false) */

#ifdef __cplusplus
}
#endif

#endif
