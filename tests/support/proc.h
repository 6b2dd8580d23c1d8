/* tests/support/proc.h: child processes for the test programs and for corio-bench (part of
 * corio_test_support): starting a program with chosen stdio, CPUs and one inherited
 * descriptor (a listening socket the caller bound), running one to completion with its
 * output captured, waiting for one with a bound, stopping one by its pid, waiting for a
 * port it serves, and removing the temporary directories the children worked in.
 *
 * Users: tests/http/test_client_peers.c (nginx, Python's http.server), tests/bench/test_load.c
 * (corio-load, nginx), tests/examples/test_examples.c (the example programs), and bench/
 * (proc.c, http_common.c, b_echo.c), which passes bench_fork and bench_child_reaped as
 * hooks so that its runner can stop every child on Ctrl-C.
 */
#ifndef CORIO_TESTS_SUPPORT_PROC_H
#define CORIO_TESTS_SUPPORT_PROC_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
/* A program the test runs: $env when set, else name beside this executable, into buf.
 * True when that is executable. */
bool th_find_program(const char *env, const char *name, char *buf, size_t len);

#endif
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Values of th_child.std[]. */
#define TH_FD_KEEP (-1)   /* the child keeps this process's descriptor */
#define TH_FD_NULL (-2)   /* /dev/null */
#define TH_FD_STDOUT (-3) /* std[2] only: wherever stdout goes (th_run merges the two) */

typedef struct th_child {
	char *const *argv;     /* argv[0] is the path executed */
	char *const *envp;     /* NULL: this process's environment */
	int std[3];            /* descriptors for the child's 0, 1, 2, or a TH_FD_ value */
	int keep_fd;           /* left open across exec (the caller's copy stays); -1: none */
	const cpu_set_t *cpus; /* the child's affinity; NULL: this process's */
	unsigned alarm_s;      /* SIGALRM (kept across exec) after this many s; 0: none */
	/* fork replacement and its counterpart after the child is reaped (bench's registry of
	 * children). NULL: fork(), and the child gets SIGKILL when this process dies, so that
	 * no failed test leaves one behind. */
	pid_t (*fork)(void);
	void (*reaped)(pid_t);
} th_child;

/* A th_child for argv with every other field at its default (stdio kept, no fd kept, no
 * pinning, plain fork). */
th_child th_child_of(char *const argv[]);

/* Starts c in a new process: signals at their defaults and none blocked, stdio and the kept
 * descriptor as asked, then execve (exit status 127 when that fails). Returns the pid, or -1
 * with errno set. */
pid_t th_spawn(const th_child *c);

/* Runs c to completion with stdout (and stderr, when c->std[2] is TH_FD_STDOUT) into out,
 * NUL-terminated; what does not fit is read and dropped, so the child never blocks on a full
 * pipe. *ru (may be NULL) gets the child's resource use from wait4. Returns the exit code
 * (th_exit_code), or -errno when it could not start or be waited for. */
int th_run(const th_child *c, char *out, size_t outlen, struct rusage *ru);

/* Exit status, or 128 + the signal that ended the process (a shell's $?). */
int th_exit_code(int status);

/* Waits up to secs for pid to exit; past that sends SIGKILL. Reaps it in every case, with
 * its status in *status (may be NULL). True when it exited by itself. */
bool th_wait_exit(pid_t pid, double secs, int *status);

/* Sends sig to *pid, waits for it and reaps it, calls reaped (may be NULL) and sets *pid to
 * 0. No-op when *pid <= 0. */
void th_stop(pid_t *pid, int sig, void (*reaped)(pid_t));

/* Waits up to secs for 127.0.0.1:port to accept a connection (a program that binds by
 * itself); false when it did not, or when *pid (> 0) exited first (then reaped, reaped
 * called, *pid set to 0). */
bool th_wait_port(int port, pid_t *pid, double secs, void (*reaped)(pid_t));

/* Removes dir and everything below it (a child's working directory); 0 or -1. */
int th_remove_tree(const char *dir);

/* The directory of this program's executable into buf (false when unknown): test programs
 * find the programs they run (corio-load, the examples) built beside them. */
bool th_exe_dir(char *buf, size_t len);

/* A program the test runs: $env when set, else name beside this executable, into buf.
 * True when that is executable. */
bool th_find_program(const char *env, const char *name, char *buf, size_t len);
/* The example program name: $CORIO_EXAMPLES_DIR/name, else name beside this test's own
 * binary. false when it is not there (the caller skips). */
bool th_find_example(const char *name, char *buf, size_t len);
/* Runs prog with args (NULL-terminated, at most 14) and stderr merged into stdout (in
 * out), SIGALRM after alarm_s: its exit code as th_run gives it. */
int th_run_merged(const char *prog, char *const *args, unsigned alarm_s, char *out, size_t len);

#endif
