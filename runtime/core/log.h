/* runtime/core/log.h: the library's one way to say something to a human (corio__log), and
 * the process-wide logger it goes through (corio_set_logger, runtime/core/log.c). In core/
 * so that the lowest layer can log too; it includes nothing of the project but the public
 * header. */
#ifndef CORIO_LOG_H
#define CORIO_LOG_H

#include <corio/runtime.h>

/* Formats the message (no "corio: " prefix, no newline: the default logger adds them) and
 * hands it to the current logger. Never parks; any thread; not async-signal-safe. Messages
 * longer than 1 KiB are cut. */
void corio__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a ready-made message of any length (the access log's lines). */
void corio__log_str(int level, const char *msg);

#endif
