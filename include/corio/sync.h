/* corio/sync.h: coordination between the tasks of one loop: channels (FIFO, LIFO and
 * priority, with asyncio.Queue's task_done/join), mutexes, semaphores, events, condition
 * variables, wait groups, barriers, futures and task groups.
 *
 * Loop-local. Every object here belongs to the loop of the tasks that use it and must only
 * be touched from that loop's thread (nothing here is thread-safe; cross-loop hand-over
 * goes through corio_loop_post). There is no locking and no atomic anywhere: a loop runs
 * one task at a time and a task only loses the CPU when it parks.
 *
 * Common rules for every call below that "may park":
 *   - It must be called from a task; it returns -EPERM otherwise.
 *   - It is a blocking call in the sense of corio/runtime.h: if the task is cancelled (and
 *     not inside corio_shield) it returns -ECANCELED, and if the deadline of an enclosing
 *     timeout scope has passed it returns -ETIMEDOUT, *before doing anything*, even when it
 *     could have completed at once. Use the try variants to poll without that check.
 *   - While parked, corio_cancel() ends the wait with -ECANCELED and an expiring timeout
 *     scope with -ETIMEDOUT. The object is then left exactly as if the call had never been
 *     made: nothing is consumed, nothing is lost.
 *   - Inside a timeout scope a wait parks with a kernel timer of its own (see corio_timeout
 *     in corio/runtime.h); when that timer cannot be allocated the call returns -ENOMEM
 *     without parking, again as if it had never been made.
 *   - No lost wakeups: a wakeup (a lock hand-off, a permit, an element, a signal, a value)
 *     is delivered to one waiter at the moment it is given, and a waiter that has been
 *     given something returns success even if it is cancelled or times out before it runs
 *     again (the cancellation then hits its next blocking call). A waiter cancelled before
 *     the hand-off is simply taken off the queue, and the next waiter gets it.
 *   - Fairness: waiters are served in arrival order (FIFO); a task arriving later never
 *     overtakes parked ones (no barging).
 * Calls that never park (unlock, release, set, signal, close, try_*) never fail because of
 * cancellation or timeouts and may also be called from outside a task on the loop's thread.
 * Errors are negative errno values; bad arguments (NULL, zero sizes) give -EINVAL.
 *
 * The caller-allocated types (corio_mutex, corio_sem, ...) must stay where they are (not be
 * moved or freed) while any task is parked on them or could still be cancelled out of them.
 */
#ifndef CORIO_SYNC_H
#define CORIO_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Private: a FIFO of parked tasks, embedded in the primitives below. Never touch. */
struct corio__lnode;
typedef struct corio__waitq {
	struct corio__lnode *head, *tail;
} corio__waitq;

/* ---- channels ------------------------------------------------------------------------- */

/* A bounded FIFO queue of fixed-size elements (copied in and out by value), like Go's
 * channels and asyncio.Queue(maxsize). capacity 0 makes a rendezvous channel: a send
 * completes only when a receiver takes the element. A sender that finds a parked receiver
 * copies its element straight into the receiver's buffer. */
typedef struct corio_chan corio_chan;

/* NULL with errno EINVAL for elem_size 0, ENOMEM when out of memory (or capacity *
 * elem_size overflows). */
CORIO_API corio_chan *corio_chan_new(size_t capacity, size_t elem_size);
/* Copies elem_size bytes from elem into the channel. May park while the channel is full (for
 * a rendezvous channel: until a receiver takes the element). 0; -EPIPE when the channel is
 * closed (before or while parked: the element was not sent); -ECANCELED; -ETIMEDOUT;
 * -EINVAL; -EPERM. */
CORIO_API int corio_chan_send(corio_chan *ch, const void *elem);
/* Copies the oldest element into elem. May park while the channel is empty. 0; -EPIPE once
 * the channel is closed AND drained; -ECANCELED; -ETIMEDOUT; -EINVAL; -EPERM. */
CORIO_API int corio_chan_recv(corio_chan *ch, void *elem);
/* Never park: -EAGAIN instead (a rendezvous channel accepts a try_send only when a
 * receiver is parked, and gives a try_recv only when a sender is parked). -EPIPE as above. */
