/* runtime/threads/signal.h: the signal mask the library's own threads start with (the blocking
 * pool's workers, runtime/threads/pool.c; the loops of corio_run_threads,
 * runtime/threads/loops.c), defined with corio_signal_wait in runtime/threads/signal.c. */
#ifndef CORIO_THREADS_SIGNAL_H
#define CORIO_THREADS_SIGNAL_H

#include <signal.h>

/* Every signal but the synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS):
 * a process-directed signal is then never delivered to a library thread (it stays pending
 * for corio_signal_wait's signalfd, or goes to an application thread), while a fault in a
 * library thread still reaches its handler (the kernel would reset a blocked SIGSEGV to its
 * default action and the stack-overflow handler would never run). */
void corio__signals_for_threads(sigset_t *set);

#endif
