/* runtime/core/run.h: the life of a loop, as runtime/core/run.c drives it for corio_run and
 * runtime/threads/loops.c for each loop of corio_run_threads: open, run a main task until
 * everything is done, close. */
#ifndef CORIO_RUN_H
#define CORIO_RUN_H

#include "runtime/core/loop.h"

/* The ring, the stacks and the mailbox of l (calloc'ed memory). 0 or a negative errno;
 * on failure nothing needs closing. */
int corio__loop_open(corio__loop *l, const corio_config *cfg);
/* Runs fn as the main task of the open loop l on this thread, then cancels and awaits
 * what is left, closes the mailbox and drains the ring. Parks nothing of the caller's:
 * it is the scheduler. */
int corio__loop_main(corio__loop *l, corio_fn fn, void *arg, void **result);
/* Frees what l holds (wait timers, the layers' teardown hooks, stacks, ring, mailbox);
 * any thread, after corio__loop_main. */
void corio__loop_close(corio__loop *l);
/* -EINVAL for a config corio_run must refuse, else 0. */
int corio__config_check(const corio_config *cfg);

#endif