CORIO_API int corio_chan_try_send(corio_chan *ch, const void *elem);
CORIO_API int corio_chan_try_recv(corio_chan *ch, void *elem);
/* Closes the channel: later sends fail with -EPIPE, receives drain what is buffered and
 * then get -EPIPE. Every parked task is woken at once: senders get -EPIPE (their elements
 * are not delivered), receivers get -EPIPE (a receiver only parks when nothing is
 * buffered). Idempotent; never parks. */
CORIO_API void corio_chan_close(corio_chan *ch);
/* Closes the channel (waking every parked task with -EPIPE, as corio_chan_close does) and
 * frees it; buffered elements are discarded. A woken task does not touch the channel
 * again, so this is safe with tasks parked on it; nobody may use ch afterwards. NULL is a
 * no-op. */
CORIO_API void corio_chan_free(corio_chan *ch);
/* Number of buffered elements (always 0 for a rendezvous channel); 0 for NULL. */
CORIO_API size_t corio_chan_len(const corio_chan *ch);
/* The capacity given to corio_chan_new; 0 for NULL. */
CORIO_API size_t corio_chan_cap(const corio_chan *ch);

/* Other orders, like asyncio.LifoQueue and asyncio.PriorityQueue: the same corio_chan
 * calls (send, recv, try_*, close, free, len, cap, and the join calls below) on a channel
 * that hands out the newest element first (LIFO), or the least element by cmp first
 * (cmp(a, b) < 0 when a goes first, as qsort's; elements that compare equal leave in the
 * order they were sent). capacity must be at least 1 (a rendezvous channel has no order
 * to keep). A sender that finds a parked receiver still hands its element straight over
 * (nothing buffered can go first then). NULL with errno EINVAL (capacity 0, elem_size 0,
 * cmp NULL) or ENOMEM. Sending to a priority channel is O(log n). */
CORIO_API corio_chan *corio_chan_new_lifo(size_t capacity, size_t elem_size);
CORIO_API corio_chan *corio_chan_new_priority(size_t capacity, size_t elem_size,
					      int (*cmp)(const void *a, const void *b));

/* asyncio.Queue's task_done()/join() on any corio_chan: every element sent counts as
 * unfinished until a corio_chan_task_done call accounts for it (normally by the receiver,
 * once it has processed the element); corio_chan_join parks until the count is zero.
 * task_done: 0, -EINVAL (called more often than elements were sent; nothing changes),
 * never parks. join: 0 (at once when nothing is unfinished), -ECANCELED, -ETIMEDOUT,
 * -EINVAL, -EPERM. Closing the channel does not end a join (elements still buffered are
 * still unfinished); corio_chan_free wakes joiners with -EPIPE. */
CORIO_API int corio_chan_task_done(corio_chan *ch);
CORIO_API int corio_chan_join(corio_chan *ch);
/* Elements sent and not yet accounted for by corio_chan_task_done (0 for NULL). */
CORIO_API size_t corio_chan_unfinished(const corio_chan *ch);

/* ---- channels between loops ------------------------------------------------------------ */

/* A bounded FIFO queue of fixed-size elements shared by loops on different threads
 * (corio_run_threads): tasks on any loop send and receive, parking when it is full or
 * empty; a waker on another loop wakes them through their loop's mailbox (an eventfd read
 * on the ring), never by polling. Same rules as corio_chan (FIFO, no lost wake-ups, every
 * wait honours cancellation and timeout scopes, -EPIPE once closed / closed and drained),
 * but capacity must be at least 1. try_send/try_recv never park and may be called from any
 * thread, also outside a loop. */
typedef struct corio_xchan corio_xchan;

/* NULL with errno EINVAL for capacity 0 or elem_size 0, ENOMEM when out of memory. */
CORIO_API corio_xchan *corio_xchan_new(size_t capacity, size_t elem_size);
CORIO_API int corio_xchan_send(corio_xchan *ch, const void *elem);
CORIO_API int corio_xchan_recv(corio_xchan *ch, void *elem);
CORIO_API int corio_xchan_try_send(corio_xchan *ch, const void *elem);
CORIO_API int corio_xchan_try_recv(corio_xchan *ch, void *elem);
/* Wakes every parked task with -EPIPE; receivers still drain what is buffered. */
CORIO_API void corio_xchan_close(corio_xchan *ch);
CORIO_API size_t corio_xchan_len(corio_xchan *ch);
/* Frees ch; no task may be parked on it or use it afterwards (close it and let every
 * user finish first). */
