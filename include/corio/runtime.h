/* corio/runtime.h: the event loop, tasks, time, timeouts and cancellation.
 *
 * The asyncio part of corio: corio_run is asyncio.run, corio_spawn is create_task,
 * corio_join is await on a task, corio_sleep is asyncio.sleep. Every call that says
 * "parks" suspends the calling coroutine until its operation completes; it may only be
 * called from inside a task (it returns -EPERM elsewhere). Errors are negative errno
 * values, returned, never stored in errno.
 */
#ifndef CORIO_RUNTIME_H
#define CORIO_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* sigset_t (corio_signal_wait) is POSIX: under a strict ISO C mode (-std=c11 without
 * _POSIX_C_SOURCE or the like) <signal.h> has none, and that one call is left out rather
 * than break the header. */
#if !defined(__STRICT_ANSI__) || defined(_POSIX_C_SOURCE) || defined(_XOPEN_SOURCE) || \
	defined(_GNU_SOURCE) || defined(_DEFAULT_SOURCE)
#include <signal.h>
#define CORIO__HAVE_SIGSET 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define CORIO_API __attribute__((visibility("default")))

/* Time is uint64_t nanoseconds of CLOCK_MONOTONIC. */
#define CORIO_US(x) ((uint64_t)(x) * 1000ull)
#define CORIO_MS(x) ((uint64_t)(x) * 1000000ull)
#define CORIO_SEC(x) ((uint64_t)(x) * 1000000000ull)

/* Results travel as void *, as with pthreads. */
typedef void *(*corio_fn)(void *arg);

typedef struct corio_task corio_task;

typedef enum corio_stack_kind {
	CORIO_STACK_AUTO = 0, /* guarded up to guarded_max live stacks, packed beyond */
	CORIO_STACK_GUARDED,  /* PROT_NONE page below each stack: overflow faults at once */
	CORIO_STACK_PACKED,   /* carved from slabs, canary word checked at every switch */
} corio_stack_kind;

typedef struct corio_config {
	unsigned sq_entries;          /* 0: 256 */
	unsigned cq_entries;          /* 0: max(8 * sq_entries, 4096); never below 2 * sq */
	size_t stack_size;            /* 0: 64 KiB (virtual; only touched pages are resident);
				       * rounded up to whole pages, at least 4 */
	corio_stack_kind stack_kind;  /* default CORIO_STACK_AUTO */
	unsigned guarded_max;         /* AUTO mode: 0 means 4096 */
	unsigned ring_flags_disable;  /* IORING_SETUP_* flags never to try (tests the fallbacks) */
	const char *faults;           /* fault spec as in CORIO_FAULTS; NULL: read the env var */
} corio_config;

/* Fills cfg with the defaults (all zero). */
CORIO_API void corio_config_init(corio_config *cfg);

/* Runs fn(arg) as the first task of a new loop on this thread and returns when fn and every
 * non-detached task finished; detached tasks still running then are cancelled and awaited.
 * *result (if not NULL) gets fn's return value. Returns 0, -EBUSY (a loop already runs on
 * this thread), -ENOMEM, the io_uring_setup error (e.g. -ENOSYS, -EPERM), -EINVAL for a bad
 * config or fault spec, -ECANCELED when fn's task was cancelled (corio_cancel on it), or
 * -EDEADLK when tasks were left parked with nothing that could ever wake them (they are
 * cancelled, a message goes to the logger: corio_set_logger). */
CORIO_API int corio_run(corio_fn fn, void *arg, void **result);
CORIO_API int corio_run_config(const corio_config *cfg, corio_fn fn, void *arg, void **result);

/* Creates a task that starts at the loop's next turn. NULL with errno ENOMEM, EPERM
 * (called outside a loop) or EINVAL (fn NULL). The task must be joined or detached. */
