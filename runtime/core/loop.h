/* runtime/core/loop.h: the per-thread event loop and its single submit / single delivery path.
 *
 * A loop owns one io_uring, the ready queue, the scheduler context the tasks switch back
 * to, the stack pool and the fault-injection state. Every SQE goes through corio__submit()
 * and every completion through the loop's deliver step (loop.c) before a coroutine
 * resumes: that is where statistics are counted and faults injected.
 */
#ifndef CORIO_LOOP_H
#define CORIO_LOOP_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <corio/runtime.h>

#include "runtime/core/completion.h"
#include "runtime/core/coro.h"
#include "runtime/core/inject.h"
#include "runtime/core/ktimer.h"
#include "runtime/core/stack.h"
#include "runtime/util/list.h"

typedef struct corio__taskq {
	struct corio_task *head;
	struct corio_task *tail;
} corio__taskq;

typedef struct corio__timer corio__timer;

/* A message handed to a loop from another thread (mailbox.c): run() executes on the
 * target loop's thread, in its scheduler, and owns m from then on. */
typedef struct corio__msg corio__msg;
struct corio__msg {
	corio__completion c; /* target side, when it travels by IORING_OP_MSG_RING */
	corio__msg *next;
	void (*run)(corio__loop *l, corio__msg *m);
	void (*drop)(corio__msg *m); /* the loop ended before it could run */
};

/* Cross-thread inbox: a locked list plus an eventfd whose read is kept in flight on the
 * ring, so a sleeping loop wakes without polling. */
typedef struct corio__mailbox {
	pthread_mutex_t lock;
	corio__msg *head, *tail;
	bool notified;          /* messages wait and the loop will see them without another
				 * eventfd write: later posts skip theirs */
	bool spinning;          /* the loop polls `notified` instead of sleeping: posts skip
				 * the eventfd write (corio__mailbox_spin) */
	bool closed;            /* the loop ended: posts fail with -ESHUTDOWN */
	int efd;                /* -1 until first needed */
	bool armed;             /* our eventfd read is in flight */
	uint64_t efd_buf;
	corio__completion efd_c;
} corio__mailbox;

#define CORIO__SLEEP_SLOTS 16u
typedef struct corio__sleep_bucket corio__sleep_bucket;

/* Something a layer above the core keeps per loop and frees at teardown (runtime/time/'s
 * spare sleep buckets): registered once with corio__loop_on_fini, called by
 * corio__loop_release, newest first. Lets the core free it without calling up. */
typedef struct corio__loop_fini corio__loop_fini;
struct corio__loop_fini {
	corio__loop_fini *next;
	void (*fn)(corio__loop *l);
	bool registered;
};