CORIO_API void corio_xchan_free(corio_xchan *ch);

/* ---- mutex ----------------------------------------------------------------------------- */

/* A non-recursive lock, like asyncio.Lock. Unlock hands the lock directly to the first
 * parked task (FIFO), so a task that locks later cannot barge in. Not tied to an owner: any
 * task may unlock it (as with asyncio.Lock). Fields are private. */
typedef struct corio_mutex {
	corio__waitq q;
	bool locked;
} corio_mutex;

/* Initialises an unlocked mutex. -EINVAL for NULL. */
CORIO_API int corio_mutex_init(corio_mutex *m);
/* May park until the lock is handed to the caller. 0 (the caller holds the lock),
 * -ECANCELED, -ETIMEDOUT (the caller does not hold it), -EINVAL, -EPERM. */
CORIO_API int corio_mutex_lock(corio_mutex *m);
/* Never parks. 0 (locked), -EBUSY (held, or tasks are queued for it), -EINVAL. */
CORIO_API int corio_mutex_trylock(corio_mutex *m);
/* Never parks: hands the lock to the first parked task, or leaves it unlocked. 0, -EPERM
 * when it is not locked, -EINVAL. */
CORIO_API int corio_mutex_unlock(corio_mutex *m);
/* True while the mutex is held (false for NULL). */
CORIO_API bool corio_mutex_locked(const corio_mutex *m);

/* ---- counting semaphore ---------------------------------------------------------------- */

/* Like asyncio.Semaphore: a count of permits; release hands a permit directly to the first
 * parked task. Fields are private. */
typedef struct corio_sem {
	corio__waitq q;
	size_t count;
} corio_sem;

/* Initialises with count permits. -EINVAL for NULL. */
CORIO_API int corio_sem_init(corio_sem *s, size_t count);
/* Takes a permit; may park until one is handed over. 0, -ECANCELED, -ETIMEDOUT, -EINVAL,
 * -EPERM. */
CORIO_API int corio_sem_acquire(corio_sem *s);
/* Never parks. 0, -EAGAIN (no permit), -EINVAL. */
CORIO_API int corio_sem_try_acquire(corio_sem *s);
/* Gives back one permit (to the first parked task if any). Never parks. 0, -EOVERFLOW (the
 * count would exceed SIZE_MAX), -EINVAL. */
CORIO_API int corio_sem_release(corio_sem *s);
/* Permits available now (0 for NULL). */
CORIO_API size_t corio_sem_value(const corio_sem *s);

/* ---- event ----------------------------------------------------------------------------- */

/* Like asyncio.Event: a flag tasks can wait for. Fields are private. */
typedef struct corio_event {
	corio__waitq q;
	bool set;
} corio_event;

/* Initialises a cleared event. -EINVAL for NULL. */
CORIO_API int corio_event_init(corio_event *e);
/* Sets the flag and wakes every parked task (in arrival order). Never parks. 0, -EINVAL. */
CORIO_API int corio_event_set(corio_event *e);
/* Clears the flag; tasks already woken by a set still return 0. 0, -EINVAL. */
CORIO_API int corio_event_clear(corio_event *e);
/* May park until the flag is set. 0, -ECANCELED, -ETIMEDOUT, -EINVAL, -EPERM. */
CORIO_API int corio_event_wait(corio_event *e);
/* The flag (false for NULL). */
CORIO_API bool corio_event_is_set(const corio_event *e);

/* ---- condition variable ---------------------------------------------------------------- */

/* Like asyncio.Condition, used with a corio_mutex. Fields are private. */
typedef struct corio_cond {
	corio__waitq q;
} corio_cond;