CORIO_API corio_task *corio_spawn(corio_fn fn, void *arg);
/* Parks until t finishes, stores its result, frees t. Returns 0, or -ECANCELED if t was
 * cancelled (*result then holds whatever fn returned, NULL if it never ran). If the caller
 * itself is cancelled (corio_cancelled() is true) or its timeout scope expires, returns
 * -ECANCELED / -ETIMEDOUT and t is NOT freed, even when t already finished (join it inside
 * corio_shield, or detach it); so does -ENOMEM (a scope's timer could not be had, see
 * corio_timeout). -EINVAL for a task of another loop, a detached one or the
 * main task of corio_run (which corio_run itself reaps; corio_detach ignores it too),
 * -EDEADLK for the caller itself. */
CORIO_API int corio_join(corio_task *t, void **result);
/* t frees itself when it finishes; t must not be used afterwards. */
CORIO_API void corio_detach(corio_task *t);
/* Requests cancellation (sticky). The task's current blocking call asks the kernel to
 * cancel its operation, waits for the final completion, and returns the real result if the
 * operation finished anyway, -ECANCELED otherwise; every later blocking call returns
 * -ECANCELED, except cleanup calls (corio_close) and calls inside corio_shield. A task
 * cancelled before it first ran never runs. No effect on a finished task. */
CORIO_API void corio_cancel(corio_task *t);
/* The running task, NULL outside a task. */
CORIO_API corio_task *corio_current(void);
/* True when cancellation was requested for the running task. */
CORIO_API bool corio_cancelled(void);
/* Lets every other ready task run once, then continues. No syscall when no I/O is in flight. */
CORIO_API void corio_yield(void);
/* Parks for ns nanoseconds (IORING_OP_TIMEOUT). 0, -ECANCELED or -ETIMEDOUT (scope expired
 * first). corio_sleep(0) yields. Never ends early; a sleep of 1 ms or more may end up to a
 * thousandth of ns (at most 65.5 us) late, so that sleeps ending together share one kernel
 * timer. */
CORIO_API int corio_sleep(uint64_t ns);
/* Parks until the absolute CLOCK_MONOTONIC time deadline. */
CORIO_API int corio_sleep_until(uint64_t deadline);
/* CLOCK_MONOTONIC in nanoseconds. */
CORIO_API uint64_t corio_now(void);
/* Joins every task in order (all are freed, whatever happens); results[i] gets task i's
 * result (results may be NULL). Returns 0, or -ECANCELED if any task was cancelled. If the
 * caller is cancelled or times out while waiting (or its wait fails with -ENOMEM, see
 * corio_timeout), the remaining tasks are cancelled and awaited, and the call returns
 * -ECANCELED / -ETIMEDOUT / -ENOMEM. */
CORIO_API int corio_gather(corio_task **tasks, size_t n, void **results);
/* Returns the index of a finished task: the lowest one among those already finished at
 * the call, otherwise parks and returns the first to finish. Joins nothing. -EINVAL for
 * n == 0 (or a task that cannot be joined), -ECANCELED, -ETIMEDOUT, -ENOMEM (more than 4
 * tasks and no memory for watching them, or no scope timer). */
CORIO_API int corio_wait_any(corio_task **tasks, size_t n);
/* ---- task context: names, task-local values, a dump of every task ---------------------
 * Names: t NULL means the running task. The name is copied (at most 63 bytes kept; longer
 * ones are cut at a UTF-8 boundary; "" gives the default name back). 0, -EINVAL (name
 * NULL, or t NULL outside a task). A task without a name shows as "task-<id>" (ids count
 * from 1 per loop). Never allocates, never parks. */
CORIO_API int corio_task_set_name(corio_task *t, const char *name);
/* The task's name ("task-<id>" when none was set); t NULL: the running task; NULL outside
 * a task. Valid until the name changes or the task is freed. */
CORIO_API const char *corio_task_name(const corio_task *t);
/* Task-local values, like contextvars: key is any address (use the address of a static
 * variable of your own), value any pointer (the task does not own it: nothing is freed).
 * A task spawned (corio_spawn, corio_group_spawn, corio_loop_post on the same loop...)
 * starts with a copy of its parent's values at the moment of the spawn: later sets in
 * either task are not seen by the other. get: the running task's value for key, NULL when
 * unset or outside a task. set: value NULL removes key. 0, -EPERM (outside a task),
 * -EINVAL (key NULL), -ENOMEM. Never park. Spawning stays O(1): the values are shared
 * until one side sets one. */
