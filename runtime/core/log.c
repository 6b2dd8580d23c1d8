/* runtime/core/log.c: the process-wide logger (corio_set_logger) and the default one, which
 * writes "corio: <message>\n" to stderr as the library always did.
 *
 * The (fn, ud) pair is published with a sequence lock so that a reader never pairs one
 * logger's fn with another's ud: a writer makes the sequence odd, stores both, makes it
 * even; a reader retries while the sequence was odd or moved. Every field is atomic, so
 * concurrent set and log are race-free (ThreadSanitizer agrees) and no lock is taken: a
 * message logged from a forked child or under a held allocator lock cannot deadlock here.
 * The pair read is called after the read, so a log call that started before a set may still
 * use the old pair: a ud must stay valid until no thread can be logging with it (the
 * header says so). */
#include "runtime/core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MSG_MAX 1024

static _Atomic unsigned seq;
static _Atomic(corio_log_fn) cur_fn;
static _Atomic(void *) cur_ud;

/* One write(2) per message, so that lines of several threads do not mix mid-line. */
static void default_logger(int level, const char *msg, void *ud)
{
	char line[MSG_MAX + 16];
	size_t n = strlen(msg);

	if (n <= MSG_MAX) {
		memcpy(line, "corio: ", 7);
		memcpy(line + 7, msg, n);
		line[7 + n] = '\n';
		if (write(STDERR_FILENO, line, n + 8) < 0)
			return; /* nowhere left to complain */
		return;
	}
	fprintf(stderr, "corio: %s\n", msg); /* long lines (access log): stdio's buffer */
}

void corio_set_logger(corio_log_fn fn, void *ud)
{
	unsigned s = atomic_load_explicit(&seq, memory_order_relaxed);

	/* Writers take the odd state in turn (a rare call: spinning is fine). */
	for (;;) {
		if (!(s & 1) && atomic_compare_exchange_weak_explicit(&seq, &s, s + 1,
								      memory_order_acquire,
								      memory_order_relaxed))
			break;
		s = atomic_load_explicit(&seq, memory_order_relaxed);
	}
	atomic_store_explicit(&cur_fn, fn, memory_order_release);
	atomic_store_explicit(&cur_ud, ud, memory_order_release);
	atomic_store_explicit(&seq, s + 2, memory_order_release);
}

static void current(corio_log_fn *fn, void **ud)
{
	for (;;) {
		unsigned s1 = atomic_load_explicit(&seq, memory_order_acquire);

		*fn = atomic_load_explicit(&cur_fn, memory_order_acquire);
		*ud = atomic_load_explicit(&cur_ud, memory_order_acquire);
		if (!(s1 & 1) && atomic_load_explicit(&seq, memory_order_acquire) == s1)
			break;
	}
	if (!*fn) {
		*fn = default_logger;
		*ud = NULL;
	}
}

void corio__log_str(int level, const char *msg)
{
	corio_log_fn fn;
	void *ud;

	current(&fn, &ud);
	fn(level, msg, ud);
}

void corio__log(int level, const char *fmt, ...)
{
	char msg[MSG_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	corio__log_str(level, msg);
}