/* -EINVAL for NULL. */
CORIO_API int corio_cond_init(corio_cond *c);
/* The caller must hold m. Atomically (no other task runs in between) releases m and parks
 * until signalled; then RE-ACQUIRES m BEFORE RETURNING, IN EVERY CASE: also when the wait
 * ended by cancellation or timeout (the re-acquisition itself is shielded from both, so the
 * caller may always unlock m afterwards). Returns 0 (signalled), -ECANCELED, -ETIMEDOUT
 * (m held again in all three cases), or, without touching m: -EINVAL, -EPERM (m not
 * locked, or not called from a task). As with every condition variable, re-check the
 * predicate in a loop: another task may run between the signal and the re-acquisition.
 * (Only the loop's deadlock breaker can interrupt the re-acquisition; the call then
 * returns -EDEADLK without holding m.) */
CORIO_API int corio_cond_wait(corio_cond *c, corio_mutex *m);
/* Wakes the first parked task, if any. Never parks. 0, -EINVAL. */
CORIO_API int corio_cond_signal(corio_cond *c);
/* Wakes every parked task (in arrival order). Never parks. 0, -EINVAL. */
CORIO_API int corio_cond_broadcast(corio_cond *c);

/* ---- wait group ------------------------------------------------------------------------ */

/* Like Go's sync.WaitGroup: a counter; wait parks until it reaches zero. Fields are
 * private. */
typedef struct corio_waitgroup {
	corio__waitq q;
	int64_t count;
} corio_waitgroup;

/* Initialises with a zero counter. -EINVAL for NULL. */
CORIO_API int corio_waitgroup_init(corio_waitgroup *wg);
/* Adds delta (may be negative) to the counter; reaching zero wakes every parked task.
 * Never parks. 0; -EINVAL (NULL, or the counter would go negative: it is left unchanged);
 * -EOVERFLOW. */
CORIO_API int corio_waitgroup_add(corio_waitgroup *wg, int64_t delta);
/* corio_waitgroup_add(wg, -1). */
CORIO_API int corio_waitgroup_done(corio_waitgroup *wg);
/* May park until the counter is zero. 0, -ECANCELED, -ETIMEDOUT, -EINVAL, -EPERM. */
CORIO_API int corio_waitgroup_wait(corio_waitgroup *wg);
/* The counter (0 for NULL). */
CORIO_API int64_t corio_waitgroup_count(const corio_waitgroup *wg);

/* ---- barrier ---------------------------------------------------------------------------- */

/* Like asyncio.Barrier (and Python's threading.Barrier): parties tasks meet; each
 * corio_barrier_wait parks until parties tasks are waiting, then all are released and the
 * barrier is ready for the next round (cyclic). Fields are private. */
typedef struct corio_barrier {
	corio__waitq q;
	size_t parties;
	size_t waiting;
	uint64_t round;
	bool broken;
} corio_barrier;

/* -EINVAL for NULL, parties 0 or parties above INT_MAX (an index must fit the int
 * corio_barrier_wait returns). */
CORIO_API int corio_barrier_init(corio_barrier *b, size_t parties);
/* May park until parties tasks have called it in this round. Returns the caller's arrival
 * index in the round (0 .. parties-1: the last to arrive gets parties-1, and it never
 * parks), -EPIPE when the barrier is broken (before or while waiting: corio_barrier_abort),
 * -ECANCELED / -ETIMEDOUT (the caller left the round, which then waits for one more
 * arrival; the barrier is not broken), -EINVAL, -EPERM. */
CORIO_API int corio_barrier_wait(corio_barrier *b);
/* Breaks the barrier: every parked and later waiter gets -EPIPE until corio_barrier_reset.
 * Never parks. 0, -EINVAL. */
CORIO_API int corio_barrier_abort(corio_barrier *b);
/* Wakes the parked waiters with -EPIPE (as abort) and returns the barrier to an empty,
 * unbroken round. Never parks. 0, -EINVAL. */
CORIO_API int corio_barrier_reset(corio_barrier *b);
/* Tasks waiting in the current round (0 for NULL), and whether the barrier is broken. */
CORIO_API size_t corio_barrier_waiting(const corio_barrier *b);
CORIO_API bool corio_barrier_broken(const corio_barrier *b);

/* ---- futures --------------------------------------------------------------------------- */

/* Like asyncio.Future: a one-shot result slot. One writer (set or fail, once), any number
 * of waiters, all woken when it completes. The value is handed to each waiter when the
 * future completes, so a woken waiter never reads the future again: the writer may reuse
 * or free it right after set/fail returns. Fields are private. */