CORIO_API void *corio_task_local_get(const void *key);
CORIO_API int corio_task_local_set(const void *key, void *value);
/* Writes one line per live task of this loop to f, like Go's goroutine dump:
 *     task-7 "fetch example.com" parked 1.250s on recv fd 9
 * its id, name, state (running, ready, parked, finished), for a parked task what it waits
 * on (the io_uring operation and its fd, or the sync object, join, sleep, a pool call)
 * and for how long. Safe on demand (e.g. from a task woken by corio_signal_wait on
 * SIGQUIT). Returns the number of tasks written, -ESRCH outside a loop, -EINVAL (f NULL),
 * -EIO (a write failed). Never parks. */
CORIO_API int corio_tasks_dump(FILE *f);

/* Issues one IORING_OP_NOP and parks until it completes (tests and benchmarks). */
CORIO_API int corio_nop(void);

/* asyncio.to_thread: runs fn(arg) on the process-wide thread pool and parks until it
 * returned. Returns 0, -ECANCELED or -ETIMEDOUT (cancelled / scope expired while fn ran),
 * -EPERM outside a task, -EAGAIN/-ENOMEM when no thread could be started, or -ENOMEM when
 * fn ran but the scope's timer could not be had (see corio_timeout). The thread is
 * never killed: a cancelled or timed-out call still waits for fn to return, and *result
 * (when result is not NULL) is set to fn's return value whenever fn ran, whatever this call
 * returns, so the caller always owns and releases it. fn must not call corio_* functions
 * that need a loop. A task cancelled before the call returns -ECANCELED and fn never runs. */
CORIO_API int corio_blocking(corio_fn fn, void *arg, void **result);
/* Pool size: up to base threads (default: number of CPUs) start as calls need them and
 * are kept; beyond that the pool grows to max (default max(64, 4 * base)) by one thread
 * for each call that waited 1 ms without a free thread, and those surplus threads exit
 * after 5 s idle. -EINVAL when base is 0 or max < base. The environment variable
 * CORIO_BLOCKING_THREADS=base[:max] is read at the first corio_blocking call unless this
 * function was called before: base alone fixes the size (max = base), and a malformed
 * value (base 0, max < base, max > 4096) is ignored.
 * By default, on machines with more than one CPU, an idle worker polls for the next call,
 * and a loop whose only outstanding work is pool calls polls for their results, for up to
 * 20 us each before sleeping (CORIO_SPIN_US=0..1000 sets that budget on any machine; 0
 * turns polling off; read once per process).
 * After fork() the child starts from an empty pool of the same size (the threads stay in
 * the parent). */
CORIO_API int corio_blocking_threads(unsigned base, unsigned max);

/* Many loops (thread-per-core). A corio_loop handle stays valid while its loop runs and,
 * for loops of corio_run_threads, until corio_run_threads returns. */
typedef struct corio__loop corio_loop;

/* This thread's loop, NULL outside one. From then on the loop accepts posts from any
 * thread, and no longer reports a deadlock while its tasks wait: a post may wake them. */
CORIO_API corio_loop *corio_loop_current(void);
/* Runs fn(arg) as a detached task on loop (any thread may call it; never parks). Delivered
 * with IORING_OP_MSG_RING between loops of one corio_run_threads group when the kernel has
 * it, through the target's eventfd mailbox otherwise. 0, -ENOMEM, -ESHUTDOWN (that loop has ended), -EINVAL.
 * Posted tasks still running when their loop ends are cancelled like other detached tasks. */
CORIO_API int corio_loop_post(corio_loop *loop, corio_fn fn, void *arg);
/* Starts n loops on n threads, each running fn(arg) as its main task, and returns when all
 * have finished: 0, or the first non-zero corio_run result. -EINVAL for n == 0 or fn NULL,
 * -ENOMEM, -EAGAIN when not every thread could be started (then no loop runs fn). */
CORIO_API int corio_run_threads(unsigned n, corio_fn fn, void *arg);
/* Inside corio_run_threads: this loop's index (0..n-1) and the loop with index i. */
CORIO_API unsigned corio_thread_index(void);
CORIO_API corio_loop *corio_thread_loop(unsigned i);