struct corio__loop {
	struct io_uring ring;
	corio__ctx sched_ctx;         /* the thread's own stack, where the scheduler runs */
	struct corio_task *current;   /* running task, NULL in the scheduler */
	corio__taskq ready;           /* ready for the next turn */
	corio__taskq batch;           /* the rest of this turn's tasks */
	unsigned budget;              /* tasks this turn may still run (task.c) */
	struct corio_task *prev;      /* the task that just switched away (task.c) */
	corio__completion *faulted;   /* failures injected without reaching the kernel */
	corio__completion **faulted_tail;
	unsigned inflight;            /* CQEs the kernel still owes us */
	unsigned quiet_turns;         /* quiet handoffs in a row (corio__ring_idle) */
	uint64_t stack_trim_at;       /* corio_now() of the next stack trim (loop.c) */
	corio__list tasks;            /* every task not yet freed, newest first (task.c's
				       * corio_task.all; teardown, deadlock report) */
	unsigned attached_live;       /* unfinished tasks that somebody will join */
	corio__timer *free_timers;
	struct corio_task *free_tasks; /* task structs to reuse, linked through ->arg (task.c) */
	unsigned nfree_tasks;
	bool closing_tasks;            /* corio__tasks_free_all: nothing more is kept */
	unsigned timer_alloc_fail;    /* tests only: fail this many wait-timer allocations */
	struct corio__sleep_bucket *sleep_slots[CORIO__SLEEP_SLOTS]; /* open buckets (sleep.c) */
	struct corio__sleep_bucket *free_buckets;
	corio__loop_fini sleep_fini;  /* frees free_buckets (sleep.c) */
	corio__loop_fini *finis;      /* run by corio__loop_release */
	corio__stack_pool stacks;
	corio__faults faults;
	corio_capabilities caps;
	corio_statistics stats;
	uint64_t op_seq;              /* sequence number of submitted operations (faults) */
	bool deadlock;
	uint64_t park_clock;          /* what a park is dated with (loop.c's park_clock_tick) */
	unsigned park_clock_turns;    /* turns without a kernel entry since it was read */
	corio__mailbox mbox;
	unsigned external;            /* blocking-pool jobs of ours still running */
	struct {                      /* armed I/O deadlines (deadline.c) */
		corio__list armed_list; /* corio__deadline, newest first */
		corio__ktimer timer;        /* the one kernel timer, at `at` while armed */
		uint64_t at;
		uint64_t turn_now;    /* corio_now() of this turn, 0 until read (deadline.c) */
		bool armed;
	} dl;
	struct corio__loopset *loopset; /* the loops of one corio_run_threads (threads/loops.c) */
	bool exposed;                 /* corio_loop_current handed out: others may post */
	unsigned index;               /* position in the loopset */
	struct corio__resolve_cache *resolve_cache; /* runtime/net/resolve_cache.c, freed by its
						     * own fini hook; NULL until first use */
#if defined(__SANITIZE_ADDRESS__)
	void *sched_fake;             /* ASan fake stack of the scheduler while a task runs */
	const void *sched_bottom;     /* the thread stack, as ASan reported it */
	size_t sched_size;
#endif
	void *tsan_sched;             /* ThreadSanitizer's fiber of the scheduler */
};

extern __thread corio__loop *corio__tls_loop __attribute__((tls_model("initial-exec")));

static inline corio__loop *corio__loop_get(void)
{
	return corio__tls_loop;
}

/* The submit choke point. Copies the prepared *proto into the SQ with user_data = c (NULL:
 * nobody waits for the CQE). may_fault lets the fault injector shorten or fail it; a failed
 * one never reaches the kernel and is delivered at the next reap with its injected errno.
 * link_ts (absolute CLOCK_MONOTONIC) adds an IORING_OP_LINK_TIMEOUT right behind it. A full
 * SQ is flushed first; this never fails and never parks. *proto is copied whole (64 bytes):
 * it must have been zeroed before its prep helper ran (corio__op_sqe does it; a proto on the
 * stack is memset), since liburing 2.6 and later helpers write only five fields. */
void corio__submit(corio__loop *l, const struct io_uring_sqe *proto, corio__completion *c,
		   const struct __kernel_timespec *link_ts, bool may_fault);

/* Quiet handoffs in a row after which the ring is polled with an enter anyway, flag or not.
 * The flag is the rule; this bounds what a kernel that failed to raise it could cost
 * (completions later by at most this many task switches), as tokio polls its driver every
 * 61 tasks whatever it was told. At ~1.5 us an enter, 1/1024 of one is ~1.5 ns a switch. */
#define CORIO__QUIET_MAX 1024

/* I/O is in flight, yet entering the kernel would find nothing: it flags no pending task
 * work (IORING_SQ_TASKRUN, kept up to date with IORING_SETUP_TASKRUN_FLAG, 5.19) and holds
 * no overflowed completions; false at least once every CORIO__QUIET_MAX calls. Always false
 * without TASKRUN_FLAG (before 5.19): completions are then only posted at an enter (task
 * work) and nothing says when one is due. */
static inline bool corio__ring_idle(corio__loop *l)
{
	if (!(l->caps.ring_flags & IORING_SETUP_TASKRUN_FLAG) ||
	    (IO_URING_READ_ONCE(*l->ring.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)))
		return false;
	if (++l->quiet_turns >= CORIO__QUIET_MAX) {
		l->quiet_turns = 0;
		return false;
	}
	return true;
}

/* The kernel has completions for this ring: flagged task work (TASKRUN_FLAG), overflowed
 * CQEs, or CQEs posted already. Only meaningful with TASKRUN_FLAG (corio__ring_idle). */