typedef struct corio_future {
	corio__waitq q;
	void *value;
	int err;
	bool done;
} corio_future;

/* Initialises a pending future. -EINVAL for NULL. */
CORIO_API int corio_future_init(corio_future *f);
/* Completes f with value and wakes every waiter (in arrival order). Never parks.
 * 0, -EALREADY (already completed: nothing changes), -EINVAL. */
CORIO_API int corio_future_set(corio_future *f, void *value);
/* Completes f with a failure (a negative errno value) and wakes every waiter.
 * 0, -EALREADY, -EINVAL (f NULL or err not negative). */
CORIO_API int corio_future_fail(corio_future *f, int err);
/* May park until f completes. Returns 0 and stores the value in *value (value may be
 * NULL), or the failure given to corio_future_fail (*value untouched), or -ECANCELED /
 * -ETIMEDOUT (the waiter was interrupted; f is unaffected), -EINVAL, -EPERM. */
CORIO_API int corio_future_wait(corio_future *f, void **value);
/* True once set or failed (false for NULL). */
CORIO_API bool corio_future_done(const corio_future *f);

/* ---- task groups ----------------------------------------------------------------------- */

/* A set of tasks that succeed or fail together, like asyncio.TaskGroup.
 *
 * Failure convention: a member reports failure by calling corio_group_fail(-Exxx) (from
 * the member task itself, normally right before it returns). Its return value is never
 * interpreted (members' results are discarded: hand results back through arg). The first
 * failure is recorded and every other member still running is cancelled at once (the
 * failing member itself is not). A member that ends because it was cancelled is NOT a
 * failure (as in asyncio), and neither is corio_group_fail(-ECANCELED) called by a member
 * that has been cancelled, so `if (rc < 0) { corio_group_fail(rc); return NULL; }` is safe
 * to write after any blocking call.
 *
 * The group joins and frees its members: never corio_join or corio_detach them. */
typedef struct corio_group corio_group;

/* NULL only on ENOMEM. */
CORIO_API corio_group *corio_group_new(void);
/* Spawns fn(arg) as a member (it starts at the loop's next turn, like corio_spawn). The
 * returned task may be given to corio_cancel (cancelling one member is not a failure); it
 * stays valid until corio_group_wait returns or corio_group_free. NULL with errno: EINVAL
 * (g or fn NULL, or the group is used from another loop), EPERM (no loop on this thread),
 * ECANCELED (the group is shutting down after a failure or corio_group_cancel, as asyncio
 * refuses create_task then), ENOMEM. */
CORIO_API corio_task *corio_group_spawn(corio_group *g, corio_fn fn, void *arg);
/* May park until every member finished (members spawned meanwhile included), then frees
 * them. Returns 0; the first failure (from corio_group_fail); -ECANCELED when
 * corio_group_cancel was called (and no failure came first). If the waiting task itself is
 * cancelled or its timeout scope expires, every member is cancelled and awaited (shielded)
 * and the call returns -ECANCELED / -ETIMEDOUT. -EINVAL, -EPERM (not from a task),
 * -EDEADLK (called from a member of g), -EBUSY (another task is already waiting on g). */
CORIO_API int corio_group_wait(corio_group *g);
/* Records -ECANCELED as the group's result (unless a failure came first) and cancels every
 * member still running. Never parks. Later spawns fail with ECANCELED. NULL is a no-op. */
CORIO_API void corio_group_cancel(corio_group *g);
/* Called from inside a member: records err (negative errno) as the group's failure if it
 * is the first, and cancels the other members. 0; -EALREADY (a failure or cancel was
 * already recorded); -EINVAL (err not negative); -ESRCH (the caller is not a group member:
 * a task spawned by a member is not itself a member). */
CORIO_API int corio_group_fail(int err);
/* Frees g. From a task: members still running are cancelled and awaited first (shielded:
 * the caller's own cancellation does not cut this short). Must not be called from one of
 * g's members, nor while another task is in corio_group_wait(g); in those cases, and on
 * another loop, it does nothing. After the loop that ran the members has ended (corio_run
 * returned: every member finished and the loop freed them), it only releases memory.
 * NULL is a no-op. */
CORIO_API void corio_group_free(corio_group *g);

#ifdef __cplusplus
}
#endif

#endif