/* Timeout scopes, like asyncio.timeout(): every blocking call between enter and exit fails
 * with -ETIMEDOUT once the deadline passed (at once, without submitting, when it passed
 * before the call). How the deadline reaches the call depends on what it parks on:
 *   - an io_uring operation (read, recv, connect, ...) gets an IORING_OP_LINK_TIMEOUT
 *     linked to it for the remaining time;
 *   - corio_sleep gets one IORING_OP_TIMEOUT at the nearer of its end and the deadline;
 *   - a wait with no operation of its own (the calls of corio/sync.h, corio_join,
 *     corio_gather, corio_wait_any, corio_blocking, corio_accept, corio_receiver_recv)
 *     arms a separate absolute IORING_OP_TIMEOUT when it parks and removes it when it
 *     ends; if that timer cannot be allocated the call returns -ENOMEM without waiting
 *     (the scope does not count as fired).
 * Scopes nest (the nearest deadline wins) and must be exited in reverse order. The struct
 * lives on the caller's stack; its fields are private. */
typedef struct corio_timeout {
	uint64_t deadline;
	struct corio_timeout *parent;
	uint8_t kind;
	bool fired;
} corio_timeout;

CORIO_API void corio_timeout_enter(corio_timeout *t, uint64_t ns);
CORIO_API void corio_timeout_enter_at(corio_timeout *t, uint64_t deadline);
/* Leaves the scope; returns true when its deadline made a call inside fail. */
CORIO_API bool corio_timeout_exit(corio_timeout *t);

/* Runs fn(arg) in the current task shielded from cancellation and from the enclosing
 * timeout scopes (scopes entered inside fn still apply). A cancellation that arrives
 * meanwhile stays pending and hits the first blocking call after the shield. */
CORIO_API void *corio_shield(corio_fn fn, void *arg);

/* What the loop obtained from the kernel. */
typedef struct corio_capabilities {
	unsigned ring_flags;     /* IORING_SETUP_* obtained */
	unsigned ring_features;  /* IORING_FEAT_* reported by the kernel */
	unsigned sq_entries;
	unsigned cq_entries;
	bool ring_fd_registered; /* io_uring_register_ring_fd worked (5.18+) */
	bool post_msg_ring;      /* corio_loop_post uses IORING_OP_MSG_RING (5.18+), else eventfd */
	bool stack_guard_markers; /* guarded stacks use MADV_GUARD_INSTALL (6.13+): no mapping
				   * each, so vm.max_map_count does not bound them */
	/* How corio_process_wait parks (corio/process.h): CORIO_WAIT_WAITID (IORING_OP_WAITID,
	 * 6.7+), CORIO_WAIT_PIDFD_POLL (pidfd_open, 5.3+), CORIO_WAIT_POOL (no pidfd: a
	 * blocking waitid on a reaper thread per child). CORIO_PROCESS_WAIT forces a lower one. */
	unsigned process_wait;
	bool udp_multishot;      /* corio_udp_receiver keeps a multishot recvmsg armed (6.0+) */
	uint64_t ops[4];         /* bitmap of supported IORING_OP_* codes (io_uring_get_probe) */
	char kernel[64];         /* uname release */
} corio_capabilities;

enum { CORIO_WAIT_POOL = 0, CORIO_WAIT_PIDFD_POLL = 1, CORIO_WAIT_WAITID = 2 };

/* Fills *out for this thread's loop; -ESRCH outside a loop. */
CORIO_API int corio_caps(corio_capabilities *out);
/* True when the kernel supports IORING_OP_* code op. */
CORIO_API bool corio_caps_has_op(const corio_capabilities *c, unsigned op);
/* Writes the obtained setup flags as "CQSIZE|SUBMIT_ALL|COOP_TASKRUN|..." into buf
 * (NUL-terminated). Returns the length written, -EINVAL for len 0, -ENOSPC when buf is too
 * small. */
CORIO_API int corio_caps_flags_str(const corio_capabilities *c, char *buf, size_t len);

