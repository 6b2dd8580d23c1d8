/* runtime/core/close.h: the hooks corio_close (runtime/core/close.c) runs before it closes a
 * descriptor, so that layers above the core can drop what they keep per descriptor without
 * the core calling up into them.
 *
 * Who registers what (the only registrant today; the table has room for a few more):
 *   - runtime/net/accept.c, when a thread creates its listener registry: forgets the
 *     listener served by a multishot accept on that fd (cancels the accept, wakes parked
 *     corio_accept callers with -EBADF). Only acts inside a task.
 *
 * A hook sees every fd corio_close is given: negative ones, registered slots
 * (CORIO_FD_FIXED_BIT set), inside a task and outside (after corio_run); it ignores what is
 * not its own. A hook never parks, never fails and never closes fd itself; it runs on the
 * closing thread. Hooks run in the order they were registered.
 */
#ifndef CORIO_CLOSE_H
#define CORIO_CLOSE_H

typedef void (*corio__close_hook)(int fd);

/* Room in the table: one registrant, with a margin. */
#define CORIO__CLOSE_HOOKS_MAX 4

/* Adds hook to the table corio_close runs. Thread-safe (an atomic compare-and-swap per
 * slot) and idempotent: a hook already in the table is not added twice, so a registrant
 * may call this whenever it is unsure. 0, or -ENOSPC when the table is full. Never parks. */
int corio__close_hook_add(corio__close_hook hook);

#endif