static inline bool corio__ring_work_flagged(corio__loop *l)
{
	return (IO_URING_READ_ONCE(*l->ring.sq.kflags) &
		(IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) ||
	       io_uring_cq_ready(&l->ring) > 0;
}

/* True when a poll step would find nothing to deliver: nothing queued, nothing posted, no
 * injected failure waiting, and nothing in flight but the mailbox read or, where the kernel
 * flags its pending work, nothing flagged and no completion in the CQ ring. Then the next
 * ready task may run straight after the current one, without a detour through the
 * scheduler, idle or with 1 000 receives parked. */
static inline bool corio__loop_quiet(corio__loop *l)
{
	if (l->faulted || io_uring_sq_ready(&l->ring) != 0 ||
	    __atomic_load_n(&l->mbox.notified, __ATOMIC_ACQUIRE))
		return false;
	return l->inflight == l->mbox.armed ||
	       (corio__ring_idle(l) && io_uring_cq_ready(&l->ring) == 0);
}

/* Asks the kernel to cancel the operation whose completion is c (IORING_OP_ASYNC_CANCEL).
 * Its CQE still arrives, with -ECANCELED or its real result. */
void corio__submit_cancel(corio__loop *l, corio__completion *c);


/* Submits what is queued and delivers every completion available. With may_block (no task
 * is ready) it sleeps in the kernel until one completion arrives; without, it makes no
 * syscall unless something is queued or in flight. Returns false when it was allowed to
 * block but nothing at all could complete (the parked tasks can never wake). */
bool corio__loop_poll(corio__loop *l, bool may_block);

/* Registers f to call fn(l) at corio__loop_release (once; later calls do nothing). */
static inline void corio__loop_on_fini(corio__loop *l, corio__loop_fini *f,
				       void (*fn)(corio__loop *l))
{
	if (f->registered)
		return;
	f->registered = true;
	f->fn = fn;
	f->next = l->finis;
	l->finis = f;
}

/* How corio_process_wait parks on this loop (CORIO_WAIT_*), from the probed opcodes:
 * defined in runtime/process/probe.c, which calls nothing of the core (no call cycle). */
unsigned corio__process_wait_probe(const uint64_t ops[4]);

/* The ring, its probe and the stack pool (the mailbox is set up by runtime/core/run.c).
 * 0 or a negative errno; nothing to release on failure. */
int corio__loop_init(corio__loop *l, const corio_config *cfg);
/* On the loop's thread, after its last task and the mailbox's close: waits for every CQE
 * still owed (the ring must not be entered from another thread: SINGLE_ISSUER). */
void corio__loop_drain(corio__loop *l);
/* Runs the teardown hooks, releases the stacks and the ring; any thread, after
 * corio__loop_drain. */
void corio__loop_release(corio__loop *l);

/* Mailbox (mailbox.c). */
void corio__mailbox_init(corio__mailbox *mb);
/* Keeps the eventfd read in flight; 0 or a negative errno (eventfd failed). */
int corio__mailbox_arm(corio__loop *l);
/* Any thread: queues m for l. 0, or -ESHUTDOWN when l has ended. */
int corio__mailbox_post(corio__loop *l, corio__msg *m);
/* On the loop's thread, with only pool jobs outstanding: polls for posted messages for up
 * to `ns` before the loop sleeps in the kernel, so a result that is microseconds away costs
 * neither the poster's eventfd write nor the loop's wakeup. True when it ran messages. */
bool corio__mailbox_spin(corio__loop *l, uint64_t ns);
/* The bounded polling budget of corio__mailbox_spin and the pool's idle workers (ns). */
uint64_t corio__spin_ns(void);

/* One step of a polling loop: tells the CPU (and a sibling hyperthread) that we spin. */
static inline void corio__cpu_relax(void)
{
#if defined(__x86_64__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}
/* Loop thread, at the end: refuses new posts, drops what is queued, cancels the read. */
void corio__mailbox_close(corio__loop *l);
void corio__mailbox_fini(corio__mailbox *mb);

#endif