typedef struct corio_statistics {
	uint64_t sqes_submitted;  /* SQEs handed to the kernel (link timeouts and cancels too) */
	uint64_t submit_calls;    /* io_uring_enter syscalls made by the loop */
	uint64_t cqes_reaped;
	uint64_t switches;        /* coroutine context switches (each direction counts one) */
	uint64_t tasks_spawned;
	uint64_t tasks_live;
	uint64_t stacks_guarded;  /* live stacks of each kind */
	uint64_t stacks_packed;
	uint64_t sq_full_flushes; /* submissions forced by a full SQ */
	uint64_t cq_overflows;    /* times the CQ overflowed and was flushed */
	uint64_t faults_injected;
} corio_statistics;

/* Fills *out for this thread's loop; -ESRCH outside a loop. */
CORIO_API int corio_stats(corio_statistics *out);

/* Signals, like asyncio's loop.add_signal_handler but awaited: parks the calling task until
 * one of the signals in set arrives, and stores its number in *signo (signo may be NULL).
 * The set is blocked in the calling thread (pthread_sigmask) and stays blocked when the
 * call returns, so a signal arriving between two waits is kept pending for the next one
 * (and a signal already pending is returned at once); it is read from a signalfd of the
 * call's own (one per call, closed before returning) through io_uring. Several tasks may
 * wait for the same signal: each arrival wakes one of them (standard signals do not queue:
 * two arrivals before anyone read them are one; real-time signals queue).
 * The library's own threads (the corio_blocking pool's workers, the loops of
 * corio_run_threads, and so those of an HTTP server with threads > 1) start with every
 * signal but the synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS)
 * blocked, so a process-directed signal (kill, Ctrl-C) is never delivered to one of them.
 * Threads of the application's own must block the set too, or the kernel may deliver the
 * signal there (to its handler or default action) instead: the simplest is to block it in
 * main before any thread starts (a signal that arrives before the first wait is then
 * pending, not fatal). A program using corio_run_threads directly must block it in the
 * thread that calls corio_run_threads.
 * 0; -EINVAL (set NULL, empty, or with SIGKILL or SIGSTOP); -EPERM (not in a task);
 * -ECANCELED / -ETIMEDOUT (cancelled, scope expired: a signal already read is returned
 * instead, never lost); -errno of signalfd (-EMFILE, -ENOMEM). Parks. */
#ifdef CORIO__HAVE_SIGSET
CORIO_API int corio_signal_wait(const sigset_t *set, int *signo);
#endif

/* Logging. Everything the library has to say to a human (a bad CORIO_FAULTS spec, a
 * deadlock, a ring failure before abort, an access log line, an unwritable access log...)
 * goes through one process-wide logger. The default writes "corio: <msg>\n" to stderr
 * (one write per line). Levels follow syslog's order: the lower, the more severe. */
enum {
	CORIO_LOG_ERROR = 0, /* something failed: an operation, a file, a configuration */
	CORIO_LOG_WARN = 1,  /* something odd that the library worked around */
	CORIO_LOG_INFO = 2,  /* routine records (access log lines) */
	CORIO_LOG_DEBUG = 3,
};
/* msg has no "corio: " prefix and no newline; it is valid only during the call. The
 * logger may be called from any thread the library runs (loops, pool workers), at any
 * time, also concurrently with itself: it must be thread-safe and must not park (it may
 * run outside any task, or inside the loop's own machinery). */
typedef void (*corio_log_fn)(int level, const char *msg, void *ud);
/* Installs fn (with ud) for the whole process; fn NULL restores the default. Safe while
 * other threads log: they see either the old pair or the new one, never a mix. A call
 * already under way with the old pair may still be running when this returns, so the old
 * ud must stay valid until no thread can be inside the old fn (e.g. until the loops that
 * could log have ended). The one exception to the logger: the stack-overflow message,
 * printed from a signal handler, is written straight to stderr with write(2) because only
 * async-signal-safe calls are allowed there. */
CORIO_API void corio_set_logger(corio_log_fn fn, void *ud);

#ifdef __cplusplus
}
#endif

#endif
