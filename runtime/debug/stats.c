/* runtime/debug/stats.c: what the caller can ask a running loop: the capabilities obtained
 * from the kernel (corio_caps, corio_caps_flags_str) and its counters (corio_stats). The
 * probe that fills them is the loop's own (runtime/core/loop.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "runtime/core/loop.h"

int corio_caps(corio_capabilities *out)
{
	corio__loop *l = corio__loop_get();

	if (!l)
		return -ESRCH;
	*out = l->caps;
	return 0;
}

int corio_caps_flags_str(const corio_capabilities *c, char *buf, size_t len)
{
	static const struct {
		unsigned flag;
		const char *name;
	} names[] = {
		{ IORING_SETUP_SQPOLL, "SQPOLL" },
		{ IORING_SETUP_CQSIZE, "CQSIZE" },
		{ IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL" },
		{ IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN" },
		{ IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER" },
		{ IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN" },
	};
	size_t used = 0;

	if (len == 0)
		return -EINVAL;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		int n;

		if (!(c->ring_flags & names[i].flag))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "|" : "", names[i].name);
		if (n < 0 || (size_t)n >= len - used)
			return -ENOSPC;
		used += (size_t)n;
	}
	return (int)used;
}

int corio_stats(corio_statistics *out)
{
	corio__loop *l = corio__loop_get();

	if (!l)
		return -ESRCH;
	*out = l->stats;
	return 0;
}
