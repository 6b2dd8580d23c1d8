/* runtime/core/trim.h: what an upper layer may give back of a task's memory while the task
 * waits long (the HTTP server's idle keep-alive connections, http/server/conn.c). Not
 * installed; implemented in runtime/core/task.c. */
#ifndef CORIO_CORE_TRIM_H
#define CORIO_CORE_TRIM_H

/* Releases the pages of the running task's stack below the caller's frame (less a margin
 * for the calls that park it next): what deeper calls touched before (a handler, a parser)
 * stops counting as resident memory, and reads as zero when touched again (a fault per
 * page then: call it before a long wait, not before every wait). One madvise; no effect
 * outside a task. Never parks. */
void corio__task_trim_stack(void);

#endif
